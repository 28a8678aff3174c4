"""The catalog's specs with this stack's overrides applied, and the checks that need several keys or the
catalog: names the catalog knows, scaling bounds, requests within limits, delivery keys per strategy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pydantic.alias_generators import to_camel

from components import quantity
from components.app_deployment import Resources
from components.scheduling import Scheduling
from services.spec import AppSpec, CacheSpec, DatabaseSpec, ServiceSpec
from settings.errors import config_key
from settings.models import (
    AppSettings,
    BlueGreenSettings,
    CacheSettings,
    CanarySettings,
    DatabaseSettings,
    ServiceSettings,
)
from settings.schema import (
    REQUIRED_STRATEGY_KEYS,
    STRATEGY_KEYS,
    AppConfig,
    CacheConfig,
    ColourImagesConfig,
    DatabaseConfig,
    DeliveryConfig,
    RawSettings,
    ResourceAmounts,
    ServiceConfig,
    SmokeTestConfig,
)

Catalog = Mapping[str, ServiceSpec]
SERVICES_KEY = config_key("services")


def check_names(catalog: Catalog, services: dict[str, Any]) -> list[str]:
    """Service and app names must be the catalog's (named as the manuals name them)."""
    problems = []
    base = SERVICES_KEY
    for name, override in services.items():
        if name not in catalog:
            problems.append(f"{base}.{name}: unknown service; allowed are {', '.join(catalog)}")
            continue
        apps = (override or {}).get("apps") if isinstance(override, dict) else None
        for app in apps or {}:
            known = [a.name for a in catalog[name].apps]
            if app not in known:
                problems.append(f"{base}.{name}.apps.{app}: unknown app; allowed are {', '.join(known)}")
    return problems


def merge(catalog: Catalog, raw: RawSettings, overrides: Mapping[str, ServiceConfig]) -> dict[str, ServiceSettings]:
    merged = {}
    spot = Scheduling(dict(raw.spot.node_selector), tuple(raw.spot.tolerations))
    for name, spec in catalog.items():
        override = overrides.get(name, ServiceConfig())
        apps = {app.name: _merge_app(app, override.apps.get(app.name, AppConfig()), raw, spot) for app in spec.apps}
        merged[name] = ServiceSettings(
            spec,
            override.enabled,
            apps,
            override.quota,
            _merge_database(spec.database, override.database),
            _merge_cache(spec.cache, override.cache),
        )
    return merged


def _merge_app(spec: AppSpec, override: AppConfig, raw: RawSettings, spot: Scheduling) -> AppSettings:
    autoscaling = spec.autoscaling
    if autoscaling is not None:
        autoscaling = replace(
            autoscaling,
            min_replicas=override.min_replicas or autoscaling.min_replicas,
            max_replicas=override.max_replicas or autoscaling.max_replicas,
        )
    resources = spec.resources
    if override.resources is not None:
        resources = Resources(
            _merge_amounts(spec.resources.requests, override.resources.requests),
            _merge_amounts(spec.resources.limits, override.resources.limits),
        )
    on_spot = spec.spot if override.spot is None else override.spot
    image = override.image or f"{raw.image_registry}/{spec.image_repository}:{raw.image_tag}"
    return AppSettings(
        spec=spec,
        image=image,
        replicas=override.replicas or spec.replicas,
        autoscaling=autoscaling,
        resources=resources,
        env={**spec.env, **(override.env or {})},
        scheduling=spot if on_spot else None,
        delivery=_merge_delivery(override.delivery, image),
    )


def _merge_delivery(override: DeliveryConfig | None, image: str) -> BlueGreenSettings | CanarySettings | None:
    """The app's delivery strategy; a colour or canary without its own image runs the app's image."""
    if override is None or override.strategy == "rolling":
        return None
    if override.strategy == "blue-green":
        images = override.images or ColourImagesConfig()
        return BlueGreenSettings(
            active=override.active or "blue",
            images={"blue": images.blue or image, "green": images.green or image},
            idle_replicas=override.idle_replicas,
            smoke_test=override.smoke_test or SmokeTestConfig(),
        )
    return CanarySettings(
        image=override.canary_image or image,
        weight=override.weight or 0,
        replicas=1 if override.canary_replicas is None else override.canary_replicas,
    )


def _merge_database(spec: DatabaseSpec | None, override: DatabaseConfig | None) -> DatabaseSettings | None:
    if spec is None:
        return None
    override = override or DatabaseConfig()
    return DatabaseSettings(
        spec, override.instances or spec.instances, override.storage_size or spec.storage_size, override.storage_class
    )


def _merge_cache(spec: CacheSpec | None, override: CacheConfig | None) -> CacheSettings | None:
    if spec is None:
        return None
    override = override or CacheConfig()
    return CacheSettings(
        spec, override.replicas or spec.replicas, override.storage_size or spec.storage_size, override.storage_class
    )


def _merge_amounts(base: Mapping[str, str], override: ResourceAmounts | None) -> dict[str, str]:
    merged = dict(base)
    if override is not None:
        merged.update({k: v for k, v in override.model_dump().items() if v is not None})
    return merged


def check_merged(services: Mapping[str, ServiceSettings], overrides: Mapping[str, ServiceConfig]) -> list[str]:
    problems = []
    for name, service in services.items():
        for store, kind in (("database", "Postgres"), ("cache", "Redis")):
            if getattr(service, store) is None and name in overrides and getattr(overrides[name], store):
                problems.append(f"{SERVICES_KEY}.{name}.{store}: {name} has no {kind} in its manual")
        for app_name, app in service.apps.items():
            path = f"{SERVICES_KEY}.{name}.apps.{app_name}"
            given = overrides[name].apps.get(app_name) if name in overrides else None
            problems += _check_scaling(path, app, given.model_fields_set if given else set())
            problems += _check_requests_within_limits(path, app)
            problems += _check_delivery(f"{path}.delivery", app, given.delivery if given else None)
            clash = sorted(set(app.env) & set(app.spec.secret_env))
            if clash:
                problems.append(f"{path}.env: {', '.join(clash)} come from Secrets and cannot be set as plain env")
    return problems


def check_replication(raw: RawSettings) -> list[str]:
    """The backup copy must survive the loss of the bucket's region, and its derived name must be valid."""
    replication = raw.backup.replication
    if replication is None:
        return []
    key = f"{config_key('backup')}.replication.region"
    problems = []
    if replication.region == raw.region:
        problems.append(f"{key}: must be another region than aws:region ({raw.region}), got {replication.region!r}")
    replica = f"{raw.backup.bucket_name}-replica"
    if len(replica) > 63:
        problems.append(
            f"{config_key('backup')}.bucketName: the replica bucket {replica!r} would be longer than 63 characters; "
            "use a bucket name of at most 55"
        )
    return problems


def _check_scaling(path: str, app: AppSettings, override: set[str]) -> list[str]:
    scaling = app.autoscaling
    if scaling is None and ({"min_replicas", "max_replicas"} & set(override)):
        return [f"{path}: this app is not autoscaled; set replicas instead of minReplicas/maxReplicas"]
    if scaling is not None and "replicas" in override:
        return [f"{path}.replicas: this app is autoscaled (the HPA owns replicas); set minReplicas/maxReplicas"]
    if scaling is not None and scaling.min_replicas > scaling.max_replicas:
        return [f"{path}.minReplicas: must be <= maxReplicas ({scaling.max_replicas}), got {scaling.min_replicas}"]
    return []


def _check_delivery(path: str, app: AppSettings, given: DeliveryConfig | None) -> list[str]:
    """Each strategy takes only its own keys, and needs the ones it cannot guess."""
    if given is None:
        return []
    strategy, chosen = given.strategy, given.model_fields_set - {"strategy"}
    problems = [
        f"{path}.{to_camel(key)}: only applies to strategy {_strategy_of(key)}, not {strategy}"
        for key in sorted(chosen - STRATEGY_KEYS[strategy])
    ]
    problems += [
        f"{path}.{to_camel(key)}: is required for strategy {strategy}"
        for key in sorted(REQUIRED_STRATEGY_KEYS.get(strategy, set()) - chosen)
    ]
    if strategy == "canary" and not app.spec.public:
        problems.append(f"{path}.strategy: canary splits public traffic at the Gateway; {app.spec.name} is not public")
    canary = app.delivery
    if isinstance(canary, CanarySettings) and canary.weight > 0 and canary.replicas == 0:
        problems.append(f"{path}.canaryReplicas: must be >= 1 while weight is above 0, got 0")
    return problems


def _strategy_of(key: str) -> str:
    return next(strategy for strategy, keys in STRATEGY_KEYS.items() if key in keys)


def _check_requests_within_limits(path: str, app: AppSettings) -> list[str]:
    problems = []
    for resource, request in app.resources.requests.items():
        limit = app.resources.limits.get(resource)
        if limit is not None and quantity.parse(request) > quantity.parse(limit):
            problems.append(f"{path}.resources.requests.{resource}: must be <= the limit {limit}, got {request}")
    return problems
