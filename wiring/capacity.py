"""Capacity: what each service namespace may request, sized from what the service runs at its peak."""

from __future__ import annotations

from decimal import Decimal

from components import quantity
from components.kube import Resources
from components.redis_cache import EXPORTER_RESOURCES
from components.tenant_namespace import Quota
from settings import AppSettings, BlueGreenSettings, CanarySettings, QuotaConfig, ServiceSettings

# Quota headroom over the apps' own peak: rolling-update surge, jobs and debugging pods.
QUOTA_HEADROOM = Decimal("1.5")
QUOTA_RESERVE = Resources({"cpu": "2", "memory": "4Gi"}, {"cpu": "4", "memory": "8Gi"})
QUOTA_RESERVE_PODS = 10


def peak_pods(app: AppSettings) -> int:
    """Most pods APP runs at once: every Deployment its delivery keeps, each with one rolling-update surge pod."""
    ceiling = (app.autoscaling.max_replicas if app.autoscaling else app.replicas) + 1
    match app.delivery:
        case BlueGreenSettings(idle_replicas=None):
            return 2 * ceiling
        case BlueGreenSettings(idle_replicas=int(idle)) | CanarySettings(replicas=idle):
            return ceiling + idle + 1
    return ceiling


def footprint(service: ServiceSettings, namespace: str) -> list[tuple[Resources, int]]:
    """(resources per pod, most pods at once) of everything the service runs in NAMESPACE."""
    items = [(app.resources, peak_pods(app)) for app in service.apps.values() if app.spec.namespace == namespace]
    if service.cache is not None and service.cache.spec.namespace == namespace:
        items += [(service.cache.spec.resources, service.cache.replicas), (EXPORTER_RESOURCES, service.cache.replicas)]
    if service.database is not None and service.database.spec.namespace == namespace:
        items.append((service.database.spec.resources, service.database.instances))
    return items


def quota(service: ServiceSettings, namespace: str) -> Quota:
    """Quota sized from the peak footprint with headroom, unless the stack sets it."""
    items = footprint(service, namespace)

    def total(side: str, resource: str) -> Decimal:
        peak = sum((quantity.parse(getattr(r, side)[resource]) * n for r, n in items), Decimal(0))
        return peak * QUOTA_HEADROOM + quantity.parse(getattr(QUOTA_RESERVE, side)[resource])

    override = service.quota or QuotaConfig()
    return Quota(
        requests_cpu=override.requests_cpu or quantity.cpu(total("requests", "cpu")),
        requests_memory=override.requests_memory or quantity.memory(total("requests", "memory")),
        limits_cpu=override.limits_cpu or quantity.cpu(total("limits", "cpu")),
        limits_memory=override.limits_memory or quantity.memory(total("limits", "memory")),
        pods=override.pods or sum(n for _, n in items) + QUOTA_RESERVE_PODS,
    )
