"""Typed, validated settings of one stack: the only reader of Pulumi config.

`load(catalog)` reads every `ai-platform:*` key, checks each against the schema and against the catalog,
and reports every problem at once, each with its key path and what is allowed, before any resource is
registered; missing secrets are listed with the command that sets them.

    settings/schema.py     the keys as the stack files write them (pydantic, camelCase aliases)
    settings/models.py     the settings the program uses (the catalog's specs with the stack's overrides)
    settings/values.py     what each value may be (Kubernetes, AWS and the tools behind the keys)
    settings/overrides.py  merging the stack's overrides onto the catalog
    settings/checks.py     the checks that need several keys or the catalog, on the merged settings
    settings/footprint.py  what a service runs at its peak (quotas are sized from it and checked against it)
    settings/data_loss.py  what a prod stack may give up only with an acknowledgement
    settings/secrets.py    the secrets a stack needs, and those set for nothing
    settings/reader.py     reading config from Pulumi
    settings/errors.py     how problems are reported
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pulumi
from pydantic import BaseModel, ValidationError

from services.spec import ServiceSpec
from settings import checks, data_loss, overrides, reader, secrets
from settings.errors import PROJECT, STACKS, SettingsError, config_key, describe, shown
from settings.models import (
    AppSettings,
    BlueGreenSettings,
    CacheSettings,
    CanarySettings,
    ClusterCredentials,
    ClusterStack,
    DatabaseSettings,
    MonitoringStackSettings,
    ServiceSettings,
    Settings,
    VolumeSettings,
)
from settings.schema import (
    ClusterConfig,
    LoggingConfig,
    NetworkPolicyConfig,
    QuotaConfig,
    RawSettings,
    ServiceConfig,
)
from settings.secrets import ALERTING_SECRETS

__all__ = [
    "ALERTING_SECRETS",
    "PROJECT",
    "STACKS",
    "AppSettings",
    "BlueGreenSettings",
    "CacheSettings",
    "CanarySettings",
    "ClusterCredentials",
    "ClusterStack",
    "DatabaseSettings",
    "LoggingConfig",
    "MonitoringStackSettings",
    "NetworkPolicyConfig",
    "QuotaConfig",
    "ServiceSettings",
    "Settings",
    "SettingsError",
    "VolumeSettings",
    "load",
    "required_secret_keys",
]

_M = TypeVar("_M", bound=BaseModel)


def load(catalog: Mapping[str, ServiceSpec]) -> Settings:
    """Read, validate and merge this stack's config onto CATALOG; raise SettingsError listing every problem."""
    raw_values, secret_keys = reader.read_values()
    secret = {key for key, qualified in reader.TOP_LEVEL_KEYS.items() if qualified in secret_keys}
    problems = reader.unknown_keys(secrets.known_secret_keys(catalog))
    problems += _plain_keys_set_as_secrets(secret)
    # Services are validated one by one so that a mistake in one still lets the others be checked.
    raw = _validate(RawSettings, {**raw_values, "services": {}}, (), problems, secret)
    problems += _check_environment(raw_values.get("environment"))
    given = _validate_services(catalog, raw_values.get("services"), problems, secret)
    if raw is not None and raw.cluster.kubeconfig and "cluster" not in secret:
        problems.append(f"{config_key('cluster')}.kubeconfig: must be set with --secret")
    # With invalid top-level keys, the overrides are still merged onto the catalog to check them too.
    services = overrides.merge(
        catalog, raw or RawSettings.model_construct(image_registry="", image_tag="", domain=""), given
    )
    problems += checks.check_services(services, given)
    if raw is not None:
        problems += checks.check_stack(raw, services, given, pulumi.get_stack())
        problems += data_loss.check(raw, services)
        if raw.addons.monitoring and raw.alerting is None:
            problems.append(f"{config_key('alerting')}: is required while addons.monitoring is on (where alerts go)")
    monitoring = raw is not None and raw.addons.monitoring
    needed = secrets.requirements(
        catalog,
        [name for name, service in services.items() if service.enabled],
        monitoring=monitoring,
        webhook=bool(raw and raw.alerting and raw.alerting.webhook_url),
    )
    # Which features are on is known only from valid top-level settings.
    for warning in secrets.unused(catalog, needed, monitoring) if raw is not None else []:
        pulumi.log.warn(warning)
    missing = secrets.missing(needed)
    problems += missing.plain
    if raw is None or problems or missing.commands:
        raise SettingsError(problems, missing.commands)
    return _settings(raw, services, {key: reader.require_secret(key) for key in sorted(needed)})


def _plain_keys_set_as_secrets(secret: set[str]) -> list[str]:
    """Only the kubeconfig is a secret among the structured keys: the program uses everything else in plain text
    (names, sizes, addresses, env values), so a secret there would be written where anyone can read it."""
    return [
        f"{config_key(key)}: must be set without --secret: the program writes its values in plain text; credentials "
        "have keys of their own (openaiApiKey, slackApiUrl, ... set with --secret; the kubeconfig: cluster.kubeconfig)"
        for key in sorted(secret - {"cluster"})
    ]


def required_secret_keys(catalog: Mapping[str, ServiceSpec], values: Mapping[str, Any]) -> list[str]:
    """Fully qualified config secrets a stack needs, given its stack-file config VALUES (for offline renders)."""
    return secrets.required_secret_keys(catalog, values)


def _settings(
    raw: RawSettings, services: dict[str, ServiceSettings], values: dict[str, pulumi.Output[str]]
) -> Settings:
    return Settings(
        stack=pulumi.get_stack(),
        environment=raw.environment,
        domain=raw.domain,
        region=raw.region,
        cluster=_cluster(raw.cluster),
        image_registry=raw.image_registry,
        protect_data=raw.protect_data,
        addons=raw.addons,
        backup=raw.backup,
        monitoring=_monitoring(raw, values),
        logging=raw.logging if raw.logging.enabled else None,
        runbook_base_url=raw.monitoring.runbook_base_url or f"https://runbooks.{raw.domain}",
        pin_images=raw.pin_images,
        gateway=raw.gateway,
        tls=raw.tls,
        network_policy=raw.network_policy,
        rbac=raw.rbac,
        dns=raw.dns,
        services=services,
        secrets=values,
    )


def _monitoring(raw: RawSettings, values: dict[str, pulumi.Output[str]]) -> MonitoringStackSettings | None:
    if not raw.addons.monitoring or raw.alerting is None:
        return None
    credentials = {name: values[s.config_key] for name, s in ALERTING_SECRETS.items() if s.config_key in values}
    return MonitoringStackSettings(raw.monitoring, raw.alerting, credentials)


def _cluster(cluster: ClusterConfig) -> ClusterStack | ClusterCredentials:
    if cluster.stack:
        return ClusterStack(cluster.stack, cluster.name or cluster.stack, cluster.name)
    # ClusterConfig's own checks: a name with kubeconfig, the IRSA provider with kubeconfig or context.
    if not (cluster.oidc_provider_arn and cluster.oidc_issuer_url and (cluster.name or cluster.context)):
        raise SettingsError([f"{config_key('cluster')}: incomplete"])
    return ClusterCredentials(
        identifier=cluster.name or cluster.context or "",
        oidc_provider_arn=cluster.oidc_provider_arn,
        oidc_issuer_url=cluster.oidc_issuer_url,
        kubeconfig=pulumi.Output.secret(cluster.kubeconfig) if cluster.kubeconfig else None,
        context=cluster.context,
        name=cluster.name,
    )


def _validate(model: type[_M], value: Any, prefix: tuple[str, ...], problems: list[str], secret: set[str]) -> _M | None:
    try:
        return model.model_validate(value)
    except ValidationError as error:
        problems += describe(error, RawSettings, prefix, secret)
        return None


def _validate_services(
    catalog: Mapping[str, ServiceSpec], given: Any, problems: list[str], secret: set[str]
) -> dict[str, ServiceConfig]:
    if given is None:
        return {}
    if not isinstance(given, dict):
        problems.append(
            f"{config_key('services')}: must be a map of service name to settings, "
            f"got {shown(given, 'services' in secret)}"
        )
        return {}
    problems += overrides.check_names(catalog, given)
    validated = {}
    for name, value in given.items():
        if name in catalog:
            config = _validate(ServiceConfig, value, ("services", name), problems, secret)
            if config is not None:
                validated[name] = config
    return validated


def _check_environment(environment: Any) -> list[str]:
    stack = pulumi.get_stack()
    if stack in STACKS and environment in STACKS and environment != stack:
        return [f"{config_key('environment')}: must match the stack {stack!r}, got {environment!r}"]
    return []
