"""The log stack's part of the stack checks (S2-04, S2-05): the names it adds (its snapshot writer role, Kibana's
public host, its namespaces), and what prod keeps of it: its redundancy and a month of daily snapshots. Staging may
run one node and keep fewer days."""

from __future__ import annotations

from services.conventions import KIBANA_HOST_LABEL, LOG_SHIPPING_NAMESPACE, LOGGING_NAMESPACE
from settings.errors import config_key
from settings.models import SNAPSHOTS_OWNER, BackupRole, iam_role_name
from settings.schema import RawSettings

NAMESPACES = (LOGGING_NAMESPACE, LOG_SHIPPING_NAMESPACE)
PROD_NODES = 3
"""A replica of every shard in another zone: losing a node or a zone loses no logs (S2-04)."""
PROD_SNAPSHOT_DAYS = 30
"""Daily copies kept 30 days (X-08, S2-05)."""


def role_names(raw: RawSettings, stack: str) -> list[str]:
    """The IAM role the Elasticsearch nodes write snapshots with, while the log stack is on."""
    return [iam_role_name(stack, SNAPSHOTS_OWNER, BackupRole.SNAPSHOTS)] if raw.logging.enabled else []


def host_labels(raw: RawSettings) -> list[str]:
    """Kibana's public host under the domain, while the log stack is on."""
    return [KIBANA_HOST_LABEL] if raw.logging.enabled else []


def check(raw: RawSettings, production: bool) -> list[str]:
    """PRODUCTION: the stack's environment is prod."""
    logging, key = raw.logging, config_key("logging")
    if not production or not logging.enabled:
        return []
    problems = []
    if logging.nodes < PROD_NODES:
        problems.append(
            f"{key}.nodes: must be at least {PROD_NODES} in prod (a replica of every shard in another zone, "
            f"so that losing a node or a zone loses no logs), got {logging.nodes}"
        )
    if logging.snapshot_retention_days < PROD_SNAPSHOT_DAYS:
        problems.append(
            f"{key}.snapshotRetentionDays: must be at least {PROD_SNAPSHOT_DAYS} in prod (daily snapshots "
            f"are kept a month, X-08), got {logging.snapshot_retention_days}"
        )
    return problems
