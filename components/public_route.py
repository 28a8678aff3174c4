"""PublicRoute: the public entry point of a cluster, HTTPS only, with certificates from cert-manager.

One Gateway API `Gateway` with an HTTP listener (port 80) and one HTTPS listener per host (port 443,
TLS terminated with that host's certificate). Each host has a cert-manager `Certificate` issued by an
ACME `ClusterIssuer` that answers HTTP-01 challenges through this Gateway's HTTP listener; every other
request on port 80 is redirected to HTTPS (301).

Each HTTPS listener admits routes only from its host's route namespace, so a namespace cannot claim
another team's host. The host's `HTTPRoute` lives there: PublicRoute declares it, or the host's owner
does (a canary's weighted route, `external_route`). Backends in another namespace get a `ReferenceGrant`
there. When the data-plane namespace is given, NetworkPolicies admit the Gateway's proxies to the
backends' pods and to cert-manager's HTTP-01 solver pods (tenant namespaces deny ingress by default).
The hosts, and the listeners, routes, grants and admissions that follow from them: components/public_hosts.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import kube
from components.kube import GATEWAY_API
from components.public_hosts import (
    PublicHost,
    admitted_backends,
    backend_refs,
    check_hosts,
    cross_namespace_services,
    https_listener,
    listener_name,
    route_matches,
    tls_secret,
)
from components.validation import dns_slug

CERT_MANAGER = "cert-manager.io"
HTTP_LISTENER = "http"
# Pods cert-manager starts to answer an HTTP-01 challenge carry this label and listen on 8089.
ACME_SOLVER_LABELS = {"acme.cert-manager.io/http01-solver": "true"}
ACME_SOLVER_PORT = 8089
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"


@dataclass(frozen=True)
class AcmeIssuer:
    """An ACME (e.g. Let's Encrypt) ClusterIssuer solving HTTP-01 challenges through the Gateway."""

    name: str
    """ClusterIssuer name."""
    email: str
    """Account e-mail for expiry notices."""
    server: str = LETS_ENCRYPT
    """ACME directory URL."""


@dataclass(frozen=True)
class PublicRouteArgs:
    """The Gateway, its hosts and how their certificates are issued."""

    namespace: pulumi.Input[str]
    """Namespace of the Gateway, its Certificates (and TLS Secrets) and of platform-owned routes."""
    gateway_class: str
    """GatewayClass of the Gateway."""
    hosts: Sequence[PublicHost]
    """Public hosts, one HTTPS listener and certificate each."""
    issuer: AcmeIssuer
    """Issuer of the hosts' certificates."""
    gateway_name: str = "public"
    """Gateway name."""
    gateway_class_controller: str | None = None
    """Create the GatewayClass for this controller (e.g. when this program installs the implementation)."""
    proxy_namespace: str | None = None
    """Namespace of the Gateway's proxy pods; when set, NetworkPolicies admit them to backends and solvers."""
    proxy_pod_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of this Gateway's proxy pods."""
    namespaces: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Namespace name -> its Namespace's name output, so objects placed there wait for the namespace."""
    part_of: str | None = None
    """Value of `app.kubernetes.io/part-of`."""


class PublicRoute(pulumi.ComponentResource):
    """Gateway, ClusterIssuer, Certificates, HTTPRoutes (and the HTTPS redirect) of the public hosts."""

    gateway_name: str
    gateway_namespace: pulumi.Input[str]
    gateway: kube.CustomResourceWithStatus
    address: pulumi.Output[dict[str, str] | None]
    """Where the Gateway is reached from outside, as its status reports it: `{type: Hostname | IPAddress,
    value}` (on AWS the load balancer's DNS name); None until the implementation assigns one."""
    gateway_class: k8s.apiextensions.CustomResource | None
    """The GatewayClass, when this component declares it."""
    issuer: k8s.apiextensions.CustomResource
    certificates: dict[str, k8s.apiextensions.CustomResource]
    """Certificate per host name."""
    routes: dict[str, k8s.apiextensions.CustomResource]
    """HTTPRoute per host name this component declares."""
    route_names: dict[str, str]
    """Name of that HTTPRoute per host name (in the host's route namespace), e.g. for policies attached to it."""
    redirect: k8s.apiextensions.CustomResource
    """HTTPRoute redirecting HTTP to HTTPS."""
    reference_grants: list[k8s.apiextensions.CustomResource]
    network_policies: list[k8s.networking.v1.NetworkPolicy]
    """What admits the proxies to backends and to the HTTP-01 solver."""
    listeners: dict[str, str]
    """HTTPS listener name per host name (for routes declared elsewhere)."""
    urls: dict[str, str]
    """`https://` URL per host name."""

    def __init__(self, name: str, args: PublicRouteArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:public_route:PublicRoute", name, None, opts)
        check_hosts(args.hosts)
        child = kube.child_options(self, opts)
        self.gateway_name = args.gateway_name
        self.gateway_namespace = args.namespace
        self.listeners = {host.hostname: listener_name(host.hostname) for host in args.hosts}
        self.urls = {host.hostname: f"https://{host.hostname}" for host in args.hosts}
        self._labels = kube.app_labels(args.gateway_name, args.part_of, component="gateway")

        self.gateway_class = self._gateway_class(name, args, child) if args.gateway_class_controller else None
        self.gateway = self._gateway(
            name,
            args,
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=_some(self.gateway_class))),
        )
        self.address = self.gateway.status.apply(_first_address)
        self.issuer = self._issuer(name, args, child)
        self.certificates = {
            host.hostname: self._certificate(
                name, host, args, pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.issuer]))
            )
            for host in args.hosts
        }
        self.redirect = self._redirect(name, args, child)
        self.route_names = {host.hostname: dns_slug(host.hostname) for host in args.hosts if not host.external_route}
        self.routes = {
            host.hostname: self._route(name, host, args, child) for host in args.hosts if not host.external_route
        }
        self.reference_grants = self._reference_grants(name, args, child)
        self.network_policies = self._network_policies(name, args, child) if args.proxy_namespace else []
        self.register_outputs({"gateway": args.gateway_name, "urls": self.urls, "address": self.address})

    def _gateway_class(
        self, name: str, args: PublicRouteArgs, opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{name}-gatewayclass",
            api_version=f"{GATEWAY_API}/v1",
            kind="GatewayClass",
            metadata=kube.metadata(args.gateway_class, labels=self._labels),
            spec={"controllerName": args.gateway_class_controller},
            opts=opts,
        )

    def _gateway(self, name: str, args: PublicRouteArgs, opts: pulumi.ResourceOptions) -> kube.CustomResourceWithStatus:
        http = {
            "name": HTTP_LISTENER,
            "protocol": "HTTP",
            "port": 80,
            # Only this namespace's routes: the HTTPS redirect and cert-manager's challenge routes.
            "allowedRoutes": {"namespaces": {"from": "Same"}, "kinds": [{"group": GATEWAY_API, "kind": "HTTPRoute"}]},
        }
        return kube.custom_resource_with_status(
            f"{name}-gateway",
            f"{GATEWAY_API}/v1",
            "Gateway",
            # `up` waits until the implementation has programmed the Gateway and given it an address.
            kube.metadata(
                args.gateway_name, args.namespace, self._labels, {"pulumi.com/waitFor": "condition=Programmed"}
            ),
            {"gatewayClassName": args.gateway_class, "listeners": [http, *map(https_listener, args.hosts)]},
            opts,
        )

    def _issuer(
        self, name: str, args: PublicRouteArgs, opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        solver_parent = kube.gateway_parent_ref(args.gateway_name, args.namespace, HTTP_LISTENER)
        return k8s.apiextensions.CustomResource(
            f"{name}-issuer",
            api_version=f"{CERT_MANAGER}/v1",
            kind="ClusterIssuer",
            metadata=kube.metadata(args.issuer.name, labels=self._labels),
            spec={
                "acme": {
                    "email": args.issuer.email,
                    "server": args.issuer.server,
                    "privateKeySecretRef": {"name": f"{args.issuer.name}-account-key"},
                    "solvers": [{"http01": {"gatewayHTTPRoute": {"parentRefs": [solver_parent]}}}],
                }
            },
            opts=opts,
        )

    def _certificate(
        self, name: str, host: PublicHost, args: PublicRouteArgs, opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{name}-{dns_slug(host.hostname)}-certificate",
            api_version=f"{CERT_MANAGER}/v1",
            kind="Certificate",
            metadata=kube.metadata(dns_slug(host.hostname), args.namespace, self._labels),
            spec={
                "secretName": tls_secret(host),
                "dnsNames": [host.hostname],
                "issuerRef": {"group": CERT_MANAGER, "kind": "ClusterIssuer", "name": args.issuer.name},
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            },
            opts=opts,
        )

    def _redirect(
        self, name: str, args: PublicRouteArgs, opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{name}-https-redirect",
            api_version=f"{GATEWAY_API}/v1",
            kind="HTTPRoute",
            metadata=kube.metadata("https-redirect", args.namespace, self._labels),
            spec={
                "parentRefs": [kube.gateway_parent_ref(args.gateway_name, args.namespace, HTTP_LISTENER)],
                "rules": [
                    {
                        "filters": [
                            {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
                        ]
                    }
                ],
            },
            opts=opts,
        )

    def _route(
        self, name: str, host: PublicHost, args: PublicRouteArgs, opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{name}-{dns_slug(host.hostname)}-route",
            api_version=f"{GATEWAY_API}/v1",
            kind="HTTPRoute",
            metadata=kube.metadata(self.route_names[host.hostname], _in(args, host.route_namespace), self._labels),
            spec={
                "parentRefs": [
                    kube.gateway_parent_ref(args.gateway_name, args.namespace, self.listeners[host.hostname])
                ],
                "hostnames": [host.hostname],
                "rules": [{"matches": route_matches(host.paths), "backendRefs": backend_refs(host)}],
            },
            opts=opts,
        )

    def _reference_grants(
        self, name: str, args: PublicRouteArgs, opts: pulumi.ResourceOptions
    ) -> list[k8s.apiextensions.CustomResource]:
        """Let each route reach Services in other namespaces: one grant per (route namespace, target namespace)."""
        return [
            k8s.apiextensions.CustomResource(
                f"{name}-{target}-from-{source}-grant",
                api_version=f"{GATEWAY_API}/v1beta1",
                kind="ReferenceGrant",
                metadata=kube.metadata(f"routes-from-{source}", _in(args, target), self._labels),
                spec={
                    "from": [{"group": GATEWAY_API, "kind": "HTTPRoute", "namespace": source}],
                    "to": [{"group": "", "kind": "Service", "name": service} for service in services],
                },
                opts=opts,
            )
            for (source, target), services in cross_namespace_services(args.hosts).items()
        ]

    def _network_policies(
        self, name: str, args: PublicRouteArgs, opts: pulumi.ResourceOptions
    ) -> list[k8s.networking.v1.NetworkPolicy]:
        proxies = {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": args.proxy_namespace}},
            "podSelector": {"matchLabels": dict(args.proxy_pod_labels)},
        }
        policies = [
            self._admit(
                f"{name}-acme-solver",
                "allow-acme-http01-solver",
                args.namespace,
                ACME_SOLVER_LABELS,
                ACME_SOLVER_PORT,
                proxies,
                opts,
            )
        ]
        policies += [
            self._admit(
                f"{name}-{backend.namespace}-{backend.service}",
                f"allow-gateway-to-{backend.service}",
                _in(args, backend.namespace),
                pods,
                backend.target_port or backend.port,
                proxies,
                opts,
            )
            for backend, pods in admitted_backends(args.hosts)
        ]
        return policies

    def _admit(
        self,
        resource_name: str,
        policy_name: str,
        namespace: pulumi.Input[str],
        pods: Mapping[str, str],
        port: int,
        proxies: dict[str, Any],
        opts: pulumi.ResourceOptions,
    ) -> k8s.networking.v1.NetworkPolicy:
        return k8s.networking.v1.NetworkPolicy(
            resource_name,
            metadata=kube.metadata(policy_name, namespace, self._labels),
            spec={
                "podSelector": {"matchLabels": dict(pods)},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [proxies], "ports": [{"protocol": "TCP", "port": port}]}],
            },
            opts=opts,
        )


def _first_address(status: Mapping[str, Any] | None) -> dict[str, str] | None:
    addresses = (status or {}).get("addresses") or []
    return {"type": addresses[0].get("type", "IPAddress"), "value": addresses[0]["value"]} if addresses else None


def _in(args: PublicRouteArgs, namespace: str) -> pulumi.Input[str]:
    return args.namespaces.get(namespace, namespace)


def _some(resource: pulumi.Resource | None) -> list[pulumi.Resource]:
    return [resource] if resource is not None else []
