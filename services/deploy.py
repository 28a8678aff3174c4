"""Wiring: turn the validated settings of each enabled service into components."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pulumi

from components import kube, quantity
from components.app_deployment import AppDeployment, AppDeploymentArgs, Resources
from components.app_secret import AppSecret, AppSecretArgs
from components.redis_cache import EXPORTER_RESOURCES
from components.tenant_namespace import Quota, TenantNamespace, TenantNamespaceArgs
from providers import Providers
from services.data import deploy_cache
from settings import AppSettings, QuotaConfig, ServiceSettings, Settings

# Quota headroom over the apps' own peak: rolling-update surge, jobs and debugging pods.
QUOTA_HEADROOM = Decimal("1.5")
QUOTA_RESERVE = Resources({"cpu": "2", "memory": "4Gi"}, {"cpu": "4", "memory": "8Gi"})
QUOTA_RESERVE_PODS = 10


def deploy_platform(settings: Settings, providers: Providers) -> dict[str, Any]:
    """Declare every enabled service; returns the stack outputs."""
    services = {
        service.spec.name: deploy_service(service, settings, providers) for service in settings.enabled_services
    }
    return {"environment": settings.environment, "services": services}


def deploy_service(service: ServiceSettings, settings: Settings, providers: Providers) -> dict[str, Any]:
    opts = pulumi.ResourceOptions(provider=providers.kubernetes)
    spec = service.spec
    namespaces = {
        name: TenantNamespace(
            name,
            TenantNamespaceArgs(quota=_quota(service, name), labels={"app.kubernetes.io/part-of": spec.name}),
            opts,
        )
        for name in spec.namespaces
    }
    for secret in spec.secrets:
        for namespace in secret.namespaces:
            AppSecret(
                f"{namespace}-{secret.name}",
                AppSecretArgs(
                    namespace=namespaces[namespace].namespace.metadata.name,
                    secret_name=secret.name,
                    values={key: settings.secrets[source.config_key] for key, source in secret.from_config.items()},
                    generated=dict(secret.generated),
                    labels={"app.kubernetes.io/part-of": spec.name},
                ),
                opts,
            )
    if service.cache is not None:
        deploy_cache(service, namespaces[service.cache.spec.namespace].namespace.metadata.name, opts)
    apps = {
        name: AppDeployment(name, app_args(app, namespaces[app.spec.namespace], spec.name), opts)
        for name, app in service.apps.items()
    }
    return {
        "namespaces": list(spec.namespaces),
        "apps": {name: {"namespace": app.spec.namespace, "url": apps[name].url} for name, app in service.apps.items()},
    }


def app_args(app: AppSettings, namespace: TenantNamespace, part_of: str) -> AppDeploymentArgs:
    spec = app.spec
    return AppDeploymentArgs(
        namespace=namespace.namespace.metadata.name,
        image=app.image,
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
        annotations=kube.checkov_skips(_accepted_findings(app)),
    )


def _accepted_findings(app: AppSettings) -> dict[str, str]:
    """checkov findings this app accepts on purpose, each with its reason (kept on the object)."""
    findings = {}
    if "@sha256:" not in app.image:
        findings["CKV_K8S_43"] = "tag-pinned release image; set ai-platform:pinImages to deploy by digest"
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
    items = [
        # An app's ceiling plus one rolling-update surge pod.
        (app.resources, (app.autoscaling.max_replicas if app.autoscaling else app.replicas) + 1)
        for app in service.apps.values()
        if app.spec.namespace == namespace
    ]
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
