"""Delivery: how each app's releases reach its users, and the public routes in front of the apps.

Per app, `ai-platform:services.<service>.apps.<app>.delivery.strategy` picks the component:
- `rolling` (default): one `AppDeployment`, updated by Kubernetes rolling updates;
- `blue-green`: `BlueGreen`, both colours run and `delivery.active` takes the traffic (X-05, S0-09, S4-10);
- `canary`: `Canary`, `<app>-canary` gets `delivery.weight` percent of the public traffic (X-06, S3-02).

Public hosts (X-15, S3-03) share one Gateway, HTTPS only: every public app's API under the stack's
domain (`<app>.<domain>`; CAD ML's at `api.<domain>` as its manual names it) and Prometheus and Grafana
at `prom.<domain>` and `grafana.<domain>`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pulumi

from components.app_deployment import AppDeployment, AppDeploymentArgs
from components.blue_green import BlueGreen, BlueGreenArgs, SmokeTest
from components.canary import TRACK_LABEL, Canary, CanaryArgs, GatewayListener
from components.dns_records import DnsRecords, DnsRecordsArgs
from components.monitoring_stack import MonitoringStack
from components.public_route import AcmeIssuer, Backend, PublicHost, PublicRoute, PublicRouteArgs, listener_name
from components.tenant_namespace import Quota, TenantNamespace, TenantNamespaceArgs
from providers import Providers
from services import images
from services.addons import GATEWAY_CONTROLLER, GATEWAY_NAMESPACE, envoy_proxies
from services.catalog import AppSpec
from services.common import GATEWAY_NAME
from settings import AppSettings, BlueGreenSettings, CanarySettings, Settings
from versions import CURL_IMAGE

# Host names the manuals give (S3-03); every other public app is served at `<app>.<domain>`.
HOST_LABELS = {"cad-ml-platform": "api"}
# Only cert-manager's HTTP-01 solver pods run in the Gateway's namespace.
GATEWAY_QUOTA = Quota(requests_cpu="500m", requests_memory="512Mi", limits_cpu="1", limits_memory="1Gi", pods=10)

ArgsBuilder = Callable[[AppSettings], AppDeploymentArgs]
"""Builds an app's AppDeploymentArgs from its settings (services/deploy.py `app_args`)."""


@dataclass(frozen=True)
class DeliveredApp:
    """An app as deployed by its delivery strategy."""

    component: AppDeployment | BlueGreen | Canary
    namespace: pulumi.Input[str]
    """The app's namespace (the Namespace's name output)."""
    url: pulumi.Output[str]
    """In-cluster URL of the Service the manuals name (`<app>`)."""
    outputs: dict[str, Any]
    """Stack outputs: `publicUrl` of public apps, `activeColour` of blue-green apps; null for the others (X-13)."""


def deploy_app(
    name: str,
    app: AppSettings,
    settings: Settings,
    build_args: ArgsBuilder,
    pin: images.Pinning,
    opts: pulumi.ResourceOptions,
) -> DeliveredApp:
    """Declare APP with the component its delivery strategy asks for.

    OPTS must make it wait for the operators whose CRDs its custom resources need (ServiceMonitors,
    a canary's HTTPRoute).
    """
    public_url = f"https://{public_host(settings, app.spec)}" if app.spec.public else None
    outputs: dict[str, Any] = {"publicUrl": public_url, "activeColour": None}
    component: AppDeployment | BlueGreen | Canary
    match app.delivery:
        case BlueGreenSettings() as blue_green:
            # Only the colours' images are deployed (and looked up when pinned), not the app's default image.
            args = _blue_green_args(app, blue_green, pin, build_args)
            component, namespace = BlueGreen(name, args, opts), args.blue.namespace
            outputs["activeColour"] = blue_green.active
        case CanarySettings() as canary:
            args = _canary_args(app, canary, settings, build_args)
            component, namespace = Canary(name, args, opts), args.stable.namespace
        case _:
            args = build_args(app)
            component, namespace = AppDeployment(name, args, opts), args.namespace
    return DeliveredApp(component, namespace, component.url, outputs)


def _blue_green_args(
    app: AppSettings, delivery: BlueGreenSettings, pin: images.Pinning, build_args: ArgsBuilder
) -> BlueGreenArgs:
    smoke = delivery.smoke_test
    return BlueGreenArgs(
        blue=build_args(replace(app, image=delivery.images["blue"])),
        green=build_args(replace(app, image=delivery.images["green"])),
        active=delivery.active,
        idle_replicas=delivery.idle_replicas,
        smoke_test=SmokeTest(
            path=smoke.path,
            expected_status=smoke.expectedStatus,
            timeout_seconds=smoke.timeoutSeconds,
            image=pin(CURL_IMAGE),
        ),
    )


def _canary_args(app: AppSettings, delivery: CanarySettings, settings: Settings, build_args: ArgsBuilder) -> CanaryArgs:
    host = public_host(settings, app.spec)
    return CanaryArgs(
        stable=build_args(app),
        canary=build_args(replace(app, image=delivery.image)),
        weight=delivery.weight,
        canary_replicas=delivery.replicas,
        hostnames=[host],
        parents=[GatewayListener(GATEWAY_NAME, settings.gateway.namespace, listener_name(host))],
    )


def peak_pods(app: AppSettings) -> int:
    """Most pods APP runs at once: every Deployment its delivery keeps, each with one rolling-update surge pod."""
    ceiling = (app.autoscaling.max_replicas if app.autoscaling else app.replicas) + 1
    match app.delivery:
        case BlueGreenSettings(idle_replicas=None):
            return 2 * ceiling
        case BlueGreenSettings(idle_replicas=idle) | CanarySettings(replicas=idle):
            return ceiling + idle + 1
    return ceiling


def public_host(settings: Settings, spec: AppSpec) -> str:
    """Public host name of a public app."""
    return f"{HOST_LABELS.get(spec.name, spec.name)}.{settings.domain}"


def deploy_routes(
    settings: Settings,
    providers: Providers,
    services: Mapping[str, Any],
    monitoring: MonitoringStack | None,
    depends_on: Sequence[pulumi.Resource] = (),
) -> PublicRoute:
    """The Gateway, certificates and routes of every public host (X-15, S3-03), and their DNS records when
    `ai-platform:dns.zoneId` names the zone.

    SERVICES are deploy_platform's per-service outputs: each app's `namespace` there is its Namespace's
    output, so routes and policies placed in app namespaces wait for them. MONITORING, when this program
    runs it, gets the `prom.` and `grafana.` hosts. DEPENDS_ON: what must exist first (the add-on releases
    that install the Gateway API and cert-manager CRDs).
    """
    opts = pulumi.ResourceOptions(provider=providers.kubernetes)
    gateway = settings.gateway
    namespace = TenantNamespace(
        gateway.namespace,
        TenantNamespaceArgs(quota=GATEWAY_QUOTA, labels={"app.kubernetes.io/part-of": "ai-platform"}),
        opts,
    )
    hosts, namespaces = [], {gateway.namespace: namespace.namespace.metadata.name}
    for service in settings.enabled_services:
        for app in service.apps.values():
            if app.spec.public:
                hosts.append(_app_host(settings, app))
                namespaces[app.spec.namespace] = services[service.spec.name]["apps"][app.spec.name]["namespace"]
    if monitoring is not None:
        hosts += [
            PublicHost(f"{label}.{settings.domain}", gateway.namespace, (backend,))
            for label, backend in _monitoring_backends(monitoring).items()
        ]
    issuer = settings.tls.clusterIssuer
    ours = settings.addons.gateway
    route = PublicRoute(
        GATEWAY_NAME,
        PublicRouteArgs(
            namespace=namespace.namespace.metadata.name,
            gateway_class=gateway.className,
            hosts=hosts,
            issuer=AcmeIssuer(issuer.name, issuer.acmeEmail, issuer.acmeServer),
            gateway_name=GATEWAY_NAME,
            # With our Envoy Gateway we know its class and where its proxies run; otherwise the cluster team's.
            gateway_class_controller=GATEWAY_CONTROLLER if ours else None,
            proxy_namespace=GATEWAY_NAMESPACE if ours else None,
            proxy_pod_labels=envoy_proxies(GATEWAY_NAME, gateway.namespace).labels,
            namespaces=namespaces,
            part_of="ai-platform",
        ),
        pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(depends_on))),
    )
    if settings.dns.zoneId:
        DnsRecords(
            "public-dns",
            DnsRecordsArgs(settings.dns.zoneId, sorted(route.urls), route.address, settings.dns.ttl),
            pulumi.ResourceOptions(provider=providers.aws("dns")),
        )
    return route


def _monitoring_backends(monitoring: MonitoringStack) -> dict[str, Backend]:
    return {
        "prom": Backend(monitoring.prometheus_service_name, monitoring.namespace, 9090),
        "grafana": Backend(monitoring.grafana_service_name, monitoring.namespace, 80),
    }


def _app_host(settings: Settings, app: AppSettings) -> PublicHost:
    spec = app.spec
    host = public_host(settings, spec)
    if isinstance(app.delivery, CanarySettings):
        # The Canary declares the weighted route for this host in its own namespace.
        tracks = [(spec.name, "stable"), (f"{spec.name}-canary", "canary")]
        backends = tuple(
            Backend(service, spec.namespace, spec.port, pod_labels={"app": spec.name, TRACK_LABEL: track})
            for service, track in tracks
        )
        return PublicHost(host, spec.namespace, backends, external_route=True)
    # Both colours of a blue-green app carry `app: <app>`: the policy does not change when the colour does.
    return PublicHost(
        host, spec.namespace, (Backend(spec.name, spec.namespace, spec.port, pod_labels={"app": spec.name}),)
    )
