"""Prod cannot lose data through config (X-08, X-09, X-12).

In a stack whose `environment` is prod, a setting that gives up data or its protection is refused unless
`ai-platform:acknowledgeDataLoss` lists that setting: `protectData` off, a service that owns a database or a cache
(and with a database, its backup prefixes and roles) disabled, the monitoring stack (the metrics history) off, log
aggregation (the logs in Elasticsearch) off.
The list must name exactly what the stack gives up: an entry for something the stack keeps is refused too, so an
acknowledgement left behind cannot cover a later change. README: "Retiring a service".
"""

from __future__ import annotations

from collections.abc import Mapping

from services.spec import ServiceSpec
from settings.checks import PRODUCTION
from settings.errors import config_key, key_path, shown
from settings.models import ServiceSettings
from settings.schema import RawSettings

ACKNOWLEDGEMENT_KEY = "acknowledgeDataLoss"
ACKNOWLEDGEMENT = config_key(ACKNOWLEDGEMENT_KEY)


def owned_data(spec: ServiceSpec) -> list[str]:
    """What a service's removal deletes, in words."""
    owned = []
    if spec.database is not None:
        owned.append(f"Postgres database {spec.database.database} with its backup prefixes and roles")
    if spec.cache is not None:
        owned.append("Redis with its volumes")
    return owned


def given_up(raw: RawSettings, services: Mapping[str, ServiceSettings]) -> dict[str, str]:
    """Setting (as `acknowledgeDataLoss` names it) -> what the stack gives up by it; empty outside prod."""
    if raw.environment != PRODUCTION:
        return {}
    lost = {}
    if not raw.protect_data:
        lost["protectData"] = "the protection of every database, cache, bucket and key from deletion and replacement"
    for name, service in services.items():
        owned = owned_data(service.spec)
        if not service.enabled and owned:
            lost[f"services.{name}.enabled"] = f"{name}'s {' and '.join(owned)}"
    if not raw.addons.monitoring:
        lost["addons.monitoring"] = "the Prometheus metrics history on the monitoring stack's volumes"
    if not raw.logging.enabled:
        lost["logging.enabled"] = (
            "the logs in Elasticsearch on the log stack's volumes (its snapshots stay in the backup bucket, no longer "
            "pruned or verified)"
        )
    return lost


def check(raw: RawSettings, services: Mapping[str, ServiceSettings]) -> list[str]:
    """Every setting that gives up data is acknowledged, and nothing else is."""
    lost = given_up(raw, services)
    acknowledged = raw.acknowledge_data_loss
    problems = [
        f"{key_path(tuple(setting.split('.')))}: must stay on in a {PRODUCTION} stack, or be acknowledged in the same "
        f"change after a final backup (README: Retiring a service) with `pulumi config set --path "
        f"'{ACKNOWLEDGEMENT_KEY}[{len(acknowledged)}]' {setting}`; got it off, which gives up {what}"
        for setting, what in lost.items()
        if setting not in acknowledged
    ]
    stale = [entry for entry in acknowledged if entry not in lost]
    if stale:
        problems.append(
            f"{ACKNOWLEDGEMENT}: must list exactly what this stack gives up "
            f"({', '.join(sorted(lost)) or 'nothing'}), so that it cannot cover a later change; remove "
            f"{', '.join(shown(entry) for entry in stale)}"
        )
    if len(set(acknowledged)) != len(acknowledged):
        problems.append(f"{ACKNOWLEDGEMENT}: must list each setting once")
    return problems
