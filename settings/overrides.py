"""The catalog's specs with this stack's overrides applied, after checking that they name what the catalog knows
(the checks of the merged settings are in settings/checks.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from components import kube
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
    VolumeSettings,
)
from settings.schema import (
    AppConfig,
    CacheConfig,
    ColourImagesConfig,
    DatabaseConfig,
    DeliveryConfig,
    RawSettings,
    ResourceAmounts,
    ResourcesConfig,
    ServiceConfig,
    SmokeTestConfig,
    VolumeConfig,
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
        apps = override.get("apps") if isinstance(override, dict) else None
        for app in apps if isinstance(apps, dict) else {}:
            known = [a.name for a in catalog[name].apps]
            if app not in known:
                problems.append(f"{base}.{name}.apps.{app}: unknown app; allowed are {', '.join(known)}")
    return problems


def merge(catalog: Catalog, raw: RawSettings, overrides: Mapping[str, ServiceConfig]) -> dict[str, ServiceSettings]:
    merged = {}
    tolerations = tuple(t.model_dump(by_alias=True, exclude_none=True) for t in raw.spot.tolerations)
    spot = Scheduling(dict(raw.spot.node_selector), tolerations)
    for name, spec in catalog.items():
        override = overrides.get(name, ServiceConfig())
        apps = {
            app.name: _merge_app(app, override.apps.get(app.name, AppConfig()), raw, spot, _call_urls(spec, app))
            for app in spec.apps
        }
        merged[name] = ServiceSettings(
            spec,
            override.enabled,
            apps,
            override.quota,
            _merge_database(spec.database, override.database),
            _merge_cache(spec.cache, override.cache),
        )
    return merged


def _call_urls(service: ServiceSpec, app: AppSpec) -> dict[str, str]:
    """Env var -> in-cluster URL of each app APP calls (its Service, which the manuals name after the app)."""
    apps = {other.name: other for other in service.apps}
    return {
        variable: f"http://{kube.service_dns_name(callee, apps[callee].namespace)}:{apps[callee].port}"
        for variable, callee in app.calls.items()
    }


def _merge_app(
    spec: AppSpec, override: AppConfig, raw: RawSettings, spot: Scheduling, call_urls: Mapping[str, str]
) -> AppSettings:
    autoscaling = spec.autoscaling
    if autoscaling is not None:
        autoscaling = replace(
            autoscaling,
            min_replicas=override.min_replicas or autoscaling.min_replicas,
            max_replicas=override.max_replicas or autoscaling.max_replicas,
        )
    resources = _merge_resources(spec.resources, override.resources)
    on_spot = spec.spot if override.spot is None else override.spot
    image = override.image or f"{raw.image_registry}/{spec.image_repository}:{raw.image_tag}"
    return AppSettings(
        spec=spec,
        image=image,
        replicas=override.replicas or spec.replicas,
        autoscaling=autoscaling,
        resources=resources,
        env={**spec.env, **(override.env or {}), **call_urls, **_cors_origins(spec, override, raw.domain)},
        scheduling=spot if on_spot else None,
        delivery=_merge_delivery(override.delivery, image),
        volume=_merge_volume(spec, override),
    )


def _merge_volume(spec: AppSpec, override: AppConfig) -> VolumeSettings | None:
    if spec.volume is None:
        return None
    given = override.volume or VolumeConfig()
    return VolumeSettings(spec.volume, given.size or spec.volume.size, given.storage_class or spec.volume.storage_class)


def _cors_origins(spec: AppSpec, override: AppConfig, domain: str) -> dict[str, str]:
    """The app's allowed browser origins (S1-03 `CORS_ORIGINS`): `corsOrigins`, else its own public origin."""
    if spec.cors_origins_env is None:
        return {}
    origins = override.cors_origins or [f"https://{spec.public_host(domain)}"]
    return {spec.cors_origins_env: ",".join(origins)}


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
        spec,
        override.instances or spec.instances,
        override.storage_size or spec.storage_size,
        override.storage_class,
        _merge_resources(spec.resources, override.resources),
    )


def _merge_cache(spec: CacheSpec | None, override: CacheConfig | None) -> CacheSettings | None:
    if spec is None:
        return None
    override = override or CacheConfig()
    return CacheSettings(
        spec, override.replicas or spec.replicas, override.storage_size or spec.storage_size, override.storage_class
    )


def _merge_resources(base: Resources, override: ResourcesConfig | None) -> Resources:
    """BASE with the amounts OVERRIDE sets."""
    if override is None:
        return base
    return Resources(_merge_amounts(base.requests, override.requests), _merge_amounts(base.limits, override.limits))


def _merge_amounts(base: Mapping[str, str], override: ResourceAmounts | None) -> dict[str, str]:
    merged = dict(base)
    if override is not None:
        merged.update({k: v for k, v in override.model_dump().items() if v is not None})
    return merged
