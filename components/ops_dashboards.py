"""Dashboards any service can have beside its own: its alerts (what fired overnight) and its capacity (growth
against what the namespace, the autoscaler and the stores allow). Manual 003 opens them as `/d/alerts` and
`/d/capacity`.

Conventions these rely on: every alert carries `service` (AlertRules), kube-state-metrics reports requests, quotas
and HPAs, kubelet reports volumes, CloudNativePG and the Redis exporter report their stores.
"""

from __future__ import annotations

from components.dashboards import DashboardSpec, PanelSpec, Query, RowSpec, good_below


def alerts_dashboard(uid: str, title: str, service: str) -> DashboardSpec:
    """SERVICE's alerts: firing and pending now, and over the last day."""
    firing = f'ALERTS{{service="{service}",alertstate="firing"}}'
    return DashboardSpec(
        uid,
        title,
        (
            RowSpec(
                "Now",
                (
                    PanelSpec(
                        "Critical firing",
                        (Query(f'count({firing[:-1]},severity="critical"}}) or vector(0)'),),
                        kind="stat",
                        thresholds=good_below(1),
                        width=8,
                    ),
                    PanelSpec(
                        "Firing",
                        (Query(f"count({firing}) or vector(0)"),),
                        kind="stat",
                        thresholds=good_below(1),
                        width=8,
                    ),
                    PanelSpec(
                        "Pending",
                        (Query(f'count(ALERTS{{service="{service}",alertstate="pending"}}) or vector(0)'),),
                        kind="stat",
                        width=8,
                    ),
                ),
            ),
            RowSpec(
                "Last 24 hours",
                (
                    PanelSpec(
                        "Firing alerts by name",
                        (Query(f"count by (alertname, severity) ({firing})", "{{alertname}} ({{severity}})"),),
                        width=24,
                    ),
                ),
            ),
        ),
        f"Alerts of {service}, now and over the last day (the morning review).",
        (service,),
        time_from="now-24h",
    )


def capacity_dashboard(
    uid: str, title: str, service: str, ns: str, traffic: Query, database: str | None = None, redis: bool = False
) -> DashboardSpec:
    """Capacity of SERVICE in namespace NS: TRAFFIC's trend, compute against requests and quota, autoscaling
    headroom, volumes (with where their trend leads in 30 days), and the stores (DATABASE: its CloudNativePG
    cluster)."""
    containers, hpa = f'namespace="{ns}",container!=""', f'namespace="{ns}"'
    per_hpa = "max by (horizontalpodautoscaler)"
    rows = [
        RowSpec(
            "Demand",
            (
                PanelSpec("Traffic", (traffic,), "reqps", width=24),
                PanelSpec(
                    "CPU: used, requested, quota",
                    (
                        Query(f"sum(rate(container_cpu_usage_seconds_total{{{containers}}}[5m]))", "used"),
                        Query(
                            f'sum(kube_pod_container_resource_requests{{namespace="{ns}",resource="cpu"}})', "requested"
                        ),
                        Query(
                            f'max(kube_resourcequota{{namespace="{ns}",resource="requests.cpu",type="hard"}})', "quota"
                        ),
                    ),
                ),
                PanelSpec(
                    "Memory: used, requested, quota",
                    (
                        Query(f"sum(container_memory_working_set_bytes{{{containers}}})", "used"),
                        Query(
                            f'sum(kube_pod_container_resource_requests{{namespace="{ns}",resource="memory"}})',
                            "requested",
                        ),
                        Query(
                            f'max(kube_resourcequota{{namespace="{ns}",resource="requests.memory",type="hard"}})',
                            "quota",
                        ),
                    ),
                    "bytes",
                ),
                PanelSpec(
                    "Autoscaling headroom",
                    (
                        Query(
                            f"{per_hpa} (kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}})\n"
                            f"/ {per_hpa} (kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}})",
                            "{{horizontalpodautoscaler}}",
                        ),
                    ),
                    "percentunit",
                    description="Replicas out of the HPA's maximum: near 100 % the service cannot scale further.",
                    thresholds=good_below(0.8),
                    max=1,
                ),
                PanelSpec(
                    "Volume free in 30 days (linear trend)",
                    (
                        Query(
                            f'predict_linear(kubelet_volume_stats_available_bytes{{namespace="{ns}"}}[7d], 30 * 86400)',
                            "{{persistentvolumeclaim}}",
                        ),
                    ),
                    "bytes",
                    description="Below zero: the volume fills within a month at the last week's pace.",
                ),
            ),
        )
    ]
    stores = []
    if database:
        instances = f'namespace="{ns}",pod=~"{database}-[0-9]+"'
        stores += [
            PanelSpec(
                "Database size and its 30-day trend",
                (
                    Query(f"max(cnpg_pg_database_size_bytes{{{instances}}})", "now"),
                    Query(
                        f"max(predict_linear(cnpg_pg_database_size_bytes{{{instances}}}[7d], 30 * 86400))", "in 30 days"
                    ),
                ),
                "bytes",
            ),
            PanelSpec(
                "Database connections of max_connections",
                (
                    Query(
                        f"sum(cnpg_backends_total{{{instances}}})\n"
                        f'/ max(cnpg_pg_settings_setting{{{instances},name="max_connections"}})'
                    ),
                ),
                "percentunit",
                thresholds=good_below(0.8),
                max=1,
            ),
        ]
    if redis:
        cache = f'namespace="{ns}",job="redis"'
        stores.append(
            PanelSpec(
                "Redis memory of maxmemory",
                (Query(f"max(redis_memory_used_bytes{{{cache}}}) / max(redis_memory_max_bytes{{{cache}}})"),),
                "percentunit",
                thresholds=good_below(0.8),
                max=1,
            )
        )
    if stores:
        rows.append(RowSpec("Stores", tuple(stores)))
    return DashboardSpec(
        uid,
        title,
        tuple(rows),
        f"Capacity of {service}: growth against requests, quota, autoscaling and storage (monthly review).",
        (service,),
        time_from="now-30d",
    )
