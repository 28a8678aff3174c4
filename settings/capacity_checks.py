"""Checks of what a service holds against its namespace's quota: a set quota covers the service's peak, every
volume claim fits (stores, the apps' shared and per-pod volumes), and each volume has the size and class it needs."""

from __future__ import annotations

from decimal import Decimal

from pydantic.alias_generators import to_camel

from components import quantity
from components.redis_server import redis_memory_bytes
from components.tenant_namespace import Quota
from settings.footprint import footprint, peak, volume_claims
from settings.models import AppSettings, ServiceSettings
from settings.schema import QuotaConfig, VolumeConfig

_DEFAULT_QUOTA = Quota(requests_cpu="0", requests_memory="0", limits_cpu="0", limits_memory="0", pods=0)
"""A quota's defaults for what the stack does not size (volume claims)."""


_QUOTA_SIDES = {
    "requests_cpu": ("requests", "cpu", quantity.cpu),
    "requests_memory": ("requests", "memory", quantity.memory),
    "limits_cpu": ("limits", "cpu", quantity.cpu),
    "limits_memory": ("limits", "memory", quantity.memory),
}


def check_quota(path: str, service: ServiceSettings, given: QuotaConfig) -> list[str]:
    """A quota the stack sets holds what the service runs at its peak in each namespace: every app at its HPA
    maximum with a rolling-update surge pod (both colours, the canary), the database and the cache."""
    problems = []
    for field, (side, resource, unit) in _QUOTA_SIDES.items():
        value = getattr(given, field)
        if value is None:
            continue
        namespace, needed = max(
            ((ns, peak(footprint(service, ns), side, resource)) for ns in service.spec.namespaces), key=lambda x: x[1]
        )
        if quantity.parse(value) < needed:
            problems.append(
                f"{path}.{to_camel(field)}: must be at least {unit(needed)} (the {side} of what the service runs at "
                f"its peak in {namespace}: every app at its maximum plus a rolling-update pod, database and "
                f"PgBouncer, cache), got {value}"
            )
    for resource in ("cpu", "memory"):
        request, limit = getattr(given, f"requests_{resource}"), getattr(given, f"limits_{resource}")
        if request and limit and quantity.parse(request) > quantity.parse(limit):
            problems.append(
                f"{path}.requests{resource.title()}: must be <= limits{resource.title()} ({limit}), got {request}"
            )
    if given.pods is not None:
        pods = max(sum(n for _, n in footprint(service, ns)) for ns in service.spec.namespaces)
        if given.pods < pods:
            problems.append(
                f"{path}.pods: must be at least {pods} (the pods the service runs at its peak in one namespace), "
                f"got {given.pods}"
            )
    return problems


def check_volumes(path: str, service: ServiceSettings, given: QuotaConfig) -> list[str]:
    """Every volume claim of a namespace fits its quota (the database's instances and the point-in-time drill's
    scratch copy, the cache's replicas, the apps' volumes), and a cache's volume holds its append-only file while
    it is rewritten."""
    problems = []
    allowed_storage = given.requests_storage or _DEFAULT_QUOTA.requests_storage
    allowed_claims = given.persistent_volume_claims or _DEFAULT_QUOTA.persistent_volume_claims
    for namespace in service.spec.namespaces:
        claims = volume_claims(service, namespace)
        total = sum((quantity.parse(c) for c in claims), Decimal(0))
        if total > quantity.parse(allowed_storage):
            problems.append(
                f"{path}.quota.requestsStorage: must be at least {_size(total)} for the volumes in "
                f"{namespace} (the database's instances and the point-in-time drill's scratch instance, the cache's "
                f"replicas, the apps' volumes at their most pods), got {allowed_storage}: lower storageSize or "
                "volume.size, or raise quota.requestsStorage"
            )
        if len(claims) > allowed_claims:
            problems.append(
                f"{path}.quota.persistentVolumeClaims: must be at least {len(claims)} for the volumes in {namespace}, "
                f"got {allowed_claims}"
            )
    cache = service.cache
    if cache is not None:
        needed = 2 * redis_memory_bytes(cache.spec.maxmemory)
        if quantity.parse(cache.storage_size) < needed:
            problems.append(
                f"{path}.cache.storageSize: must be at least {_size(Decimal(needed))} (twice maxmemory "
                f"{cache.spec.maxmemory}: the append-only file and its rewrite), got {cache.storage_size}"
            )
    return problems


def _size(size: Decimal) -> str:
    """Bytes in whole gibibytes where they are, else mebibytes."""
    return f"{size / 2**30:f}Gi" if size % 2**30 == 0 else quantity.memory(size)


def check_app_volume(path: str, app: AppSettings, given: VolumeConfig | None) -> list[str]:
    """A volume only where the app has one, at least the manual's size."""
    volume = app.volume
    if volume is None:
        return [f"{path}: {app.spec.name} has no volume"] if given is not None else []
    problems = []
    minimum = volume.spec.min_size
    if minimum and quantity.parse(volume.size) < quantity.parse(minimum):
        problems.append(f"{path}.size: must be at least {minimum} (its manual's minimum), got {volume.size}")
    return problems
