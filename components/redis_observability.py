"""What a RedisCache is watched with: reachable (S1-08), and its dashboard row.

Convention this relies on (RedisCache keeps it): its ServiceMonitor sets `job="redis"`.
"""

from __future__ import annotations

from components.alert_rules import Alert, Scenario
from components.alert_scenarios import SAMPLES, gauge, series
from components.dashboards import PanelSpec, Query, RowSpec, good_above


def redis_down(ns: str, name: str = "redis") -> Alert:
    """S1-08 `RedisConnectionFailure`, for every service with Redis."""
    up = {"job": "redis", "namespace": ns, "pod": f"{name}-0"}
    return Alert(
        "RedisConnectionFailure",
        f'up{{job="redis",namespace="{ns}"}} == 0',
        "1m",
        "critical",
        "Redis connection failure",
        "Cannot connect to Redis pod {{ $labels.pod }} in {{ $labels.namespace }}.",
        (
            Scenario({series("up", up): gauge(0)}, "5m", True, up),
            Scenario({series("up", up): f"1x4 0x{SAMPLES}"}, "5m", False),
        ),
    )


def redis_row(ns: str) -> RowSpec:
    redis = f'namespace="{ns}",job="redis"'
    return RowSpec(
        "Redis",
        (
            PanelSpec("Redis up", (Query(f"min(up{{{redis}}})"),), "bool", "stat", thresholds=good_above(1), width=6),
            PanelSpec("Clients", (Query(f"sum(redis_connected_clients{{{redis}}})"),), "short", "stat", width=6),
            PanelSpec("Memory", (Query(f"sum(redis_memory_used_bytes{{{redis}}})"),), "bytes", width=6),
            PanelSpec(
                "Commands per second",
                (Query(f"sum(rate(redis_commands_processed_total{{{redis}}}[5m]))"),),
                "ops",
                width=6,
            ),
        ),
    )
