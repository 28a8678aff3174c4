"""PostgresPooler: PgBouncer in front of a PostgresCluster (a CloudNativePG `Pooler`), so that many app
connections share a few database connections (S0-03: the apps' pools at their peak exceed `max_connections`).

- `Pooler` `<cluster>-pooler` (its Service has the same name, port 5432): transaction pooling, so a server
  connection serves one transaction and then the next client; at most `server_connections` per PgBouncer pod to
  the database, `client_connections` accepted from the apps; prepared statements kept across transactions
  (PgBouncer 1.21+), which the apps' drivers use. TLS towards the apps (the cluster's server certificate) and
  towards PostgreSQL, and the apps' own logins (CloudNativePG's `auth_query` integration) are CloudNativePG's.
- `PodMonitor` `<cluster>-pooler`: scrapes PgBouncer's exporter (`cnpg_pgbouncer_*`, port 9127).

The apps' connection Secret points at the pooler's Service instead of `<cluster>-rw` (PostgresClusterArgs
`app_service`); jobs that need a session (dumps, the restore drill) keep connecting to the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import kube
from components.kube import Resources

POOLER_PORT = 5432
METRICS_PORT = 9127
METRICS_PORT_NAME = "metrics"
PREPARED_STATEMENTS = 200
"""Prepared statements PgBouncer tracks per connection (asyncpg and psycopg prepare theirs)."""
POOLER_RESOURCES = Resources({"cpu": "100m", "memory": "64Mi"}, {"cpu": "1", "memory": "256Mi"})


def pooler_name(cluster: str) -> str:
    """The Pooler (and its Service) of CLUSTER."""
    return f"{cluster}-pooler"


def pooler_selector(cluster: str) -> dict[str, str]:
    """Selects the PgBouncer pods of CLUSTER's pooler (CloudNativePG's label)."""
    return {"cnpg.io/poolerName": pooler_name(cluster)}


@dataclass(frozen=True)
class PostgresPoolerArgs:
    """The cluster to pool and how many connections on each side."""

    namespace: pulumi.Input[str]
    """Namespace of the cluster (a Pooler lives beside its Cluster)."""
    cluster: str
    """Name of the CloudNativePG Cluster."""
    server_connections: int
    """Most connections each PgBouncer pod opens to the database (`max_db_connections`, also its pool size)."""
    client_connections: int
    """Most app connections each PgBouncer pod accepts (`max_client_conn`): all of them, should one pod get all."""
    instances: int = 2
    """PgBouncer pods, spread over zones."""
    resources: Resources = POOLER_RESOURCES
    """Requests and limits of each PgBouncer container."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on the Pooler, the PodMonitor and the PgBouncer pods (e.g. `app.kubernetes.io/part-of`)."""

    def __post_init__(self) -> None:
        for what, value in (("instances", self.instances), ("server_connections", self.server_connections)):
            if value < 1:
                raise ValueError(f"PostgresPoolerArgs: {what} must be >= 1, got {value}")
        if self.client_connections < self.server_connections:
            raise ValueError("PostgresPoolerArgs: client_connections below server_connections would pool nothing")


class PostgresPooler(pulumi.ComponentResource):
    """A CloudNativePG Pooler (PgBouncer, transaction pooling) and the PodMonitor of its exporter."""

    name: str
    """Name of the Pooler and of its Service."""
    selector: dict[str, str]
    """Selects the PgBouncer pods, for NetworkPolicies."""
    port: int
    metrics_port: int
    pooler: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: PostgresPoolerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:postgres_pooler:PostgresPooler", name, None, opts)
        child = kube.child_options(self, opts)
        self.name, self.selector = pooler_name(args.cluster), pooler_selector(args.cluster)
        self.port, self.metrics_port = POOLER_PORT, METRICS_PORT
        labels = {**kube.app_labels(self.name, component="database-pooler"), **args.labels}
        self.pooler = k8s.apiextensions.CustomResource(
            f"{name}-pgbouncer",
            api_version="postgresql.cnpg.io/v1",
            kind="Pooler",
            metadata=kube.metadata(self.name, args.namespace, labels),
            spec=pooler_spec(args),
            opts=child,
        )
        kube.pod_monitor(
            f"{name}-pod-monitor",
            self.name,
            args.namespace,
            labels,
            {
                "selector": {"matchLabels": self.selector},
                "podTargetLabels": ["cnpg.io/poolerName"],
                "podMetricsEndpoints": [kube.scrape_endpoint(METRICS_PORT_NAME, job="pgbouncer")],
            },
            child,
        )
        self.register_outputs({"poolerName": self.name})


def pooler_spec(args: PostgresPoolerArgs) -> dict[str, Any]:
    """The Pooler's spec: PgBouncer in transaction mode in front of the cluster's primary."""
    return {
        "cluster": {"name": args.cluster},
        "instances": args.instances,
        "type": "rw",
        "pgbouncer": {
            "poolMode": "transaction",
            "parameters": {
                "max_client_conn": str(args.client_connections),
                "max_db_connections": str(args.server_connections),
                "default_pool_size": str(args.server_connections),
                "max_prepared_statements": str(PREPARED_STATEMENTS),
            },
        },
        "template": {
            "metadata": {"labels": dict(args.labels)},
            "spec": {
                "containers": [{"name": "pgbouncer", "resources": kube.resources(args.resources)}],
                "topologySpreadConstraints": kube.zone_spread(pooler_selector(args.cluster)),
            },
        },
    }
