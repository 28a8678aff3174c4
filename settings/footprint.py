"""What a service runs at its peak, per namespace: the facts its quota is sized from and checked against."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from components import quantity
from components.kube import Resources
from components.log_follower import RESOURCES as FOLLOWER_RESOURCES
from components.postgres_pooler import POOLER_RESOURCES
from components.redis_cache import EXPORTER_RESOURCES
from settings.models import AppSettings, BlueGreenSettings, CanarySettings, ServiceSettings


def peak_pods(app: AppSettings) -> int:
    """Most pods APP runs at once: every Deployment its delivery keeps, each with one rolling-update surge pod."""
    ceiling = (app.autoscaling.max_replicas if app.autoscaling else app.replicas) + 1
    match app.delivery:
        case BlueGreenSettings(idle_replicas=None):
            return 2 * ceiling
        case BlueGreenSettings(idle_replicas=int(idle)) | CanarySettings(replicas=idle):
            return ceiling + idle + 1
    return ceiling


def pod_resources(app: AppSettings) -> Resources:
    """One of APP's pods: its container, and the log-follower sidecar of an app that writes log files (counted
    whether or not log aggregation is on)."""
    if not any(directory.logs for directory in app.spec.writable_dirs):
        return app.resources
    return Resources(
        _plus(app.resources.requests, FOLLOWER_RESOURCES.requests),
        _plus(app.resources.limits, FOLLOWER_RESOURCES.limits),
    )


def _plus(amounts: Mapping[str, str], more: Mapping[str, str]) -> dict[str, str]:
    added = {"cpu": quantity.cpu, "memory": quantity.memory}
    return {
        key: added[key](quantity.parse(value) + quantity.parse(more[key])) if key in added and key in more else value
        for key, value in amounts.items()
    }


def footprint(service: ServiceSettings, namespace: str) -> list[tuple[Resources, int]]:
    """(resources per pod, most pods at once) of everything the service runs in NAMESPACE."""
    items = [(pod_resources(app), peak_pods(app)) for app in service.apps.values() if app.spec.namespace == namespace]
    if service.cache is not None and service.cache.spec.namespace == namespace:
        items += [(service.cache.spec.resources, service.cache.replicas), (EXPORTER_RESOURCES, service.cache.replicas)]
    if service.database is not None and service.database.spec.namespace == namespace:
        items.append((service.database.resources, service.database.instances))
        if service.database.spec.pooler is not None:  # PgBouncer's pods, one more during a rolling update
            items.append((POOLER_RESOURCES, service.database.spec.pooler.instances + 1))
    return items


def database_clients(service: ServiceSettings) -> int:
    """Connections the service's apps hold to its database at their peak (S0-03): each pod's pool, times the
    most pods each app runs at once (both blue-green colours, the canary, a rolling update's surge)."""
    return sum(peak_pods(app) * app.spec.database_connections for app in service.apps.values())


def peak(items: list[tuple[Resources, int]], side: str, resource: str) -> Decimal:
    """Sum of SIDE (`requests`, `limits`) of RESOURCE over ITEMS at their most pods."""
    return sum((quantity.parse(getattr(r, side)[resource]) * n for r, n in items), Decimal(0))


def volume_claims(service: ServiceSettings, namespace: str) -> list[str]:
    """The size of every volume claim in NAMESPACE at the service's peak: each database instance, the
    point-in-time drill's scratch instance (the database's size), each Redis replica, an app's shared volume
    once and its volume per pod (a generic ephemeral volume's claim) for each of its most pods."""
    claims = []
    for app in service.apps.values():
        if app.spec.namespace == namespace and app.volume is not None:
            claims += [app.volume.size] * (1 if app.volume.spec.shared else peak_pods(app))
    database, cache = service.database, service.cache
    if database is not None and database.spec.namespace == namespace:
        claims += [database.storage_size] * (database.instances + 1)
    if cache is not None and cache.spec.namespace == namespace:
        claims += [cache.storage_size] * cache.replicas
    return claims
