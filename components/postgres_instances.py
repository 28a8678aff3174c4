"""The instances of a PostgresCluster: their postgresql.conf parameters, volumes and placement in the Cluster
manifest, their ports, and the PodMonitor that scrapes them (S0-03, S1-08, S1-10, S3-04, S4-05).

The PodMonitor sets `job="postgres"`, so the manuals' `up{job="postgres"}` works; it replaces the deprecated
`spec.monitoring.enablePodMonitor`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components import kube

METRICS_PORT = 9187
METRICS_PORT_NAME = "metrics"  # CNPG's name for the exporter port 9187 of every instance
STATUS_PORT = 8000


def instance_selector(cluster: str) -> dict[str, str]:
    """Selects the instances of CLUSTER (CloudNativePG's labels), not its jobs."""
    return {"cnpg.io/cluster": cluster, "cnpg.io/podRole": "instance"}


def postgresql_parameters(configured: Mapping[str, str], pg_stat_statements: bool) -> dict[str, str]:
    """postgresql.conf parameters: the CONFIGURED ones, and pg_stat_statements' when it is on."""
    result = dict(configured)
    if pg_stat_statements:
        # Any pg_stat_statements.* parameter makes CNPG preload the library and create the extension.
        result.setdefault("pg_stat_statements.max", "10000")
        result.setdefault("pg_stat_statements.track", "all")
    return result


def storage_spec(size: str, storage_class: str | None) -> dict[str, str]:
    """A Cluster's `storage` or `walStorage`; no StorageClass uses the cluster default."""
    spec = {"size": size}
    if storage_class:
        spec["storageClass"] = storage_class
    return spec


def placement(cluster: str, instances: int) -> dict[str, Any]:
    """Cluster spec fields that put each of several instances on a node of its own, spread over zones."""
    if instances <= 1:
        return {}
    return {
        "affinity": {"enablePodAntiAffinity": True, "topologyKey": "kubernetes.io/hostname"},
        # Stricter than kube.zone_spread: a volume pins its instance to a zone for life, so the
        # first placement must already spread the instances over zones.
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": instance_selector(cluster)},
            }
        ],
    }


def pod_monitor_spec(cluster: str) -> dict[str, Any]:
    """The PodMonitor of CLUSTER's instances: their metrics port, with `job="postgres"`."""
    return {
        "selector": {"matchLabels": instance_selector(cluster)},
        "podTargetLabels": ["cnpg.io/cluster"],
        "podMetricsEndpoints": [kube.scrape_endpoint(METRICS_PORT_NAME, job="postgres")],
    }
