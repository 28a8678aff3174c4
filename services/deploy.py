"""Wiring: turn the validated settings of each enabled service into components."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import pulumi

from components import kube, quantity
from components.app_deployment import AppDeploymentArgs, Resources
from components.app_secret import AppSecret, AppSecretArgs
from components.backup_bucket import BackupBucket
from components.monitoring_stack import MonitoringStack
from components.platform_addons import PlatformAddons, PlatformAddonsArgs
from components.postgres_cluster import PostgresCluster
from components.public_route import PublicRoute
from components.redis_cache import EXPORTER_RESOURCES
from components.tenant_namespace import Quota, TenantNamespace, TenantNamespaceArgs
from providers import Providers
from services import CATALOG, images
from services.addons import ADDONS
from services.common import DATABASE_URL
from services.data import backup_role_arns, deploy_backups, deploy_cache, deploy_database
from services.delivery import deploy_app, deploy_routes, peak_pods
from services.isolation import deploy_cluster_access, deploy_service_isolation, platform_flows
from services.monitoring import deploy_monitoring_stack, deploy_service_observability
from settings import AppSettings, QuotaConfig, ServiceSettings, Settings

# Quota headroom over the apps' own peak: rolling-update surge, jobs and debugging pods.
QUOTA_HEADROOM = Decimal("1.5")
QUOTA_RESERVE = Resources({"cpu": "2", "memory": "4Gi"}, {"cpu": "4", "memory": "8Gi"})
QUOTA_RESERVE_PODS = 10


def deploy_platform(settings: Settings, providers: Providers) -> dict[str, Any]:
    """Declare the add-ons, the backup bucket and every enabled service; returns the stack outputs."""
    opts = pulumi.ResourceOptions(provider=providers.kubernetes)
    flows = platform_flows(settings)
    monitoring = deploy_monitoring_stack(settings, flows, opts)
    addons = PlatformAddons(
        "addons",
        PlatformAddonsArgs(
            [addon for switch, addon in ADDONS.items() if getattr(settings.addons, switch)], flows=flows
        ),
        # The operators' charts declare ServiceMonitors/PodMonitors: the Prometheus Operator's CRDs come first.
        pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[monitoring.release] if monitoring else None)
        ),
    )
    deploy_cluster_access(settings, opts)
    platform = Platform(
        settings=settings,
        opts=opts,
        # Custom resources wait for the operators that define them.
        operators=list(addons.releases.values()) + ([monitoring.release] if monitoring else []),
        bucket=deploy_backups(settings, providers) if _any_database(settings) else None,
        pin=providers.images,
    )
    services = {service.spec.name: deploy_service(service, platform) for service in settings.enabled_services}
    routes = deploy_routes(settings, providers, services, monitoring, platform.operators)
    return _outputs(settings, services, platform.bucket, monitoring, routes)


def _outputs(
    settings: Settings,
    services: dict[str, Any],
    bucket: BackupBucket | None,
    monitoring: MonitoringStack | None,
    routes: PublicRoute,
) -> dict[str, Any]:
    """The stack outputs (X-13, contract in contracts/stack-outputs.schema.json): every key in every stack,
    null where this stack has nothing (a disabled service, no database, monitoring run elsewhere)."""
    return {
        "environment": settings.environment,
        "services": {name: services.get(name) for name in CATALOG},
        "publicGateway": {"address": routes.address, "hosts": sorted(routes.urls)},
        "backupBucket": None
        if bucket is None
        else {"name": bucket.bucket_name, "arn": bucket.bucket_arn, "kmsKeyArn": bucket.kms_key_arn},
        "monitoring": None
        if monitoring is None
        else {
            "grafanaUrl": monitoring.grafana_url,
            "prometheusUrl": monitoring.prometheus_url,
            "alertmanagerUrl": monitoring.alertmanager_url,
            "grafanaAdminSecret": monitoring.grafana_admin_secret_name,
        },
    }


@dataclass(frozen=True)
class Platform:
    """What every service builds on."""

    settings: Settings
    opts: pulumi.ResourceOptions
    """Kubernetes provider for the services' resources."""
    operators: list[pulumi.Resource]
    """Operator releases the custom resources must wait for."""
    pin: images.Pinning
    """How images are deployed: by tag or by digest."""
    bucket: BackupBucket | None


def _data_namespaces(service: ServiceSettings) -> set[str]:
    """Namespaces holding the service's databases and caches (their volumes)."""
    stores = (service.database, service.cache)
    return {store.spec.namespace for store in stores if store is not None}


def _any_database(settings: Settings) -> bool:
    return any(service.database is not None for service in settings.enabled_services)


def deploy_service(service: ServiceSettings, platform: Platform) -> dict[str, Any]:
    settings, opts = platform.settings, platform.opts
    spec = service.spec
    namespaces = {
        name: TenantNamespace(
            name,
            TenantNamespaceArgs(
                quota=_quota(service, name),
                labels={"app.kubernetes.io/part-of": spec.name},
                # Deleting a namespace deletes the volumes in it: where data lives, only a human may.
                protect=settings.protect_data and name in _data_namespaces(service),
            ),
            opts,
        )
        for name in spec.namespaces
    }
    deploy_service_isolation(service, settings, namespaces, opts)
    _deploy_secrets(service, settings, namespaces, opts)
    with_operators = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=platform.operators))
    deploy_service_observability(service, settings, namespaces, with_operators)
    stores = _deploy_stores(service, platform, namespaces, with_operators)
    apps = {
        name: deploy_app(
            name,
            app,
            settings,
            partial(app_args, namespace=namespaces[app.spec.namespace], part_of=spec.name, pin=platform.pin),
            platform.pin,
            with_operators,
        )
        for name, app in service.apps.items()
    }
    return {
        "namespaces": list(spec.namespaces),
        "apps": {
            name: {"namespace": apps[name].namespace, "url": apps[name].url, **apps[name].outputs}
            for name in service.apps
        },
        **stores,
    }


def _deploy_secrets(
    service: ServiceSettings, settings: Settings, namespaces: dict[str, TenantNamespace], opts: pulumi.ResourceOptions
) -> None:
    """The service's own Secrets: configured provider keys and generated tokens."""
    for secret in service.spec.secrets:
        for namespace in secret.namespaces:
            AppSecret(
                f"{namespace}-{secret.name}",
                AppSecretArgs(
                    namespace=namespaces[namespace].namespace.metadata.name,
                    secret_name=secret.name,
                    values={key: settings.secrets[source.config_key] for key, source in secret.from_config.items()},
                    generated=dict(secret.generated),
                    labels={"app.kubernetes.io/part-of": service.spec.name},
                ),
                opts,
            )


def _deploy_stores(
    service: ServiceSettings,
    platform: Platform,
    namespaces: dict[str, TenantNamespace],
    opts: pulumi.ResourceOptions,
) -> dict[str, Any]:
    """The service's Redis and Postgres; returns their outputs (hosts and Secret names, never values)."""
    stores: dict[str, Any] = {"redis": None, "database": None}
    if service.cache is not None:
        namespace = namespaces[service.cache.spec.namespace].namespace.metadata.name
        cache = deploy_cache(service, namespace, platform.pin, platform.settings.protect_data, opts)
        stores["redis"] = {"host": cache.host, "secretName": cache.url_secret_name}
    if service.database is not None and platform.bucket is not None:
        database = deploy_database(
            service,
            platform.settings,
            platform.bucket,
            namespaces[service.database.spec.namespace].namespace.metadata.name,
            platform.pin,
            opts,
        )
        _share_database_secret(service, database, namespaces, platform.opts)
        stores["database"] = {
            "cluster": database.cluster_name,
            "host": database.rw_host,
            "readOnlyHost": database.ro_host,
            "secretName": database.app_secret_name,
            "backupRoleArns": backup_role_arns(platform.settings, platform.bucket, service.spec.name),
        }
    return stores


def _share_database_secret(
    service: ServiceSettings,
    database: PostgresCluster,
    namespaces: dict[str, TenantNamespace],
    opts: pulumi.ResourceOptions,
) -> None:
    """The service's other namespaces connect to the same database, each as its own role."""
    assert service.database is not None
    for namespace, reader in service.database.spec.reader_roles.items():
        AppSecret(
            f"{namespace}-{DATABASE_URL.secret}",
            AppSecretArgs(
                namespace=namespaces[namespace].namespace.metadata.name,
                secret_name=DATABASE_URL.secret,
                values={DATABASE_URL.key: database.role_urls[reader.role]},
                labels={"app.kubernetes.io/part-of": service.spec.name},
            ),
            opts,
        )


def app_args(app: AppSettings, namespace: TenantNamespace, part_of: str, pin: images.Pinning) -> AppDeploymentArgs:
    """AppDeploymentArgs of APP, its image deployed as the stack's PIN says."""
    spec = app.spec
    image = pin(app.image)
    return AppDeploymentArgs(
        namespace=namespace.namespace.metadata.name,
        image=image,
        port=spec.port,
        probes=spec.probes,
        resources=_with_ephemeral_storage(app.resources, spec.ephemeral_storage),
        container_name=spec.container_name,
        part_of=part_of,
        replicas=app.replicas,
        autoscaling=app.autoscaling,
        metrics_port=spec.metrics_port,
        service_monitor=True,
        env=app.env,
        secret_env=spec.secret_env,
        config_files=spec.config_files,
        config_mount_path=spec.config_mount_path,
        writable_dirs=spec.writable_dirs,
        scheduling=app.scheduling,
        termination_grace_seconds=spec.termination_grace_seconds,
        annotations=kube.checkov_skips(_accepted_findings(app, image)),
    )


def _accepted_findings(app: AppSettings, image: pulumi.Input[str]) -> dict[str, str]:
    """checkov findings this app accepts on purpose, each with its reason (kept on the object)."""
    findings = kube.unpinned_image_finding(image)
    if app.spec.secret_env:
        findings["CKV_K8S_35"] = "the app reads these secrets from env as its manual specifies (secretKeyRef only)"
    return findings


def _with_ephemeral_storage(resources: Resources, storage: str | None) -> Resources:
    if storage is None:
        return resources
    return Resources(
        {**resources.requests, "ephemeral-storage": storage}, {**resources.limits, "ephemeral-storage": storage}
    )


def _footprint(service: ServiceSettings, namespace: str) -> list[tuple[Resources, int]]:
    """(resources per pod, most pods at once) of everything the service runs in NAMESPACE."""
    items = [(app.resources, peak_pods(app)) for app in service.apps.values() if app.spec.namespace == namespace]
    if service.cache is not None and service.cache.spec.namespace == namespace:
        items += [(service.cache.spec.resources, service.cache.replicas), (EXPORTER_RESOURCES, service.cache.replicas)]
    if service.database is not None and service.database.spec.namespace == namespace:
        items.append((service.database.spec.resources, service.database.instances))
    return items


def _quota(service: ServiceSettings, namespace: str) -> Quota:
    """Quota sized from the peak footprint with headroom, unless the stack sets it."""
    footprint = _footprint(service, namespace)

    def total(side: str, resource: str) -> Decimal:
        peak = sum((quantity.parse(getattr(r, side)[resource]) * n for r, n in footprint), Decimal(0))
        return peak * QUOTA_HEADROOM + quantity.parse(getattr(QUOTA_RESERVE, side)[resource])

    override = service.quota or QuotaConfig()
    return Quota(
        requests_cpu=override.requestsCpu or quantity.cpu(total("requests", "cpu")),
        requests_memory=override.requestsMemory or quantity.memory(total("requests", "memory")),
        limits_cpu=override.limitsCpu or quantity.cpu(total("limits", "cpu")),
        limits_memory=override.limitsMemory or quantity.memory(total("limits", "memory")),
        pods=override.pods or sum(n for _, n in footprint) + QUOTA_RESERVE_PODS,
    )
