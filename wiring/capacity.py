"""Capacity: what each service namespace may request, sized from what the service runs at its peak."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from components import quantity
from components.kube import Resources
from components.tenant_namespace import Quota
from settings import LoggingConfig, QuotaConfig, ServiceSettings
from settings.footprint import footprint, peak

# Quota headroom over the apps' own peak: rolling-update surge, jobs and debugging pods.
QUOTA_HEADROOM = Decimal("1.5")
QUOTA_RESERVE = Resources({"cpu": "2", "memory": "4Gi"}, {"cpu": "4", "memory": "8Gi"})
QUOTA_RESERVE_PODS = 10


def quota(service: ServiceSettings, namespace: str) -> Quota:
    """Quota sized from the peak footprint with headroom, unless the stack sets it."""
    items = footprint(service, namespace)

    def total(side: str, resource: str) -> Decimal:
        return peak(items, side, resource) * QUOTA_HEADROOM + quantity.parse(getattr(QUOTA_RESERVE, side)[resource])

    override = service.quota or QuotaConfig()
    sized = Quota(
        requests_cpu=override.requests_cpu or quantity.cpu(total("requests", "cpu")),
        requests_memory=override.requests_memory or quantity.memory(total("requests", "memory")),
        limits_cpu=override.limits_cpu or quantity.cpu(total("limits", "cpu")),
        limits_memory=override.limits_memory or quantity.memory(total("limits", "memory")),
        pods=override.pods or sum(n for _, n in items) + QUOTA_RESERVE_PODS,
    )
    return replace(
        sized,
        requests_storage=override.requests_storage or sized.requests_storage,
        persistent_volume_claims=override.persistent_volume_claims or sized.persistent_volume_claims,
    )


def log_stack_quota(config: LoggingConfig) -> Quota:
    """The log stack's namespace: Elasticsearch's nodes and Kibana, plus a reserve for the exporter, the snapshot
    jobs and a surge pod; room to grow every data volume to twice its size."""
    gib = Decimal(2**30)
    memory = quantity.parse(config.memory) * config.nodes + gib * config.kibana_replicas
    cpu = quantity.parse(config.cpu) * config.nodes + config.kibana_replicas
    storage = quantity.parse(config.storage_size) * config.nodes * 2
    return Quota(
        requests_cpu=quantity.cpu(cpu + 1),
        requests_memory=quantity.memory(memory + gib),
        limits_cpu=quantity.cpu(cpu + 2),
        limits_memory=quantity.memory(memory + gib),
        pods=config.nodes + config.kibana_replicas + QUOTA_RESERVE_PODS,
        persistent_volume_claims=config.nodes + 2,
        requests_storage=quantity.memory(storage),
    )
