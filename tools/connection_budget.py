"""The connection budget of every database (S0-03), computed from a stack's manifests.

Each app pod opens at most as many connections as its Deployment's `ai-platform/database-connections` says (its
pool's ceiling); an app runs at most its HPA's `maxReplicas` (else its `replicas`) plus its rolling update's
surge; both blue-green colours, the canary and the workers count. That demand must leave PostgreSQL headroom:
what `max_connections` leaves after the superuser's reserved connections and the operations' own (the logical
dump, the restore drill, an on-call `psql`), at most 80 % of it. Where the apps connect through a CloudNativePG
Pooler, the database sees only PgBouncer's connections (pods x `max_db_connections`), and each PgBouncer pod must
accept every app connection (`max_client_conn`), should the others be gone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tools import markdown

CONNECTIONS_ANNOTATION = "ai-platform/database-connections"
SUPERUSER_RESERVED = 3
"""PostgreSQL's default `superuser_reserved_connections`."""
OPERATIONS_RESERVE = 10
"""The logical dump, the point-in-time drill, the exporter and an on-call `psql`."""
HEADROOM = 0.8
"""The apps may use at most this share of what is left (S0-07: pool utilisation below 80 %)."""
PART_OF = "app.kubernetes.io/part-of"


@dataclass(frozen=True)
class Pooler:
    name: str
    instances: int
    server_connections: int
    """Per PgBouncer pod, to the database (`max_db_connections`)."""
    client_connections: int
    """Per PgBouncer pod, from the apps (`max_client_conn`)."""


@dataclass(frozen=True)
class Budget:
    """One database's connections at the apps' peak."""

    service: str
    cluster: str
    max_connections: int
    demand: int
    """Connections the apps open at their peak."""
    pooler: Pooler | None

    @property
    def allowed(self) -> int:
        """Connections the apps may hold: 80 % of what the reserves leave."""
        return math.floor((self.max_connections - SUPERUSER_RESERVED - OPERATIONS_RESERVE) * HEADROOM)

    @property
    def database_connections(self) -> int:
        """Connections the database sees from the apps: PgBouncer's, or the apps' own."""
        return self.pooler.instances * self.pooler.server_connections if self.pooler else self.demand

    @property
    def fits(self) -> bool:
        accepted = self.pooler is None or self.pooler.client_connections >= self.demand
        return self.database_connections <= self.allowed and accepted


def budgets(manifests: Iterable[Mapping[str, Any]]) -> list[Budget]:
    """The budget of every CloudNativePG Cluster among MANIFESTS, by the service (`part-of`) of its apps."""
    docs = list(manifests)
    maximum = {
        (doc["metadata"]["namespace"], doc["spec"]["scaleTargetRef"]["name"]): doc["spec"]["maxReplicas"]
        for doc in docs
        if doc["kind"] == "HorizontalPodAutoscaler"
    }
    demand: dict[str, int] = {}
    for doc in docs:
        per_pod = ((doc["metadata"].get("annotations") or {}) if doc["kind"] == "Deployment" else {}).get(
            CONNECTIONS_ANNOTATION
        )
        if per_pod is not None:
            meta = doc["metadata"]
            pods = maximum.get((meta["namespace"], meta["name"]), doc["spec"].get("replicas", 1))
            surge = doc["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
            demand[meta["labels"][PART_OF]] = demand.get(meta["labels"][PART_OF], 0) + (pods + surge) * int(per_pod)
    poolers = {doc["spec"]["cluster"]["name"]: _pooler(doc) for doc in docs if doc["kind"] == "Pooler"}
    return [
        Budget(
            service=doc["metadata"]["labels"][PART_OF],
            cluster=doc["metadata"]["name"],
            max_connections=int(doc["spec"]["postgresql"]["parameters"]["max_connections"]),
            demand=demand.get(doc["metadata"]["labels"][PART_OF], 0),
            pooler=poolers.get(doc["metadata"]["name"]),
        )
        for doc in docs
        if doc["kind"] == "Cluster" and doc["apiVersion"].startswith("postgresql.cnpg.io/")
    ]


def _pooler(doc: Mapping[str, Any]) -> Pooler:
    parameters = doc["spec"]["pgbouncer"]["parameters"]
    return Pooler(
        doc["metadata"]["name"],
        int(doc["spec"].get("instances", 1)),
        int(parameters["max_db_connections"]),
        int(parameters["max_client_conn"]),
    )


def markdown_table(by_stack: Mapping[str, list[Budget]]) -> str:
    """One row per stack and database."""
    header = (
        "stack",
        "service",
        "max_connections",
        "apps may hold (80 %)",
        "app connections at peak",
        "through PgBouncer: database connections (pods x each)",
        "PgBouncer accepts (each pod)",
        "fits",
    )
    rows = []
    for stack, found in by_stack.items():
        for budget in sorted(found, key=lambda b: b.service):
            pooler = budget.pooler
            through = (
                f"{budget.database_connections} ({pooler.instances} x {pooler.server_connections})" if pooler else "—"
            )
            accepts = str(pooler.client_connections) if pooler else "—"
            rows.append(
                (
                    stack,
                    budget.service,
                    str(budget.max_connections),
                    str(budget.allowed),
                    str(budget.demand),
                    through,
                    accepts,
                    "yes" if budget.fits else "**no**",
                )
            )
    return markdown.table(header, rows)
