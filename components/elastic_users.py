"""The log stack's Elasticsearch users (file realm): one per client, each with one least-privilege role.

Kibana's own user comes from ECK; the `elastic` superuser is the human login (Secret `<cluster>-es-elastic-user`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

LOG_INDICES = "logs-platform-*"
"""The log data streams (the shipper writes `logs-platform-default`)."""
RESTORE_SCRATCH_PREFIX = "restore-check-"
"""Indices the restore check restores into (and deletes)."""


@dataclass(frozen=True)
class User:
    """A file-realm user with a generated password and one role."""

    name: str
    role: str
    privileges: Mapping[str, Any]
    """The role's `cluster` and `indices` privileges (Elasticsearch role syntax)."""

    @property
    def secret_name(self) -> str:
        """Its basic-auth Secret (`username`, `password`, `roles`), in the log stack's namespace."""
        return f"{self.name}-user"


SHIPPER = User(
    "log-shipper",
    "log_writer",
    {
        "cluster": ["monitor"],
        "indices": [{"names": [LOG_INDICES], "privileges": ["create_doc", "auto_configure"]}],
    },
)
SNAPSHOT_MANAGER = User(
    "snapshot-manager",
    "snapshot_manager",
    {
        # `manage` registers the repository and restores; the rest register the policies and the template.
        "cluster": ["manage", "manage_slm", "manage_ilm", "manage_index_templates", "monitor_snapshot"],
        "indices": [{"names": [f"{RESTORE_SCRATCH_PREFIX}*"], "privileges": ["all"]}],
    },
)
METRICS = User(
    "metrics-exporter",
    "metrics_reader",
    {"cluster": ["monitor", "monitor_snapshot"], "indices": [{"names": ["*"], "privileges": ["monitor"]}]},
)
USERS = (SHIPPER, SNAPSHOT_MANAGER, METRICS)


def roles_yaml(users: tuple[User, ...] = USERS) -> str:
    """ECK's `roles.yml`: every user's role."""
    return yaml.safe_dump({user.role: dict(user.privileges) for user in users}, sort_keys=True)
