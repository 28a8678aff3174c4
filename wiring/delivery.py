"""Delivery: how each app's releases reach its users, and the public routes in front of the apps.

Per app, `ai-platform:services.<service>.apps.<app>.delivery.strategy` picks the component:
- `rolling` (default): one `AppDeployment`, updated by Kubernetes rolling updates;
- `blue-green`: `BlueGreen`, both colours run and `delivery.active` takes the traffic (X-05, S0-09, S4-10);
- `canary`: `Canary`, `<app>-canary` gets `delivery.weight` percent of the public traffic (X-06, S3-02).

Public hosts (X-15, S3-03) share one Gateway, HTTPS only: every public app's API under the stack's
domain (`<app>.<domain>`; CAD ML's at `api.<domain>` as its manual names it), only the paths of its API, and
Prometheus and Grafana at `prom.<domain>` and `grafana.<domain>` behind a login at the Gateway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pulumi

from components import kube
from components.app_deployment import AppDeployment, AppDeploymentArgs
from components.app_volumes import ClaimMount, ScratchVolume
from components.blue_green import BlueGreen, BlueGreenArgs, SmokeTest
from components.canary import TRACK_LABEL, Canary, CanaryArgs, GatewayListener
from components.dns_records import DnsRecords, DnsRecordsArgs
from components.gateway_auth import GatewayBasicAuth, GatewayBasicAuthArgs
from components.log_follower import LogFollower
from components.monitoring_stack import MonitoringStack
from components.public_hosts import Backend, PublicHost, listener_name
from components.public_route import AcmeIssuer, PublicRoute, PublicRouteArgs
from components.shared_volume import SharedVolume, SharedVolumeArgs
from components.tenant_namespace import Quota, TenantNamespace, TenantNamespaceArgs
from services.conventions import GATEWAY_NAME, GRAFANA_HOST_LABEL, PROMETHEUS_HOST_LABEL
from services.spec import AppSpec
from settings import AppSettings, BlueGreenSettings, CanarySettings, Settings, VolumeSettings
from versions import BUSYBOX_IMAGE, CURL_IMAGE
from wiring.addons import GATEWAY_CONTROLLER, GATEWAY_NAMESPACE, envoy_proxies
from wiring.context import PlatformContext, ServiceContext

# Only cert-manager's HTTP-01 solver pods run in the Gateway's namespace.
GATEWAY_QUOTA = Quota(requests_cpu="500m", requests_memory="512Mi", limits_cpu="1", limits_memory="1Gi", pods=10)
MONITORING_LOGIN_SECRET = "monitoring-login"
"""Secret in the Gateway's namespace with the login of `prom.` and `grafana.` (`username`, `password`)."""


@dataclass(frozen=True)
class DeliveredApp:
    """An app as deployed by its delivery strategy."""

    spec: AppSpec
    component: AppDeployment | BlueGreen | Canary
    namespace: pulumi.Input[str]
    """The app's namespace (the Namespace's name output)."""
    url: pulumi.Output[str]
    """In-cluster URL of the Service the manuals name (`<app>`)."""
    outputs: dict[str, Any]
    """Stack outputs: `publicUrl` of public apps, `activeColour` of blue-green apps (null otherwise)."""


def deploy_app(ctx: ServiceContext, app: AppSettings) -> DeliveredApp:
    """Declare APP with the component its delivery strategy asks for (it may declare custom resources:
    ServiceMonitors, a canary's HTTPRoute, so it waits for the operators)."""
    settings, name = ctx.settings, app.spec.name
    # Pods wait for the claim they mount.
    opts = pulumi.ResourceOptions.merge(
        ctx.after_operators, pulumi.ResourceOptions(depends_on=_shared_volume(ctx, app) or None)
    )
    outputs: dict[str, Any] = {
        "publicUrl": f"https://{public_host(settings, app.spec)}" if app.spec.public else None,
        "activeColour": None,
    }
    component: AppDeployment | BlueGreen | Canary
    match app.delivery:
        case BlueGreenSettings() as blue_green:
            # Only the colours' images are deployed (and looked up when pinned), not the app's default image.
            component = BlueGreen(name, _blue_green_args(ctx, app, blue_green), opts)
            outputs["activeColour"] = blue_green.active
        case CanarySettings() as canary:
            component = Canary(name, _canary_args(ctx, app, canary), opts)
        case _:
            component = AppDeployment(name, app_args(ctx, app), opts)
    return DeliveredApp(app.spec, component, ctx.namespace_ref(app.spec.namespace), component.url, outputs)


def app_args(ctx: ServiceContext, app: AppSettings) -> AppDeploymentArgs:
    """AppDeploymentArgs of APP, its image deployed as the stack pins images."""
    spec = app.spec
    image = ctx.platform.pin(app.image)
    return AppDeploymentArgs(
        namespace=ctx.namespace_ref(spec.namespace),
        image=image,
        port=spec.port,
        probes=spec.probes,
        resources=app.resources,
        container_name=spec.container_name,
        part_of=ctx.name,
        replicas=app.replicas,
        autoscaling=app.autoscaling,
        metrics_port=spec.metrics_port,
        service_monitor=spec.scraped,
        env=app.env,
        secret_env=spec.secret_env,
        config_files=spec.config_files,
        config_mount_path=spec.config_mount_path,
        writable_dirs=spec.writable_dirs,
        log_follower=_log_follower(ctx, spec),
        scratch=_scratch(app.volume),
        claims=_claims(app.spec, app.volume),
        scheduling=app.scheduling,
        termination_grace_seconds=spec.termination_grace_seconds,
        annotations={**kube.checkov_skips(_accepted_findings(app, image)), **_connection_budget(spec)},
    )


def _log_follower(ctx: ServiceContext, spec: AppSpec) -> LogFollower | None:
    """The sidecar shipping the files the app writes to its log directories, while log aggregation is on (S2-04)."""
    if ctx.settings.logging is None or not any(directory.logs for directory in spec.writable_dirs):
        return None
    return LogFollower(ctx.platform.pin(BUSYBOX_IMAGE))


DATABASE_CONNECTIONS_ANNOTATION = "ai-platform/database-connections"
"""On a Deployment: the most connections each of its pods opens to its database (the connection budget, S0-03)."""


def _connection_budget(spec: AppSpec) -> dict[str, str]:
    return {DATABASE_CONNECTIONS_ANNOTATION: str(spec.database_connections)} if spec.uses_database else {}


def _accepted_findings(app: AppSettings, image: pulumi.Input[str]) -> dict[str, str]:
    """checkov findings this app accepts on purpose, each with its reason (kept on the object)."""
    findings = kube.unpinned_image_finding(image)
    if app.spec.secret_env:
        findings["CKV_K8S_35"] = "the app reads these secrets from env as its manual specifies (secretKeyRef only)"
    return findings


def _scratch(volume: VolumeSettings | None) -> ScratchVolume | None:
    """A scratch volume per pod (S2-02)."""
    if volume is None or volume.spec.shared:
        return None
    return ScratchVolume(volume.spec.path, volume.size, volume.storage_class, volume.spec.name)


def _claims(spec: AppSpec, volume: VolumeSettings | None) -> list[ClaimMount]:
    """The volume every pod shares (S1-05 results), declared by `_shared_volume`."""
    return [ClaimMount(volume.spec.path, shared_claim(spec))] if volume and volume.spec.shared else []


def shared_claim(spec: AppSpec) -> str:
    """Name of the PersistentVolumeClaim APP's pods share."""
    assert spec.volume is not None
    return f"{spec.name}-{spec.volume.name}"


def _shared_volume(ctx: ServiceContext, app: AppSettings) -> list[SharedVolume]:
    """The persistent volume all of APP's pods mount, protected like the rest of the data (X-09)."""
    volume = app.volume
    if volume is None or not volume.spec.shared:
        return []
    assert volume.storage_class is not None  # a shared volume's spec names its ReadWriteMany class
    return [
        SharedVolume(
            shared_claim(app.spec),
            SharedVolumeArgs(
                namespace=ctx.namespace_ref(app.spec.namespace),
                claim_name=shared_claim(app.spec),
                size=volume.size,
                storage_class=volume.storage_class,
                labels={**ctx.labels, "app": app.spec.name},
                protect=ctx.settings.protect_data,
            ),
            ctx.kubernetes,
        )
    ]


def _blue_green_args(ctx: ServiceContext, app: AppSettings, delivery: BlueGreenSettings) -> BlueGreenArgs:
    smoke = delivery.smoke_test
    return BlueGreenArgs(
        blue=app_args(ctx, replace(app, image=delivery.images["blue"])),
        green=app_args(ctx, replace(app, image=delivery.images["green"])),
        active=delivery.active,
        idle_replicas=delivery.idle_replicas,
        smoke_test=SmokeTest(
            path=smoke.path,
            expected_status=smoke.expected_status,
            timeout_seconds=smoke.timeout_seconds,
            image=ctx.platform.pin(CURL_IMAGE),
        ),
    )


def _canary_args(ctx: ServiceContext, app: AppSettings, delivery: CanarySettings) -> CanaryArgs:
    settings = ctx.settings
    host = public_host(settings, app.spec)
    return CanaryArgs(
        stable=app_args(ctx, app),
        canary=app_args(ctx, replace(app, image=delivery.image)),
        weight=delivery.weight,
        canary_replicas=delivery.replicas,
        hostnames=[host],
        parents=[GatewayListener(GATEWAY_NAME, settings.gateway.namespace, listener_name(host))],
        paths=app.spec.public_paths,
    )


def public_host(settings: Settings, spec: AppSpec) -> str:
    """Public host name of a public app."""
    return spec.public_host(settings.domain)


def deploy_routes(
    platform: PlatformContext,
    apps: Mapping[str, DeliveredApp],
    platform_hosts: Sequence[PublicHost] = (),
    platform_namespaces: Mapping[str, pulumi.Input[str]] | None = None,
) -> PublicRoute:
    """The Gateway, certificates and routes of every public host (X-15, S3-03), and their DNS records when
    `ai-platform:dns.zone_id` names the zone.

    APPS are every service's deployed apps by name: routes and policies placed in their namespaces wait for
    those namespaces. The monitoring stack, when this program runs it, gets the `prom.` and `grafana.` hosts,
    behind a generated login that this program's Envoy Gateway asks for (without it they stay internal).
    PLATFORM_HOSTS are the platform's other hosts (Kibana), their backends in PLATFORM_NAMESPACES (name -> the
    Namespace's name output). Everything waits for the add-on releases that install the Gateway API and
    cert-manager CRDs.
    """
    settings, kubernetes = platform.settings, platform.kubernetes
    gateway = settings.gateway
    namespace = TenantNamespace(
        gateway.namespace,
        TenantNamespaceArgs(quota=GATEWAY_QUOTA, labels={"app.kubernetes.io/part-of": "ai-platform"}),
        kubernetes,
    )
    hosts = list(platform_hosts)
    namespaces = {**(platform_namespaces or {}), gateway.namespace: namespace.namespace.metadata.name}
    for service in settings.enabled_services:
        for app in service.apps.values():
            if app.spec.public:
                hosts.append(_app_host(settings, app))
                namespaces[app.spec.namespace] = apps[app.spec.name].namespace
    monitoring = _monitoring_hosts(settings, platform.monitoring)
    hosts += monitoring
    issuer = settings.tls.cluster_issuer
    ours = settings.addons.gateway
    route = PublicRoute(
        GATEWAY_NAME,
        PublicRouteArgs(
            namespace=namespace.namespace.metadata.name,
            gateway_class=gateway.class_name,
            hosts=hosts,
            issuer=AcmeIssuer(issuer.name, issuer.acme_email, issuer.acme_server),
            gateway_name=GATEWAY_NAME,
            # With our Envoy Gateway we know its class and where its proxies run; otherwise the cluster team's.
            gateway_class_controller=GATEWAY_CONTROLLER if ours else None,
            proxy_namespace=GATEWAY_NAMESPACE if ours else None,
            proxy_pod_labels=envoy_proxies(GATEWAY_NAME, gateway.namespace).labels,
            namespaces=namespaces,
            part_of="ai-platform",
        ),
        platform.after_operators,
    )
    if monitoring:
        GatewayBasicAuth(
            "monitoring-login",
            GatewayBasicAuthArgs(
                namespace=namespace.namespace.metadata.name,
                routes=[route.route_names[host.hostname] for host in monitoring],
                secret_name=MONITORING_LOGIN_SECRET,
                part_of="ai-platform",
            ),
            platform.after_operators,
        )
    if settings.dns.zone_id:
        DnsRecords(
            "public-dns",
            DnsRecordsArgs(settings.dns.zone_id, sorted(route.urls), route.address, settings.dns.ttl),
            pulumi.ResourceOptions(provider=platform.providers.aws("dns")),
        )
    return route


def _monitoring_hosts(settings: Settings, monitoring: MonitoringStack | None) -> list[PublicHost]:
    """`prom.` and `grafana.` (S3-03), when this program runs the monitoring stack and its own Envoy Gateway, whose
    SecurityPolicy puts them behind a login (X-15); the whole UI is served, the login guards all of it."""
    if monitoring is None or not settings.addons.gateway:
        return []
    backends = {
        PROMETHEUS_HOST_LABEL: Backend(monitoring.prometheus_service_name, monitoring.namespace, 9090),
        GRAFANA_HOST_LABEL: Backend(monitoring.grafana_service_name, monitoring.namespace, 80),
    }
    return [
        PublicHost(f"{label}.{settings.domain}", settings.gateway.namespace, (backend,))
        for label, backend in backends.items()
    ]


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
        return PublicHost(host, spec.namespace, backends, external_route=True, paths=spec.public_paths)
    # Both colours of a blue-green app carry `app: <app>`: the policy does not change when the colour does.
    backend = Backend(spec.name, spec.namespace, spec.port, pod_labels={"app": spec.name})
    return PublicHost(host, spec.namespace, (backend,), paths=spec.public_paths)
