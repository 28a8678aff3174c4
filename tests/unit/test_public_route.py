"""PublicRoute: one Gateway, HTTPS per host with cert-manager certificates, HTTP redirected (X-15, S3-03)."""

import pulumi
import pytest

from components.public_hosts import Backend, PathMatch, PublicHost
from components.public_route import AcmeIssuer, PublicRoute, PublicRouteArgs
from tests.support.crd_schemas import validate_custom_resource
from tests.support.runtime import when_registered
from tools.render import manifest

PROXIES = {"gateway.envoyproxy.io/owning-gateway-name": "public"}
API = (PathMatch("/api"), PathMatch("/docs", "Exact"))
HOSTS = (
    PublicHost(
        "bench.example.com",
        "bench",
        (Backend("bench-api", "bench", 8000, pod_labels={"app": "bench-api"}),),
        paths=API,
    ),
    # A platform-owned route to another namespace's Service: needs a ReferenceGrant there.
    PublicHost("grafana.example.com", "gateway", (Backend("grafana", "monitoring", 80),)),
    # The route for this host is a canary's own weighted route in namespace `cad`.
    PublicHost(
        "api.example.com",
        "cad",
        (Backend("cad", "cad", 8000, pod_labels={"app": "cad", "track": "stable"}),),
        external_route=True,
    ),
)


def _route(hosts=HOSTS, **overrides) -> PublicRoute:
    args = dict(
        namespace="gateway",
        gateway_class="envoy-gateway",
        hosts=hosts,
        issuer=AcmeIssuer("letsencrypt", "ops@example.com"),
        gateway_class_controller="gateway.envoyproxy.io/gatewayclass-controller",
        proxy_namespace="envoy-gateway-system",
        proxy_pod_labels=PROXIES,
    )
    return PublicRoute("public", PublicRouteArgs(**(args | overrides)))


def _when_registered(monitor, route: PublicRoute, check):
    resources = [
        route.gateway,
        route.issuer,
        route.redirect,
        *([route.gateway_class] if route.gateway_class else []),
        *route.certificates.values(),
        *route.routes.values(),
        *route.reference_grants,
        *route.network_policies,
    ]

    def run(registrations):
        objects = {
            (r.inputs["kind"], r.inputs["metadata"].get("namespace"), r.inputs["metadata"]["name"]): manifest(r)
            for r in registrations
            if r.custom and "kind" in r.inputs
        }
        return check(objects)

    return when_registered(monitor, resources, run)


@pulumi.runtime.test
def test_every_host_gets_an_https_listener_with_its_own_certificate(mock_runtime):
    def check(objects):
        gateway = objects[("Gateway", "gateway", "public")]["spec"]
        assert gateway["gatewayClassName"] == "envoy-gateway"
        listeners = {listener["name"]: listener for listener in gateway["listeners"]}
        assert listeners["http"]["port"] == 80 and listeners["http"]["allowedRoutes"]["namespaces"] == {"from": "Same"}
        for host in HOSTS:
            listener = listeners[f"https-{host.hostname.replace('.', '-')}"]
            assert (listener["protocol"], listener["port"], listener["hostname"]) == ("HTTPS", 443, host.hostname)
            assert listener["tls"]["mode"] == "Terminate"
            secret = listener["tls"]["certificateRefs"][0]["name"]
            # Only the host's own namespace may attach routes to its listener.
            assert listener["allowedRoutes"]["namespaces"]["selector"]["matchLabels"] == {
                "kubernetes.io/metadata.name": host.route_namespace
            }
            certificate = next(
                c["spec"]
                for (kind, _, _), c in objects.items()
                if kind == "Certificate" and c["spec"]["secretName"] == secret
            )
            assert certificate["dnsNames"] == [host.hostname]
            assert certificate["issuerRef"] == {
                "group": "cert-manager.io",
                "kind": "ClusterIssuer",
                "name": "letsencrypt",
            }
        assert objects[("GatewayClass", None, "envoy-gateway")]["spec"]["controllerName"].startswith(
            "gateway.envoyproxy"
        )

    return _when_registered(mock_runtime, _route(), check)


@pulumi.runtime.test
def test_acme_http01_is_solved_through_the_gateway_and_http_redirects_to_https(mock_runtime):
    def check(objects):
        acme = objects[("ClusterIssuer", None, "letsencrypt")]["spec"]["acme"]
        assert acme["server"] == "https://acme-v02.api.letsencrypt.org/directory"
        assert acme["email"] == "ops@example.com"
        parent = acme["solvers"][0]["http01"]["gatewayHTTPRoute"]["parentRefs"][0]
        assert (parent["name"], parent["namespace"], parent["sectionName"]) == ("public", "gateway", "http")
        redirect = objects[("HTTPRoute", "gateway", "https-redirect")]["spec"]
        assert redirect["parentRefs"][0]["sectionName"] == "http"
        assert "hostnames" not in redirect, "every host on port 80 is redirected"
        assert redirect["rules"] == [
            {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
        ]

    return _when_registered(mock_runtime, _route(), check)


@pulumi.runtime.test
def test_routes_reach_backends_and_cross_namespace_ones_are_granted(mock_runtime):
    route = _route()
    assert set(route.routes) == {"bench.example.com", "grafana.example.com"}, "the canary declares its own route"

    def check(objects):
        bench = objects[("HTTPRoute", "bench", "bench-example-com")]["spec"]
        assert bench["hostnames"] == ["bench.example.com"]
        assert bench["parentRefs"][0]["sectionName"] == "https-bench-example-com"
        assert bench["rules"][0]["backendRefs"] == [
            {"group": "", "kind": "Service", "name": "bench-api", "port": 8000, "weight": 1}
        ]
        # an app's route serves only the paths it names; a host without paths serves everything.
        assert bench["rules"][0]["matches"] == [
            {"path": {"type": "PathPrefix", "value": "/api"}},
            {"path": {"type": "Exact", "value": "/docs"}},
        ]
        grafana = objects[("HTTPRoute", "gateway", "grafana-example-com")]["spec"]
        assert grafana["rules"][0]["backendRefs"][0]["namespace"] == "monitoring"
        assert grafana["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
        assert route.route_names == {
            "bench.example.com": "bench-example-com",
            "grafana.example.com": "grafana-example-com",
        }
        grant = objects[("ReferenceGrant", "monitoring", "routes-from-gateway")]["spec"]
        assert grant["from"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "gateway"}]
        assert grant["to"] == [{"group": "", "kind": "Service", "name": "grafana"}]
        assert [k for k in objects if k[0] == "ReferenceGrant"] == [
            ("ReferenceGrant", "monitoring", "routes-from-gateway")
        ]

    return _when_registered(mock_runtime, route, check)


@pulumi.runtime.test
def test_proxies_are_admitted_to_backends_and_solvers_only(mock_runtime):
    def check(objects):
        policies = {(ns, name): o["spec"] for (kind, ns, name), o in objects.items() if kind == "NetworkPolicy"}
        assert set(policies) == {
            ("gateway", "allow-acme-http01-solver"),
            ("bench", "allow-gateway-to-bench-api"),
            ("cad", "allow-gateway-to-cad"),
        }, "no policy where the backend gives no pod labels (monitoring manages its own)"
        bench = policies[("bench", "allow-gateway-to-bench-api")]
        assert bench["podSelector"] == {"matchLabels": {"app": "bench-api"}}
        assert bench["ingress"] == [
            {
                "from": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}},
                        "podSelector": {"matchLabels": PROXIES},
                    }
                ],
                "ports": [{"protocol": "TCP", "port": 8000}],
            }
        ]
        assert policies[("gateway", "allow-acme-http01-solver")]["ingress"][0]["ports"] == [
            {"protocol": "TCP", "port": 8089}
        ]

    return _when_registered(mock_runtime, _route(), check)


@pulumi.runtime.test
def test_custom_resources_match_the_crd_schemas(crd_schemas, mock_runtime):
    schemas = crd_schemas["prod"]

    def check(objects):
        custom = [o for o in objects.values() if o["apiVersion"].split("/")[0].endswith(("k8s.io", "cert-manager.io"))]
        custom = [o for o in custom if o["apiVersion"] != "networking.k8s.io/v1"]
        assert {o["kind"] for o in custom} == {
            "GatewayClass",
            "Gateway",
            "HTTPRoute",
            "ReferenceGrant",
            "Certificate",
            "ClusterIssuer",
        }
        assert [e for o in custom for e in validate_custom_resource(o, schemas)] == []

    return _when_registered(mock_runtime, _route(), check)


def test_without_a_known_data_plane_no_network_policy_is_declared(mock_runtime):
    route = _route(proxy_namespace=None, gateway_class_controller=None)
    assert route.network_policies == [] and route.gateway_class is None


@pytest.mark.parametrize(
    "hosts, message",
    [
        ((HOSTS[0], HOSTS[0]), "listed twice"),
        ((PublicHost("Not_A_Host", "x", (Backend("s", "x", 80),)),), "not a lower-case DNS name"),
        ((PublicHost("a.example.com", "x"),), "give backends"),
        ((PublicHost("a.example.com", "x", (Backend("s", "x", 80),), paths=()),), "give the paths"),
        ((PublicHost("a.example.com", "x", (Backend("s", "x", 80),), paths=(PathMatch("api"),)),), "absolute URL"),
        ((PublicHost("a.example.com", "x", (Backend("s", "x", 80),), paths=API + API),), "paths listed twice"),
    ],
)
def test_bad_hosts_are_refused(mock_runtime, hosts, message):
    with pytest.raises(ValueError, match=message):
        _route(hosts=hosts)
