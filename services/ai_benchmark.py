"""AI Benchmark Service [000-ai-benchmark-service-operations.md]: S0-01, S0-02, S0-03, S0-08, S0-10."""

from collections.abc import Mapping

from components.alert_rules import Alert, Scenario
from components.alert_scenarios import counter, series
from components.app_deployment import Autoscaling, Probe, Probes, Resources, SecretRef
from components.app_observability import http_error_ratio, http_row, resources_row, service_down
from components.dashboards import DashboardSpec, PanelSpec, Query, RowSpec, good_above, good_below
from components.postgres_observability import database_alerts, database_row
from components.redis_observability import redis_down, redis_row
from services.conventions import (
    AI_KEYS,
    API_PATHS,
    CACHE_URL,
    DATABASE_URL,
    HTTP_PROBES,
    database_cluster,
    redis_1gb,
)
from services.spec import AppSpec, DatabaseSpec, Observability, PoolerSpec, SecretSpec, ServiceSpec

NAME = NAMESPACE = "ai-benchmark"
API, WORKER = "ai-benchmark-api", "ai-benchmark-worker"
SECRET = "ai-benchmark-secrets"
# S0-03: each process's SQLAlchemy pool: 20 connections, 10 more on overflow.
POOL = {"DATABASE_POOL_SIZE": "20", "DATABASE_MAX_OVERFLOW": "10"}
POOL_CONNECTIONS = 20 + 10
# The worker serves no HTTP (the manual's code shows none): it touches this file after every pass over the queue,
# and its probes run in the container instead of calling an endpoint.
HEARTBEAT_FILE = "/tmp/worker-heartbeat"
HEARTBEAT_MAX_AGE_SECONDS = 120
WORKER_PROBES = Probes(
    # Live while the worker loop turns: its heartbeat is younger than two minutes.
    liveness=Probe(
        command=(
            "/bin/sh",
            "-c",
            f'test $(( $(date +%s) - $(stat -c %Y "$HEARTBEAT_FILE") )) -lt {HEARTBEAT_MAX_AGE_SECONDS}',
        ),
        period_seconds=30,
    ),
    # Ready while it reaches the Redis queue it consumes (the app's own redis client, as the manual's code uses).
    readiness=Probe(
        command=(
            "python",
            "-c",
            "import os, redis; redis.Redis.from_url(os.environ['REDIS_URL'], socket_timeout=2).ping()",
        ),
        period_seconds=15,
        timeout_seconds=5,
    ),
)
# S0-07: database queries below 100 ms.
DB_QUERY_TARGET_SECONDS = 0.1


def _observability() -> Observability:
    ns, service = NAMESPACE, NAME
    run = {"endpoint": "/api/benchmark/run", "method": "POST"}
    errors = series("benchmark_requests_total", {**run, "status": "500"})
    ok = series("benchmark_requests_total", {**run, "status": "200"})
    scoped = {"namespace": ns, **run}

    def buckets(counts: Mapping[str, float]) -> dict[str, str]:
        return {series("benchmark_response_time_seconds_bucket", {"le": le}): counter(n) for le, n in counts.items()}

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
                Scenario({errors: counter(3), ok: counter(600)}, "10m", True, {**run, "status": "500"}, "0.050"),
                Scenario({errors: counter(0.5), ok: counter(600)}, "10m", False),
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
            http_error_ratio(ns, metric="benchmark_requests_total") + " > 0.01",
            "5m",
            "warning",
            "More than 1 % of benchmark requests fail",
            "{{ $value | humanizePercentage }} of requests fail with 5xx (alert above 1 %, target below 0.1 %).",
            (
                Scenario(
                    {
                        series("benchmark_requests_total", {**scoped, "status": "500"}): counter(3),
                        series("benchmark_requests_total", {**scoped, "status": "200"}): counter(57),
                    },
                    "10m",
                    True,
                    {"namespace": ns},
                    "5%",
                ),
                Scenario(
                    {
                        series("benchmark_requests_total", {**scoped, "status": "500"}): counter(0.3),
                        series("benchmark_requests_total", {**scoped, "status": "200"}): counter(59.7),
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
                    {series("benchmark_requests_total", {**scoped, "status": "200"}): counter(300)},
                    "15m",
                    True,
                    {"namespace": ns},
                    "5.0",
                ),
                Scenario({series("benchmark_requests_total", {**scoped, "status": "200"}): counter(660)}, "15m", False),
            ),
        ),
        service_down(ns, API),
        redis_down(ns),
        *database_alerts(ns, database_cluster(service)),
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
                (Query(http_error_ratio(ns, metric="benchmark_requests_total")),),
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
                resources_row(ns),
            ),
            "CPU, memory, disk usage (S0-06).",
            (NAME,),
        ),
        DashboardSpec(
            "ai-benchmark-api",
            "AI Benchmark / API Performance",
            (kpis, http_row(ns, 1, "benchmark_requests_total", "benchmark_response_time_seconds")),
            "Request rates and response times (S0-06, S0-07).",
            (NAME,),
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
                            good_below(DB_QUERY_TARGET_SECONDS),
                        ),
                    ),
                ),
                database_row(ns, database_cluster(service)),
                redis_row(ns),
            ),
            "Query performance and connections (S0-06, S0-07).",
            (NAME,),
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
            (NAME,),
        ),
    )
    return Observability(alerts, dashboards)


SERVICE = ServiceSpec(
    observability=_observability(),
    name=NAME,
    manual="000-ai-benchmark-service-operations.md",
    namespaces=(NAMESPACE,),
    secrets=(
        SecretSpec(
            SECRET,
            (NAMESPACE,),
            from_config={"openai-api-key": AI_KEYS["openai"], "anthropic-api-key": AI_KEYS["anthropic"]},
        ),
    ),
    # S0-03: benchmark_db owned by benchmark_user, max_connections 200.
    # Its apps at their peak hold 30 connections a pod (both colours and the workers: 750 against 200), so they
    # connect through PgBouncer.
    database=DatabaseSpec(
        NAMESPACE, "benchmark_db", "benchmark_user", parameters={"max_connections": "200"}, pooler=PoolerSpec()
    ),
    # S0-04: task queue, session cache and rate limiting; a queue must never evict, so noeviction.
    cache=redis_1gb(NAMESPACE, "noeviction"),
    apps=(
        # S0-01, S0-08: FastAPI on 8000, 0.25/256Mi requests, 0.5/512Mi limits, 3 web replicas.
        AppSpec(
            name=API,
            namespace=NAMESPACE,
            image_repository="ai-benchmark",
            port=8000,
            probes=HTTP_PROBES,
            resources=Resources({"cpu": "250m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"}),
            autoscaling=Autoscaling(min_replicas=3, max_replicas=10),
            env=POOL,
            database_connections=POOL_CONNECTIONS,
            secret_env={
                "OPENAI_API_KEY": SecretRef(SECRET, "openai-api-key"),
                "ANTHROPIC_API_KEY": SecretRef(SECRET, "anthropic-api-key"),
                "DATABASE_URL": DATABASE_URL,
                "REDIS_URL": CACHE_URL,
            },
            calls_ai_providers=True,  # S0-10
            public=True,
            public_paths=API_PATHS,  # /api/benchmark/run, /api/benchmark/list
        ),
        # S0-02: the worker consumes the Redis task queue and scales separately (`worker=2`). It serves no HTTP
        # (no API, no /metrics: nothing scrapes it; its Service keeps the manual's name reachable for outputs).
        AppSpec(
            name=WORKER,
            namespace=NAMESPACE,
            image_repository="ai-benchmark",
            port=8000,
            probes=WORKER_PROBES,
            scraped=False,
            resources=Resources({"cpu": "250m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"}),
            replicas=2,
            env={**POOL, "ROLE": "worker", "HEARTBEAT_FILE": HEARTBEAT_FILE},
            database_connections=POOL_CONNECTIONS,
            secret_env={
                "OPENAI_API_KEY": SecretRef(SECRET, "openai-api-key"),
                "ANTHROPIC_API_KEY": SecretRef(SECRET, "anthropic-api-key"),
                "DATABASE_URL": DATABASE_URL,
                "REDIS_URL": CACHE_URL,
            },
            calls_ai_providers=True,
            serves_requests=False,
            termination_grace_seconds=120,  # lets a running benchmark step finish
        ),
    ),
)
