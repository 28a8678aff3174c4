"""Alerts and dashboards of every service (X-10, X-11, S0-05..07, S1-08, S1-11, S2-06/07, S3-05/06, S4-09).

Each alert sits next to the scenarios that prove it: input series and whether the alert fires at a
given time. The promtool conformance test replays every scenario, so a threshold, `for` or label
changed here without its scenario fails the build.

Metric names are the manuals' where they give them. Where a manual's expression is global, it is
scoped to the service's namespace. Conventions the rest of the program must keep for these alerts:
- the Postgres PodMonitor sets `job="postgres"` and the Redis ServiceMonitor `job="redis"` (the
  manuals' `up{job=...}` alerts), each in the service's namespace;
- a service's database is the CloudNativePG cluster `<service>-db` (services.common); its logical dump CronJob is
  `<cluster>-logical-dump` and its restore check CronJob `<cluster>-restore-check` (PostgresCluster);
- an app's ServiceMonitor job is its Service name (the AppDeployment default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from components.alert_rules import AlertSpec
from components.dashboards import DashboardSpec, PanelSpec, Query, RowSpec, Threshold, good_above, good_below
from components.monitoring_stack import RECEIVER_BY_SEVERITY
from components.pitr_drill import drill_names
from services.common import database_cluster

# S1-11: these services' alerts also go to the webhook receiver.
WEBHOOK_SERVICES = ("agent-skeptic-bench",)

# X-09 / S3-11: database RPO 1 h (continuous WAL archiving), daily base backups and dumps, weekly restore check
# and point-in-time restore drill.
RPO_SECONDS = 3600
DAILY_WITH_SLACK_SECONDS = 26 * 3600
WEEKLY_WITH_SLACK_SECONDS = 8 * 86400

# Long enough for every scenario's evaluation time (1-minute samples).
_SAMPLES = 240

# Exposed by the Barman Cloud plugin; it replaces the in-core `cnpg_collector_*` backup metrics.
BACKUP_TIMESTAMP = "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp"

# S0-07: database query time below 100 ms, connection pool utilisation below 80 %.
DB_DASHBOARD_TARGETS = {"query_seconds": 0.1, "pool_utilisation": 0.8}


@dataclass(frozen=True)
class Scenario:
    """A promtool case: input series, and what the alert does at `at`."""

    series: Mapping[str, str]
    """Series selector -> values in promtool notation, one sample a minute."""
    at: str
    """Evaluation time, e.g. `10m`."""
    fires: bool
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels the firing alert takes from its series (severity, service and alertname come on top)."""
    value: str = ""
    """How `{{ $value ... }}` renders in the annotations when it fires."""


@dataclass(frozen=True)
class Alert:
    """An alert of one service with the scenarios that prove it."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    scenarios: tuple[Scenario, ...]
    labels: Mapping[str, str] = field(default_factory=dict)

    def spec(self, service: str, runbook_base_url: str) -> AlertSpec:
        return AlertSpec(
            name=self.name,
            expr=self.expr,
            for_=self.for_,
            severity=self.severity,
            summary=self.summary,
            description=self.description,
            runbook_url=runbook_url(runbook_base_url, service, self.name),
            labels=dict(self.labels),
        )


@dataclass(frozen=True)
class ServiceObservability:
    """What one service is watched with."""

    service: str
    namespace: str
    """Namespace of its PrometheusRule and dashboard ConfigMaps."""
    alerts: tuple[Alert, ...]
    dashboards: tuple[DashboardSpec, ...]


def runbook_url(base_url: str, service: str, alert: str) -> str:
    """`<base>/<service>/<alert>`, e.g. `https://runbooks.example.com/docc2context/ServiceDown`."""
    return f"{base_url.rstrip('/')}/{service}/{alert}"


# ---------------------------------------------------------------------------------------------------------
# Scenario helpers


def _num(value: float) -> str:
    """A number in promtool's series notation (which reads `e+09` as an increment)."""
    return str(int(value)) if float(value).is_integer() else f"{value:.6f}".rstrip("0")


def _counter(per_minute: float) -> str:
    return f"0+{_num(per_minute)}x{_SAMPLES}"


def _gauge(value: float) -> str:
    return f"{_num(value)}x{_SAMPLES}"


def _series(metric: str, labels: Mapping[str, str]) -> str:
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _at(for_minutes: int, extra: int = 5) -> str:
    return f"{for_minutes + extra}m"


# ---------------------------------------------------------------------------------------------------------
# Alerts shared by several services


def _database_down(ns: str, service: str) -> Alert:
    """S1-08 `DatabaseConnectionFailure`, for every service with Postgres."""
    up = {"job": "postgres", "namespace": ns, "pod": f"{database_cluster(service)}-1"}
    return Alert(
        "DatabaseConnectionFailure",
        f'up{{job="postgres",namespace="{ns}"}} == 0',
        "1m",
        "critical",
        "Database connection failure",
        "Cannot connect to PostgreSQL pod {{ $labels.pod }} in {{ $labels.namespace }}.",
        (
            Scenario({_series("up", up): _gauge(0)}, "5m", True, up),
            # Down for less than the `for` duration.
            Scenario({_series("up", up): f"1x4 0x{_SAMPLES}"}, "5m", False),
        ),
    )


def _redis_down(ns: str) -> Alert:
    """S1-08 `RedisConnectionFailure`, for every service with Redis."""
    up = {"job": "redis", "namespace": ns, "pod": "redis-0"}
    return Alert(
        "RedisConnectionFailure",
        f'up{{job="redis",namespace="{ns}"}} == 0',
        "1m",
        "critical",
        "Redis connection failure",
        "Cannot connect to Redis pod {{ $labels.pod }} in {{ $labels.namespace }}.",
        (
            Scenario({_series("up", up): _gauge(0)}, "5m", True, up),
            Scenario({_series("up", up): f"1x4 0x{_SAMPLES}"}, "5m", False),
        ),
    )


def _service_down(ns: str, app: str, for_minutes: int = 2) -> Alert:
    """Every instance of an app unreachable (colours and canary count as instances)."""
    jobs = f'job=~"{app}(-blue|-green|-canary)?"'
    pod_a = {"namespace": ns, "job": app, "pod": f"{app}-a"}
    pod_b = {"namespace": ns, "job": app, "pod": f"{app}-b"}
    elsewhere = {"namespace": "other", "job": app, "pod": f"{app}-a"}
    return Alert(
        "ServiceDown",
        f'max by (namespace) (up{{namespace="{ns}",{jobs}}}) == 0\nor absent(up{{namespace="{ns}",{jobs}}})',
        f"{for_minutes}m",
        "critical",
        f"{app} is unreachable",
        f"No instance of {app} in {{{{ $labels.namespace }}}} answers Prometheus' scrapes.",
        (
            Scenario(
                {_series("up", pod_a): _gauge(0), _series("up", pod_b): _gauge(0)},
                _at(for_minutes),
                True,
                {"namespace": ns},
            ),
            # No target left at all (Deployment scaled to zero or deleted).
            Scenario({_series("up", elsewhere): _gauge(1)}, _at(for_minutes), True, {"namespace": ns}),
            Scenario({_series("up", pod_a): _gauge(1), _series("up", pod_b): _gauge(0)}, _at(for_minutes), False),
        ),
    )


def _memory_of_limit(name: str, ns: str, threshold: float, summary: str, severity: str = "warning") -> Alert:
    """Container memory against its limit. The limit comes from kube-state-metrics: the chart drops
    cAdvisor's `container_spec_*` series that the manuals' expression divides by."""
    target = {"namespace": ns, "pod": f"{ns}-0", "container": "app"}
    limit = 4_000_000_000

    def series(usage_share: float) -> dict[str, str]:
        return {
            _series("container_memory_usage_bytes", target): _gauge(round(limit * usage_share)),
            _series("kube_pod_container_resource_limits", {**target, "resource": "memory", "unit": "byte"}): _gauge(
                limit
            ),
        }

    return Alert(
        name,
        _of_limit("container_memory_usage_bytes", ns, "memory") + f"\n> {threshold:g}",
        "5m",
        severity,
        summary,
        "Container {{ $labels.container }} of {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its "
        f"memory limit (alert above {threshold:.0%}).",
        (
            Scenario(series(threshold + 0.05), "10m", True, target, f"{(threshold + 0.05) * 100:g}%"),
            Scenario(series(threshold - 0.05), "10m", False),
        ),
    )


def _of_limit(usage: str, ns: str, resource: str, usage_suffix: str = "") -> str:
    """Per-container usage divided by the container's limit from kube-state-metrics."""
    per_container = "sum by (namespace, pod, container)"
    return (
        f'{per_container} ({usage}{{namespace="{ns}",container!=""}}{usage_suffix})\n'
        f'/ {per_container} (kube_pod_container_resource_limits{{namespace="{ns}",resource="{resource}"}})'
    )


def _volume_stats(ns: str, available: float) -> dict[str, str]:
    volume = {"namespace": ns, "persistentvolumeclaim": "data"}
    return {
        _series("kubelet_volume_stats_available_bytes", volume): _gauge(available),
        _series("kubelet_volume_stats_capacity_bytes", volume): _gauge(100_000_000_000),
    }


def _http_error_ratio(ns: str, window: str = "5m", metric: str = "http_requests_total") -> str:
    return (
        f'sum by (namespace) (rate({metric}{{namespace="{ns}",status=~"5.."}}[{window}]))\n'
        f'/ sum by (namespace) (rate({metric}{{namespace="{ns}"}}[{window}]))'
    )


def _http_traffic(ns: str, errors_per_minute: float, ok_per_minute: float, metric: str = "http_requests_total"):
    base = {"namespace": ns, "method": "GET", "endpoint": "/api"}
    return {
        _series(metric, {**base, "status": "500"}): _counter(errors_per_minute),
        _series(metric, {**base, "status": "200"}): _counter(ok_per_minute),
    }


def _cronjob_alerts(ns: str, cronjob: str, prefix: str, what: str, max_runtime_hours: int, stale_seconds: int):
    """The latest run of a CronJob did not succeed, and its last success is older than its period allows."""
    selector = f'{{namespace="{ns}",cronjob="{cronjob}"}}'
    scheduled = f"kube_cronjob_status_last_schedule_time{selector}"
    succeeded = f"kube_cronjob_status_last_successful_time{selector}"
    labels = {"namespace": ns, "cronjob": cronjob}
    schedule = _series("kube_cronjob_status_last_schedule_time", labels)
    success = _series("kube_cronjob_status_last_successful_time", labels)
    at = f"{max_runtime_hours * 60 + 10}m"
    stale_days, stale_hours = divmod(stale_seconds // 3600, 24)
    failing = Alert(
        f"{prefix}Failing",
        f"({scheduled} > {succeeded})\nor ({scheduled} unless {succeeded})",
        f"{max_runtime_hours}h",
        "warning",
        f"{what} did not succeed",
        f"The latest run of CronJob {cronjob} in {{{{ $labels.namespace }}}} has not succeeded within "
        f"{max_runtime_hours} h of being scheduled.",
        (
            Scenario({schedule: _gauge(1000), success: _gauge(500)}, at, True, labels),
            Scenario({schedule: _gauge(1000)}, at, True, labels),
            Scenario({schedule: _gauge(1000), success: _gauge(1200)}, at, False),
        ),
    )
    # promtool's clock starts at 0, so past timestamps are negative here.
    fires_ts, silent_ts = -(stale_seconds + 13_000 - 4200), -(stale_seconds - 7000 - 4200)
    stale = Alert(
        f"{prefix}Stale",
        f"time() - {succeeded} > {stale_seconds}",
        "1h",
        "warning",
        f"{what} has not succeeded for too long",
        f"CronJob {cronjob} in {{{{ $labels.namespace }}}} last succeeded {{{{ $value | humanizeDuration }}}} ago "
        f"(alert after {_days_hours(stale_days, stale_hours)}).",
        (
            Scenario({success: _gauge(fires_ts)}, "70m", True, labels, _duration(stale_seconds + 13_000)),
            Scenario({success: _gauge(silent_ts)}, "70m", False),
        ),
    )
    return [failing, stale]


def _days_hours(days: int, hours: int) -> str:
    return " ".join(part for part in (f"{days} d" if days else "", f"{hours} h" if hours else "") if part)


def _duration(seconds: int) -> str:
    """Go's `humanizeDuration` for whole seconds of at least a minute."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m {secs}s"
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    return f"{minutes}m {secs}s"


def _database_alerts(ns: str, service: str) -> list[Alert]:
    """Postgres reachable, backed up within the RPO, dumped daily and restorable (X-09, S3-11)."""
    cluster = database_cluster(service)
    instances = f'namespace="{ns}",pod=~"{cluster}-[0-9]+"'
    instance = {"namespace": ns, "pod": f"{cluster}-1"}
    backup_ts = _series("barman_cloud_cloudnative_pg_io_last_available_backup_timestamp", instance)
    archival = _series("cnpg_pg_stat_archiver_seconds_since_last_archival", instance)
    return [
        _database_down(ns, service),
        Alert(
            "DatabaseBackupTooOld",
            f"time() - max by (namespace) ({BACKUP_TIMESTAMP}{{{instances}}})\n> {DAILY_WITH_SLACK_SECONDS}",
            "15m",
            "warning",
            f"No recent base backup of {cluster}",
            f"The newest base backup of {cluster} is {{{{ $value | humanizeDuration }}}} old "
            "(daily backups; alert after 26 h).",
            (
                Scenario({backup_ts: _gauge(-100_000)}, "20m", True, {"namespace": ns}, _duration(101_200)),
                Scenario({backup_ts: _gauge(-90_000)}, "20m", False),
            ),
        ),
        Alert(
            "DatabaseWALArchivingBehind",
            f"min by (namespace) (cnpg_pg_stat_archiver_seconds_since_last_archival{{{instances}}}) > {RPO_SECONDS}",
            "5m",
            "critical",
            f"{cluster} is outside its recovery point objective",
            f"No WAL segment of {cluster} reached the backup store for {{{{ $value | humanizeDuration }}}}; "
            "the recovery point objective is 1 h.",
            (
                Scenario({archival: _gauge(4000)}, "10m", True, {"namespace": ns}, _duration(4000)),
                Scenario({archival: _gauge(3000)}, "10m", False),
            ),
        ),
        *_cronjob_alerts(
            ns,
            f"{cluster}-restore-check",
            "DatabaseRestoreCheck",
            f"Restore check of {cluster}",
            3,
            WEEKLY_WITH_SLACK_SECONDS,
        ),
        *_cronjob_alerts(
            ns, f"{cluster}-logical-dump", "DatabaseDump", f"Logical dump of {cluster}", 2, DAILY_WITH_SLACK_SECONDS
        ),
        *_cronjob_alerts(
            ns,
            drill_names(cluster).job,
            "DatabasePointInTimeDrill",
            f"Point-in-time restore drill of {cluster}",
            3,
            WEEKLY_WITH_SLACK_SECONDS,
        ),
    ]


# ---------------------------------------------------------------------------------------------------------
# Dashboard rows shared by several services


def _resources_row(ns: str) -> RowSpec:
    containers = f'namespace="{ns}",container!=""'
    return RowSpec(
        "Resources",
        (
            PanelSpec(
                "CPU by pod",
                (Query(f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{containers}}}[5m]))", "{{pod}}"),),
                "short",
            ),
            PanelSpec(
                "Memory by pod",
                (Query(f"sum by (pod) (container_memory_working_set_bytes{{{containers}}})", "{{pod}}"),),
                "bytes",
            ),
            PanelSpec(
                "Memory of limit",
                (
                    Query(
                        f"max by (pod) (sum by (pod, container) (container_memory_usage_bytes{{{containers}}})\n"
                        f"/ sum by (pod, container) "
                        f'(kube_pod_container_resource_limits{{namespace="{ns}",resource="memory"}}))',
                        "{{pod}}",
                    ),
                ),
                "percentunit",
                thresholds=good_below(0.8),
            ),
            PanelSpec(
                "Volume usage",
                (
                    Query(
                        f'1 - kubelet_volume_stats_available_bytes{{namespace="{ns}"}}\n'
                        f'/ kubelet_volume_stats_capacity_bytes{{namespace="{ns}"}}',
                        "{{persistentvolumeclaim}}",
                    ),
                ),
                "percentunit",
                thresholds=good_below(0.85),
            ),
            PanelSpec(
                "Container restarts (1 h)",
                (
                    Query(
                        f'sum by (pod) (increase(kube_pod_container_status_restarts_total{{namespace="{ns}"}}[1h]))',
                        "{{pod}}",
                    ),
                ),
                width=24,
            ),
        ),
    )


def _database_row(ns: str, service: str) -> RowSpec:
    instances = f'namespace="{ns}",pod=~"{database_cluster(service)}-[0-9]+"'
    return RowSpec(
        "PostgreSQL",
        (
            PanelSpec(
                "Connection utilisation",
                (
                    Query(
                        f"sum(cnpg_backends_total{{{instances}}})\n"
                        f'/ max(cnpg_pg_settings_setting{{{instances},name="max_connections"}})'
                    ),
                ),
                "percentunit",
                "stat",
                "Server connections in use out of max_connections (target below 80 %).",
                good_below(DB_DASHBOARD_TARGETS["pool_utilisation"]),
            ),
            PanelSpec(
                "Seconds since last WAL archival",
                (Query(f"min(cnpg_pg_stat_archiver_seconds_since_last_archival{{{instances}}})"),),
                "s",
                "stat",
                "Recovery point: must stay under 1 h.",
                good_below(RPO_SECONDS),
            ),
            PanelSpec(
                "Age of newest base backup",
                (Query(f"time() - max({BACKUP_TIMESTAMP}{{{instances}}})"),),
                "s",
                "stat",
                thresholds=good_below(DAILY_WITH_SLACK_SECONDS),
            ),
            PanelSpec(
                "Transactions per second",
                (
                    Query(
                        f"sum by (datname) (rate(cnpg_pg_stat_database_xact_commit{{{instances}}}[5m]))", "{{datname}}"
                    ),
                ),
                "ops",
            ),
            PanelSpec(
                "Database size",
                (Query(f"max by (datname) (cnpg_pg_database_size_bytes{{{instances}}})", "{{datname}}"),),
                "bytes",
            ),
            PanelSpec(
                "Replication lag",
                (Query(f"max by (pod) (cnpg_pg_replication_lag{{{instances}}})", "{{pod}}"),),
                "s",
            ),
        ),
    )


def _redis_row(ns: str) -> RowSpec:
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


def _http_row(
    ns: str, p95_target: float, metric: str = "http_requests_total", histogram: str = "http_request_duration_seconds"
) -> RowSpec:
    selector = f'namespace="{ns}"'
    return RowSpec(
        "Requests",
        (
            PanelSpec(
                "Requests per second by status",
                (Query(f"sum by (status) (rate({metric}{{{selector}}}[5m]))", "{{status}}"),),
                "reqps",
            ),
            PanelSpec(
                "Latency",
                tuple(
                    Query(
                        f"histogram_quantile({q}, sum by (le) (rate({histogram}_bucket{{{selector}}}[5m])))",
                        f"p{q * 100:g}",
                    )
                    for q in (0.5, 0.95, 0.99)
                ),
                "s",
                thresholds=good_below(p95_target),
            ),
            PanelSpec(
                "5xx ratio",
                (Query(_http_error_ratio(ns, metric=metric)),),
                "percentunit",
                thresholds=good_below(0.001),
            ),
            PanelSpec(
                "5xx by endpoint",
                (Query(f'sum by (endpoint) (rate({metric}{{{selector},status=~"5.."}}[5m]))', "{{endpoint}}"),),
                "reqps",
            ),
        ),
    )


# ---------------------------------------------------------------------------------------------------------
# 000 — AI Benchmark


def _ai_benchmark() -> ServiceObservability:
    ns = service = "ai-benchmark"
    run = {"endpoint": "/api/benchmark/run", "method": "POST"}
    errors = _series("benchmark_requests_total", {**run, "status": "500"})
    ok = _series("benchmark_requests_total", {**run, "status": "200"})
    scoped = {"namespace": ns, **run}

    def buckets(counts: Mapping[str, float]) -> dict[str, str]:
        return {_series("benchmark_response_time_seconds_bucket", {"le": le}): _counter(n) for le, n in counts.items()}

    alerts = (
        # S0-05, exactly as the manual writes them (the metric names are the service's own).
        Alert(
            "HighErrorRate",
            'rate(benchmark_requests_total{status=~"5.."}[5m]) > 0.01',
            "2m",
            "critical",
            "High error rate on benchmark service",
            '{{ $labels.method }} {{ $labels.endpoint }} answers {{ $value | printf "%.3f" }} 5xx responses '
            "per second (threshold 0.01/s).",
            (
                Scenario({errors: _counter(3), ok: _counter(600)}, "10m", True, {**run, "status": "500"}, "0.050"),
                Scenario({errors: _counter(0.5), ok: _counter(600)}, "10m", False),
            ),
        ),
        Alert(
            "HighLatency",
            "histogram_quantile(0.95, rate(benchmark_response_time_seconds_bucket[5m])) > 2",
            "2m",
            "warning",
            "High latency on benchmark service",
            'p95 response time is {{ $value | printf "%.2f" }} s (threshold 2 s, target below 1 s).',
            (
                Scenario(buckets({"1": 0, "2": 0, "5": 60, "+Inf": 60}), "10m", True, {}, "4.85"),
                Scenario(buckets({"1": 0, "2": 60, "5": 60, "+Inf": 60}), "10m", False),
            ),
        ),
        # S0-07 KPI alert lines of the manual: error rate above 1 %, throughput below 10 requests per second.
        Alert(
            "HighErrorRatio",
            _http_error_ratio(ns, metric="benchmark_requests_total") + " > 0.01",
            "5m",
            "warning",
            "More than 1 % of benchmark requests fail",
            "{{ $value | humanizePercentage }} of requests fail with 5xx (alert above 1 %, target below 0.1 %).",
            (
                Scenario(
                    {
                        _series("benchmark_requests_total", {**scoped, "status": "500"}): _counter(3),
                        _series("benchmark_requests_total", {**scoped, "status": "200"}): _counter(57),
                    },
                    "10m",
                    True,
                    {"namespace": ns},
                    "5%",
                ),
                Scenario(
                    {
                        _series("benchmark_requests_total", {**scoped, "status": "500"}): _counter(0.3),
                        _series("benchmark_requests_total", {**scoped, "status": "200"}): _counter(59.7),
                    },
                    "10m",
                    False,
                ),
            ),
        ),
        Alert(
            "LowThroughput",
            f'sum by (namespace) (rate(benchmark_requests_total{{namespace="{ns}"}}[5m])) < 10',
            "10m",
            "info",
            "Benchmark API throughput is low",
            'The API serves {{ $value | printf "%.1f" }} requests per second (alert below 10, target above 50).',
            (
                Scenario(
                    {_series("benchmark_requests_total", {**scoped, "status": "200"}): _counter(300)},
                    "15m",
                    True,
                    {"namespace": ns},
                    "5.0",
                ),
                Scenario(
                    {_series("benchmark_requests_total", {**scoped, "status": "200"}): _counter(660)}, "15m", False
                ),
            ),
        ),
        _service_down(ns, "ai-benchmark-api"),
        _redis_down(ns),
        *_database_alerts(ns, service),
    )
    api = f'namespace="{ns}"'
    p95 = f"histogram_quantile(0.95, sum by (le) (rate(benchmark_response_time_seconds_bucket{{{api}}}[5m])))"
    kpis = RowSpec(
        "KPIs (S0-07)",
        (
            PanelSpec("p95 response time", (Query(p95),), "s", "stat", "Target below 1 s.", good_below(1), width=8),
            PanelSpec(
                "Throughput",
                (Query(f"sum(rate(benchmark_requests_total{{{api}}}[5m]))"),),
                "reqps",
                "stat",
                "Target above 50 requests per second.",
                good_above(50),
                width=8,
            ),
            PanelSpec(
                "Error rate",
                (Query(_http_error_ratio(ns, metric="benchmark_requests_total")),),
                "percentunit",
                "stat",
                "Target below 0.1 %.",
                good_below(0.001),
                width=8,
            ),
        ),
    )
    # The manual names no database timing metric: the API is expected to export this histogram.
    query_p95 = f"histogram_quantile(0.95, sum by (le) (rate(benchmark_db_query_duration_seconds_bucket{{{api}}}[5m])))"
    dashboards = (
        DashboardSpec(
            "ai-benchmark-system",
            "AI Benchmark / System Overview",
            (
                RowSpec(
                    "Availability",
                    (
                        PanelSpec(
                            "API instances up",
                            (Query(f'sum(up{{{api},job=~"ai-benchmark-api.*"}})'),),
                            "short",
                            "stat",
                            width=12,
                        ),
                        PanelSpec(
                            "Worker replicas available",
                            (
                                Query(
                                    f'sum(kube_deployment_status_replicas_available{{{api},deployment="ai-benchmark-worker"}})'
                                ),
                            ),
                            "short",
                            "stat",
                            width=12,
                        ),
                    ),
                ),
                _resources_row(ns),
            ),
            "CPU, memory, disk usage (S0-06).",
            ("ai-benchmark",),
        ),
        DashboardSpec(
            "ai-benchmark-api",
            "AI Benchmark / API Performance",
            (kpis, _http_row(ns, 1, "benchmark_requests_total", "benchmark_response_time_seconds")),
            "Request rates and response times (S0-06, S0-07).",
            ("ai-benchmark",),
        ),
        DashboardSpec(
            "ai-benchmark-database",
            "AI Benchmark / Database Metrics",
            (
                RowSpec(
                    "KPIs (S0-07)",
                    (
                        PanelSpec(
                            "DB query p95",
                            (Query(query_p95),),
                            "s",
                            "stat",
                            "Target below 100 ms.",
                            good_below(DB_DASHBOARD_TARGETS["query_seconds"]),
                        ),
                    ),
                ),
                _database_row(ns, service),
                _redis_row(ns),
            ),
            "Query performance and connections (S0-06, S0-07).",
            ("ai-benchmark",),
        ),
        DashboardSpec(
            "ai-benchmark-analytics",
            "AI Benchmark / Benchmark Analytics",
            (
                RowSpec(
                    "Runs",
                    (
                        PanelSpec(
                            "Active runs", (Query(f"sum(benchmark_active_runs{{{api}}})"),), "short", "stat", width=8
                        ),
                        PanelSpec(
                            "Run submissions succeeding",
                            (
                                Query(
                                    f'sum(rate(benchmark_requests_total{{{api},endpoint="/api/benchmark/run",status=~"2.."}}'
                                    f"[1h]))\n"
                                    f'/ sum(rate(benchmark_requests_total{{{api},endpoint="/api/benchmark/run"}}[1h]))'
                                ),
                            ),
                            "percentunit",
                            "stat",
                            thresholds=good_above(0.99),
                            width=8,
                        ),
                        PanelSpec(
                            "Run submissions per minute by status",
                            (
                                Query(
                                    "sum by (status) (rate(benchmark_requests_total"
                                    f'{{{api},endpoint="/api/benchmark/run"}}[5m])) * 60',
                                    "{{status}}",
                                ),
                            ),
                            "short",
                            width=8,
                        ),
                        PanelSpec(
                            "Active runs over time", (Query(f"sum(benchmark_active_runs{{{api}}})", "runs"),), width=24
                        ),
                    ),
                ),
            ),
            "Success rates and benchmark activity (S0-06).",
            ("ai-benchmark",),
        ),
    )
    return ServiceObservability(service, ns, alerts, dashboards)


# ---------------------------------------------------------------------------------------------------------
# 001 — Agent Skeptic Bench


def _agent_skeptic_bench() -> ServiceObservability:
    ns = service = "agent-skeptic-bench"
    request = {"namespace": ns, "pod": f"{ns}-0", "method": "POST", "endpoint": "/api/evaluate", "status": "500"}

    def buckets(counts: Mapping[str, float]) -> dict[str, str]:
        return {
            _series("http_request_duration_seconds_bucket", {"namespace": ns, "le": le}): _counter(n)
            for le, n in counts.items()
        }

    alerts = (
        # S1-08: the manual's six alerts, scoped to the namespace, thresholds and durations unchanged.
        Alert(
            "HighErrorRate",
            f'rate(http_requests_total{{namespace="{ns}",status=~"5.."}}[5m]) > 0.1',
            "5m",
            "critical",
            "High error rate detected",
            'Error rate is {{ $value | printf "%.3f" }} errors per second on {{ $labels.pod }}.',
            (
                Scenario({_series("http_requests_total", request): _counter(12)}, "10m", True, request, "0.200"),
                Scenario({_series("http_requests_total", request): _counter(5.4)}, "10m", False),
            ),
        ),
        Alert(
            "HighResponseTime",
            f'histogram_quantile(0.95, rate(http_request_duration_seconds_bucket{{namespace="{ns}"}}[5m])) > 5',
            "10m",
            "warning",
            "High response time",
            '95th percentile response time is {{ $value | printf "%.2f" }} seconds.',
            (
                Scenario(buckets({"1": 0, "5": 0, "10": 60, "+Inf": 60}), "15m", True, {"namespace": ns}, "9.75"),
                Scenario(buckets({"1": 0, "5": 60, "10": 60, "+Inf": 60}), "15m", False),
            ),
        ),
        _database_down(ns, service),
        _redis_down(ns),
        _memory_of_limit("HighMemoryUsage", ns, 0.9, "High memory usage"),
        # The manual's node filesystem ratio, applied to the volumes of this namespace; node disks are covered
        # by the monitoring stack's own node-exporter rules.
        Alert(
            "DiskSpaceLow",
            f'kubelet_volume_stats_available_bytes{{namespace="{ns}"}}\n'
            f'/ kubelet_volume_stats_capacity_bytes{{namespace="{ns}"}} < 0.1',
            "5m",
            "critical",
            "Low disk space",
            "Volume {{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} of its space left.",
            (
                Scenario(
                    _volume_stats(ns, 5_000_000_000),
                    "10m",
                    True,
                    {"namespace": ns, "persistentvolumeclaim": "data"},
                    "5%",
                ),
                Scenario(_volume_stats(ns, 11_000_000_000), "10m", False),
            ),
        ),
        _service_down(ns, "agent-skeptic-bench"),
        *[a for a in _database_alerts(ns, service) if a.name != "DatabaseConnectionFailure"],
    )
    selector = f'namespace="{ns}"'
    dashboards = (
        DashboardSpec(
            "agent-skeptic-bench-overview",
            "Agent Skeptic Bench / Overview",
            (
                _http_row(ns, 5),
                RowSpec(
                    "Evaluations",
                    (
                        PanelSpec(
                            "Evaluations per minute by model",
                            (Query(f"sum by (model) (rate(evaluations_total{{{selector}}}[5m])) * 60", "{{model}}"),),
                        ),
                        PanelSpec(
                            "Evaluations per minute by category",
                            (
                                Query(
                                    f"sum by (category) (rate(evaluations_total{{{selector}}}[5m])) * 60",
                                    "{{category}}",
                                ),
                            ),
                        ),
                        PanelSpec(
                            "Evaluation response time p95",
                            (
                                Query(
                                    "histogram_quantile(0.95, sum by (le) "
                                    f"(rate(response_time_seconds_bucket{{{selector}}}[5m])))"
                                ),
                            ),
                            "s",
                            width=24,
                        ),
                    ),
                ),
                _resources_row(ns),
            ),
            "Requests, evaluations and resources (S1-08).",
            ("agent-skeptic-bench",),
        ),
        DashboardSpec(
            "agent-skeptic-bench-data",
            "Agent Skeptic Bench / Data Stores",
            (_database_row(ns, service), _redis_row(ns)),
            "PostgreSQL and Redis health and backups.",
            ("agent-skeptic-bench",),
        ),
    )
    return ServiceObservability(service, ns, alerts, dashboards)


# ---------------------------------------------------------------------------------------------------------
# 002 — DocC2Context


def _docc2context() -> ServiceObservability:
    ns = service = "docc2context"
    target = {"namespace": ns, "pod": f"{ns}-0", "container": "app"}

    def cpu(cores_per_minute: float) -> dict[str, str]:
        return {
            _series("container_cpu_usage_seconds_total", target): _counter(cores_per_minute),
            _series("kube_pod_container_resource_limits", {**target, "resource": "cpu", "unit": "core"}): _gauge(2),
        }

    def extractions(outcomes: Mapping[str, float]) -> dict[str, str]:
        return {
            _series("zip_extractions_total", {"namespace": ns, "status": status}): _counter(n)
            for status, n in outcomes.items()
        }

    too_many = {"namespace": ns, "method": "POST", "endpoint": "/api/v1/convert", "status": "429"}
    alerts = (
        # S2-06. The manual names only `http_requests_total`; the extraction counter is the service's own
        # `zip_extractions_total{status=success|failed_validation|failed_extraction}`.
        Alert(
            "HighErrorRate",
            _http_error_ratio(ns) + " > 0.1",
            "5m",
            "critical",
            "More than 10 % of DocC2Context requests fail",
            "{{ $value | humanizePercentage }} of requests return 5xx (alert above 10 %, target below 0.1 %).",
            (
                Scenario(_http_traffic(ns, 12, 48), "10m", True, {"namespace": ns}, "20%"),
                Scenario(_http_traffic(ns, 5, 55), "10m", False),
            ),
        ),
        Alert(
            "ExtractionFailures",
            f'sum by (namespace) (rate(zip_extractions_total{{namespace="{ns}",status!="success"}}[5m]))\n'
            f'/ sum by (namespace) (rate(zip_extractions_total{{namespace="{ns}"}}[5m])) > 0.2',
            "5m",
            "warning",
            "More than 20 % of conversions fail",
            "{{ $value | humanizePercentage }} of ZIP extractions fail (alert above 20 %, target below 5 %). "
            "Check file validation and disk space.",
            (
                Scenario(
                    extractions({"success": 6, "failed_extraction": 3, "failed_validation": 1}),
                    "10m",
                    True,
                    {"namespace": ns},
                    "40%",
                ),
                Scenario(extractions({"success": 9, "failed_extraction": 1}), "10m", False),
            ),
        ),
        _memory_of_limit("MemoryExhaustion", ns, 0.8, "Memory above 80 % of the limit"),
        Alert(
            "CPUExhaustion",
            _of_limit("rate(container_cpu_usage_seconds_total", ns, "cpu", "[5m])") + "\n> 0.75",
            "10m",
            "warning",
            "CPU above 75 % of the limit, sustained",
            "Container {{ $labels.container }} of {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its CPU "
            "limit for 10 minutes: scale out or look for slow operations.",
            (
                Scenario(cpu(96), "15m", True, target, "80%"),
                Scenario(cpu(84), "15m", False),
            ),
        ),
        _service_down(ns, "docc2context-api", for_minutes=1),
        Alert(
            "RateLimitTriggered",
            # Rate-limited requests are answered 429.
            f'sum by (namespace) (increase(http_requests_total{{namespace="{ns}",status="429"}}[1h])) > 10',
            "0m",
            "warning",
            "Rate limit triggered more than 10 times in an hour",
            '{{ $value | printf "%.0f" }} requests were rate limited in the last hour (alert above 10).',
            (
                Scenario({_series("http_requests_total", too_many): _counter(1)}, "65m", True, {"namespace": ns}, "60"),
                Scenario({_series("http_requests_total", too_many): _counter(0.15)}, "65m", False),
            ),
        ),
        Alert(
            "DiskSpaceHigh",
            f'1 - kubelet_volume_stats_available_bytes{{namespace="{ns}"}}\n'
            f'/ kubelet_volume_stats_capacity_bytes{{namespace="{ns}"}} > 0.85',
            "5m",
            "warning",
            "Disk usage above 85 %",
            "Volume {{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full (alert above 85 %).",
            (
                Scenario(
                    _volume_stats(ns, 10_000_000_000),
                    "10m",
                    True,
                    {"namespace": ns, "persistentvolumeclaim": "data"},
                    "90%",
                ),
                Scenario(_volume_stats(ns, 20_000_000_000), "10m", False),
            ),
        ),
        _redis_down(ns),
    )
    selector = f'namespace="{ns}"'
    success_ratio = (
        f'sum(rate(zip_extractions_total{{{selector},status="success"}}[1h]))\n'
        f"/ sum(rate(zip_extractions_total{{{selector}}}[1h]))"
    )
    targets = RowSpec(
        "Targets (S2-07)",
        (
            PanelSpec(
                "Uptime (30 d)",
                (Query(f'avg(avg_over_time(up{{{selector},job="docc2context-api"}}[30d]))'),),
                "percentunit",
                "stat",
                "Target 99.9 %.",
                good_above(0.999),
                width=6,
            ),
            PanelSpec(
                "p95 response time",
                (
                    Query(
                        f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
                        f"{{{selector}}}[5m])))"
                    ),
                ),
                "s",
                "stat",
                "Target below 2 s.",
                good_below(2),
                width=6,
            ),
            PanelSpec(
                "Error rate",
                (Query(_http_error_ratio(ns)),),
                "percentunit",
                "stat",
                "Target below 0.1 %.",
                good_below(0.001),
                width=6,
            ),
            PanelSpec(
                "Extraction success",
                (Query(success_ratio),),
                "percentunit",
                "stat",
                "Target above 95 %.",
                good_above(0.95),
                width=6,
            ),
        ),
    )
    conversions = RowSpec(
        "Conversions",
        (
            PanelSpec(
                "Extractions per minute by outcome",
                (Query(f"sum by (status) (rate(zip_extractions_total{{{selector}}}[5m])) * 60", "{{status}}"),),
            ),
            PanelSpec(
                "Extraction p95",
                (
                    Query(
                        f"histogram_quantile(0.95, sum by (le) (rate(zip_extraction_duration_seconds_bucket"
                        f"{{{selector}}}[5m])))"
                    ),
                ),
                "s",
            ),
            PanelSpec("Active conversions", (Query(f"sum(active_conversions{{{selector}}})"),)),
            PanelSpec(
                "Conversion errors by type",
                (
                    Query(
                        f"sum by (error_type) (rate(conversion_errors_total{{{selector}}}[5m])) * 60", "{{error_type}}"
                    ),
                ),
            ),
            PanelSpec(
                "Rate-limited requests (1 h)",
                (Query(f'sum(increase(http_requests_total{{{selector},status="429"}}[1h]))'),),
                "short",
                "stat",
                "Alert above 10 an hour.",
                good_below(10),
                width=24,
            ),
        ),
    )
    dashboards = (
        DashboardSpec(
            "docc2context-overview",
            "DocC2Context / Service",
            (targets, _http_row(ns, 2), conversions, _resources_row(ns), _redis_row(ns)),
            "Availability, performance and conversion targets (S2-06, S2-07).",
            ("docc2context",),
        ),
    )
    return ServiceObservability(service, ns, alerts, dashboards)


# ---------------------------------------------------------------------------------------------------------
# 003 — CAD ML Platform


def _cad_ml_platform() -> ServiceObservability:
    ns = service = "cad-ml-platform"
    pod = {"namespace": ns, "pod": f"{ns}-0"}

    def gauge(metric: str, value: float, **labels: str) -> dict[str, str]:
        return {_series(metric, {**pod, **labels}): _gauge(value)}

    def compare(per_status: Mapping[str, float]) -> dict[str, str]:
        return {
            _series("compare_requests_total", {**pod, "status": status}): _counter(n)
            for status, n in per_status.items()
        }

    compare_total = f'sum by (namespace) (rate(compare_requests_total{{namespace="{ns}"}}[5m]))'

    def compare_share(status: str) -> str:
        return (
            f'sum by (namespace) (rate(compare_requests_total{{namespace="{ns}",status="{status}"}}[5m]))\n'
            f"/ {compare_total}"
        )

    # S3-05: the manual's key metrics and thresholds. The app exports them itself (the manual reads
    # `platform_error_ratio` from its /metrics as a ratio, `> 0.05`); `error_budget_remaining` is in percent.
    alerts = (
        Alert(
            "HighErrorRate",
            f'max by (namespace) (platform_error_ratio{{namespace="{ns}"}}) > 0.05',
            "5m",
            "critical",
            "Platform error rate above 5 %",
            "platform_error_ratio is {{ $value | humanizePercentage }} (alert above 5 %, target below 1 %).",
            (
                Scenario(gauge("platform_error_ratio", 0.08), "10m", True, {"namespace": ns}, "8%"),
                Scenario(gauge("platform_error_ratio", 0.04), "10m", False),
            ),
        ),
        Alert(
            "ProviderDegraded",
            f'min by (namespace, provider) (provider_health_score{{namespace="{ns}"}}) < 50',
            "10m",
            "warning",
            "Provider {{ $labels.provider }} degraded",
            'Provider {{ $labels.provider }} health score is {{ $value | printf "%.0f" }} (alert below 50, '
            "target above 95). Consider DISABLED_PROVIDERS and resetting its circuit breaker.",
            (
                Scenario(
                    gauge("provider_health_score", 30, provider="deepseek"),
                    "15m",
                    True,
                    {"namespace": ns, "provider": "deepseek"},
                    "30",
                ),
                Scenario(gauge("provider_health_score", 60, provider="deepseek"), "15m", False),
            ),
        ),
        Alert(
            "HighLatency",
            f'max by (namespace) (ocr_p95_latency_seconds{{namespace="{ns}"}}) > 2',
            "10m",
            "warning",
            "OCR p95 latency above 2 s",
            'OCR p95 latency is {{ $value | printf "%.2f" }} s (alert above 2 s, target below 1 s).',
            (
                Scenario(gauge("ocr_p95_latency_seconds", 3.5), "15m", True, {"namespace": ns}, "3.50"),
                Scenario(gauge("ocr_p95_latency_seconds", 1.5), "15m", False),
            ),
        ),
        Alert(
            "ErrorBudgetLow",
            f'min by (namespace) (error_budget_remaining{{namespace="{ns}"}}) < 20',
            "5m",
            "warning",
            "Less than 20 % of the error budget remains",
            '{{ $value | printf "%.1f" }} % of the SLO error budget remains (alert below 20 %, target above 50 %). '
            "Freeze risky deployments.",
            (
                Scenario(gauge("error_budget_remaining", 12), "10m", True, {"namespace": ns}, "12.0"),
                Scenario(gauge("error_budget_remaining", 25), "10m", False),
            ),
        ),
        Alert(
            "CircuitBreakerOpen",
            f'max by (namespace) (circuit_breaker_open_ratio{{namespace="{ns}"}}) > 0.5',
            "5m",
            "critical",
            "Most provider circuit breakers are open",
            "{{ $value | humanizePercentage }} of circuit breakers are open (alert above 50 %).",
            (
                Scenario(gauge("circuit_breaker_open_ratio", 0.75), "10m", True, {"namespace": ns}, "75%"),
                Scenario(gauge("circuit_breaker_open_ratio", 0.45), "10m", False),
            ),
        ),
        Alert(
            "CompareFailureRate",
            # The manual's first step: only with sustained traffic, to avoid low-sample noise.
            f"{compare_share('error')} > 0.05\nand {compare_total} > 0.1",
            "10m",
            "warning",
            "/api/compare failures above 5 %",
            '{{ $value | humanizePercentage }} of compare requests end in status="error": check vector search, '
            "storage and network, or roll back a recent change.",
            (
                Scenario(compare({"error": 12, "success": 48}), "15m", True, {"namespace": ns}, "20%"),
                Scenario(compare({"error": 1, "success": 1}), "15m", False),
                Scenario(compare({"error": 2, "success": 58}), "15m", False),
            ),
        ),
        Alert(
            "CompareNotFoundDominant",
            f"{compare_share('not_found')} > 0.5\nand {compare_total} > 0.1",
            "15m",
            "info",
            "Most /api/compare requests find no candidate",
            '{{ $value | humanizePercentage }} of compare requests end in status="not_found": verify candidate id '
            "alignment and index freshness.",
            (
                Scenario(compare({"not_found": 40, "success": 20}), "20m", True, {"namespace": ns}, "66.67%"),
                Scenario(compare({"not_found": 20, "success": 40}), "20m", False),
            ),
        ),
        _service_down(ns, "cad-ml-platform"),
        _redis_down(ns),
        *_database_alerts(ns, service),
    )
    selector = f'namespace="{ns}"'
    budget_colours = (Threshold(None, "red"), Threshold(20, "yellow"), Threshold(50, "green"))
    health_colours = (Threshold(None, "red"), Threshold(50, "yellow"), Threshold(95, "green"))
    latency_colours = (Threshold(None, "green"), Threshold(1, "yellow"), Threshold(2, "red"))
    error_ratio = Query(f"max(platform_error_ratio{{{selector}}})", "error ratio")
    budget = PanelSpec(
        "Error Budget Remaining",
        (Query(f"min(error_budget_remaining{{{selector}}})"),),
        "percent",
        "gauge",
        "Alert below 20 %, target above 50 %.",
        budget_colours,
        0,
        100,
    )
    slo = PanelSpec(
        "SLO Compliance", (Query(f"min(slo_availability{{{selector}}})", "availability"),), "percent", "stat"
    )
    provider_errors = PanelSpec(
        "Provider Error Code Breakdown",
        (
            Query(
                f"topk(5, sum by (provider, code) (rate(ocr_errors_total{{{selector}}}[5m])))", "{{provider}} {{code}}"
            ),
        ),
        "reqps",
    )
    compare_by_status = PanelSpec(
        "Compare requests by status",
        (Query(f"sum by (status) (rate(compare_requests_total{{{selector}}}[5m]))", "{{status}}"),),
        "reqps",
    )
    dashboards = (
        # uids are the manual's dashboard links (/d/observability, /d/providers, /d/performance, /d/slo).
        DashboardSpec(
            "observability",
            "CAD ML Platform / Overview",
            (
                RowSpec(
                    "Platform",
                    (
                        PanelSpec("Platform Error Rates", (error_ratio,), "percentunit", thresholds=good_below(0.05)),
                        provider_errors,
                        PanelSpec(
                            "Requests per second", (Query(f"sum(rate(ocr_requests_total{{{selector}}}[5m]))"),), "reqps"
                        ),
                        compare_by_status,
                        slo,
                        budget,
                    ),
                ),
            ),
            "Main overview (S3-06).",
            ("cad-ml-platform",),
        ),
        DashboardSpec(
            "providers",
            "CAD ML Platform / Provider Health",
            (
                RowSpec(
                    "Providers",
                    (
                        PanelSpec(
                            "Provider health score",
                            (Query(f"min by (provider) (provider_health_score{{{selector}}})", "{{provider}}"),),
                            "short",
                            thresholds=health_colours,
                            min=0,
                            max=100,
                        ),
                        PanelSpec(
                            "Circuit breakers open",
                            (Query(f"max(circuit_breaker_open_ratio{{{selector}}})"),),
                            "percentunit",
                            "stat",
                            thresholds=good_below(0.5),
                        ),
                        provider_errors,
                        PanelSpec(
                            "Rate-limited classifications",
                            (Query(f"sum(rate(classification_rate_limited_total{{{selector}}}[5m]))"),),
                            "reqps",
                        ),
                    ),
                ),
            ),
            "Provider availability and errors (S3-06).",
            ("cad-ml-platform",),
        ),
        DashboardSpec(
            "performance",
            "CAD ML Platform / Performance",
            (
                RowSpec(
                    "Latency and throughput",
                    (
                        PanelSpec(
                            "OCR p95 latency",
                            (Query(f"max(ocr_p95_latency_seconds{{{selector}}})", "p95"),),
                            "s",
                            thresholds=latency_colours,
                        ),
                        PanelSpec(
                            "OCR processing p99",
                            (
                                Query(
                                    f"histogram_quantile(0.99, sum by (le) "
                                    f"(rate(ocr_processing_duration_seconds_bucket{{{selector}}}[5m])))",
                                    "p99",
                                ),
                            ),
                            "s",
                        ),
                        PanelSpec(
                            "OCR requests per second",
                            (Query(f"sum(rate(ocr_requests_total{{{selector}}}[5m]))"),),
                            "reqps",
                        ),
                        compare_by_status,
                    ),
                ),
                _resources_row(ns),
            ),
            "Latency, throughput and resources (S3-06).",
            ("cad-ml-platform",),
        ),
        DashboardSpec(
            "slo",
            "CAD ML Platform / SLO Tracking",
            (
                RowSpec(
                    "SLO",
                    (
                        slo,
                        budget,
                        PanelSpec("Platform error ratio", (error_ratio,), "percentunit", thresholds=good_below(0.05)),
                        PanelSpec(
                            "Compare failure ratio",
                            (Query(compare_share("error"), "error"),),
                            "percentunit",
                            thresholds=good_below(0.05),
                        ),
                    ),
                ),
                _database_row(ns, service),
                _redis_row(ns),
            ),
            "SLO compliance and error budget (S3-06).",
            ("cad-ml-platform",),
        ),
    )
    return ServiceObservability(service, ns, alerts, dashboards)


# ---------------------------------------------------------------------------------------------------------
# 004 — Platform V1/V2/V3


def _platform() -> ServiceObservability:
    service = "platform"
    v2, v1, v3 = "platform-v2-stable", "platform-v1-exp", "platform-v3-quarantine"
    # V2 serves production (S4-01); its availability objective is 99.9 %. Manual 004 names no metrics: the
    # tiers are assumed to export the same HTTP metrics as the other FastAPI services.
    alerts = (
        Alert(
            "SLOViolation",
            _http_error_ratio(v2, "1h") + " > 0.001",
            "5m",
            "critical",
            "V2 production is violating its availability SLO",
            '{{ $value | printf "%.4f" }} of V2 requests failed in the last hour (objective: at most 0.001). '
            "Check /metrics/slo-compliance, recent deployments, and roll back if needed.",
            (
                Scenario(_http_traffic(v2, 1, 299), "70m", True, {"namespace": v2}, "0.0033"),
                Scenario(_http_traffic(v2, 0.2, 299.8), "70m", False),
            ),
        ),
        Alert(
            "HighErrorRate",
            _http_error_ratio(v2) + " > 0.05",
            "5m",
            "critical",
            "V2 production error rate above 5 %",
            "{{ $value | humanizePercentage }} of V2 requests return 5xx: check error logs, AI provider availability "
            "and database connectivity.",
            (
                Scenario(_http_traffic(v2, 6, 54), "10m", True, {"namespace": v2}, "10%"),
                Scenario(_http_traffic(v2, 2, 58), "10m", False),
            ),
        ),
        _service_down(v2, "platform-v2-api"),
        *_database_alerts(v2, service),
    )

    def endpoint_rate(ns: str, pattern: str, window: str = "5m") -> str:
        return f'sum(rate(http_requests_total{{namespace="{ns}",endpoint=~"{pattern}",status=~"2.."}}[{window}]))'

    def daily(ns: str, pattern: str) -> str:
        return f'sum(increase(http_requests_total{{namespace="{ns}",endpoint=~"{pattern}",status=~"2.."}}[1d]))'

    availability_1h = f"1 - ({_http_error_ratio(v2, '1h')})"
    dashboards = (
        DashboardSpec(
            "platform-v2-slo",
            "Platform / V2 Production SLO Compliance",
            (
                RowSpec(
                    "SLO",
                    (
                        PanelSpec(
                            "Availability (1 h)",
                            (Query(availability_1h),),
                            "percentunit",
                            "stat",
                            "Objective 99.9 %.",
                            good_above(0.999),
                            width=8,
                        ),
                        PanelSpec(
                            "Availability (30 d)",
                            (Query(f"1 - ({_http_error_ratio(v2, '30d')})"),),
                            "percentunit",
                            "stat",
                            "Objective 99.9 %.",
                            good_above(0.999),
                            width=8,
                        ),
                        PanelSpec(
                            "API replicas",
                            (
                                Query(
                                    f'sum(kube_deployment_status_replicas_available{{namespace="{v2}",'
                                    f'deployment=~"platform-v2-api.*"}})'
                                ),
                            ),
                            "short",
                            "stat",
                            width=8,
                        ),
                    ),
                ),
                _http_row(v2, 1),
                _database_row(v2, service),
                _resources_row(v2),
            ),
            "V2 production SLO compliance (S4-09).",
            ("platform",),
        ),
        DashboardSpec(
            "platform-v1-experiments",
            "Platform / V1 Experiment Progress",
            (
                RowSpec(
                    "Experiments",
                    (
                        PanelSpec(
                            "Experiments created (24 h)",
                            (Query(daily(v1, "/api/v1/experiments/create")),),
                            "short",
                            "stat",
                            width=8,
                        ),
                        PanelSpec(
                            "Experiment runs (24 h)",
                            (Query(daily(v1, "/api/v1/experiments/run/.*")),),
                            "short",
                            "stat",
                            width=8,
                        ),
                        PanelSpec(
                            "Promotions to V2 (24 h)",
                            (Query(daily(v1, "/api/v1/evaluation/promote/.*")),),
                            "short",
                            "stat",
                            width=8,
                        ),
                        PanelSpec(
                            "Experiment API calls per minute",
                            (
                                Query(
                                    f'sum by (endpoint) (rate(http_requests_total{{namespace="{v1}",'
                                    f'endpoint=~"/api/v1/(experiments|evaluation)/.*"}}[5m])) * 60',
                                    "{{endpoint}}",
                                ),
                            ),
                            width=24,
                        ),
                    ),
                ),
                _resources_row(v1),
            ),
            "V1 experiment activity on spot capacity (S4-09).",
            ("platform",),
        ),
        DashboardSpec(
            "platform-v3-quarantine",
            "Platform / V3 Quarantine Statistics",
            (
                RowSpec(
                    "Quarantine",
                    (
                        PanelSpec(
                            "Experiments quarantined (24 h)",
                            (Query(daily(v1, "/api/v1/evaluation/quarantine/.*")),),
                            "short",
                            "stat",
                            width=8,
                        ),
                        PanelSpec(
                            "Quarantine record reads per minute",
                            (Query(endpoint_rate(v3, "/api/v1/quarantine/.*") + " * 60"),),
                            width=16,
                        ),
                    ),
                ),
                _resources_row(v3),
            ),
            "V3 quarantine activity (S4-09).",
            ("platform",),
        ),
    )
    return ServiceObservability(service, v2, alerts, dashboards)


# ---------------------------------------------------------------------------------------------------------
# Public API


def catalog() -> dict[str, ServiceObservability]:
    """Every service's alerts and dashboards, by service name."""
    services = (_ai_benchmark(), _agent_skeptic_bench(), _docc2context(), _cad_ml_platform(), _platform())
    return {s.service: s for s in services}


def alert_specs(service: str, runbook_base_url: str) -> list[AlertSpec]:
    """The AlertRules input of one service."""
    return [alert.spec(service, runbook_base_url) for alert in catalog()[service].alerts]


def receivers_of(service: str, severity: str) -> list[str]:
    """Receivers an alert of SERVICE with SEVERITY reaches (as the Alertmanager config routes it)."""
    webhook = ["webhook"] if service in WEBHOOK_SERVICES else []
    return [*webhook, RECEIVER_BY_SEVERITY[severity]]


def alert_table_markdown(services: Sequence[ServiceObservability] | None = None) -> str:
    """README table of every alert: service, name, condition, for, severity, receivers."""
    lines = [
        "| Service | Alert | Condition | For | Severity | Receivers |",
        "|---|---|---|---|---|---|",
    ]
    for entry in services if services is not None else catalog().values():
        for alert in entry.alerts:
            condition = " ".join(alert.expr.split()).replace("|", "\\|")
            receivers = ", ".join(receivers_of(entry.service, alert.severity))
            lines.append(
                f"| {entry.service} | {alert.name} | `{condition}` | {alert.for_} | {alert.severity} | {receivers} |"
            )
    return "\n".join(lines) + "\n"
