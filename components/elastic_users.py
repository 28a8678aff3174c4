"""The log stack's Elasticsearch users (file realm): one per client, each with one least-privilege role.

Kibana's own user comes from ECK; the `elastic` superuser is the human login (Secret `<cluster>-es-elastic-user`).
On-call runs the manuals' calls as OPERATOR from inside an Elasticsearch pod, whose container has its password as a
read-only file (components/elastic_pods.py), so no Secret leaves the cluster and no Role reads one (X-16).
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
RESTORED_PREFIX = "restored-"
"""What on-call restores into (`rename_replacement`), to check before anything replaces the live logs."""


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
OPERATOR = User(
    "log-operator",
    "log_operator",
    {
        # Cluster health and the SLM policy (read), snapshots and their status (read); taking the daily snapshot now
        # (the policy's own name and retention) and restoring one: the two actions by name, so no `manage` (which
        # would also register repositories, i.e. copy the logs anywhere) and no snapshot deletion. An action name is
        # matched as a prefix: `.../execute` also runs the policy's retention (`execute_retention`), nothing else.
        "cluster": [
            "monitor",
            "monitor_snapshot",
            "read_slm",
            "cluster:admin/slm/execute",
            "cluster:admin/snapshot/restore",
        ],
        # Counting and reading what a restore brought back; the live logs stay Kibana's.
        "indices": [{"names": [f"{RESTORED_PREFIX}*"], "privileges": ["read", "view_index_metadata"]}],
    },
)
USERS = (SHIPPER, SNAPSHOT_MANAGER, METRICS, OPERATOR)


def roles_yaml(users: tuple[User, ...] = USERS) -> str:
    """ECK's `roles.yml`: every user's role."""
    return yaml.safe_dump({user.role: dict(user.privileges) for user in users}, sort_keys=True)
