"""CAD ML Platform [003-cad-ml-platform-operations-manual.md]: S3-01, S3-07, S3-08, S3-09."""

from collections.abc import Mapping

from components.alert_rules import Alert, Scenario, threshold_alert
from components.alert_scenarios import counter, gauge, series
from components.app_deployment import Autoscaling, Probe, Probes, Resources, SecretRef
from components.app_observability import memory_of_limit, resources_row, service_down
from components.certificate_observability import certificate_expiry
from components.dashboards import DashboardSpec, PanelSpec, Query, RowSpec, Threshold, good_below
from components.monitoring_observability import metrics_copy_stale
from components.ops_dashboards import alerts_dashboard, capacity_dashboard
from components.postgres_observability import database_alerts, database_row
from components.public_hosts import PathMatch
from components.redis_observability import redis_down, redis_row
from services.conventions import API_PATHS, CACHE_URL, DATABASE_URL, MONITORING_NAMESPACE, database_cluster, redis_1gb
from services.spec import AppSpec, DatabaseSpec, Observability, PoolerSpec, SecretSpec, ServiceSpec

NAME = "cad-ml-platform"
ADMIN_SECRET = "cad-ml-platform-admin"


def _observability() -> Observability:
    ns = service = NAME
    pod = {"namespace": ns, "pod": f"{ns}-0"}

    def reading(metric: str, value: float, **labels: str) -> dict[str, str]:
        return {series(metric, {**pod, **labels}): gauge(value)}

    def errors(provider: str, code: str, per_minute: float) -> dict[str, str]:
        return {series("ocr_errors_total", {**pod, "provider": provider, "code": code}): counter(per_minute)}

    def compare(per_status: Mapping[str, float]) -> dict[str, str]:
        return {
            series("compare_requests_total", {**pod, "status": status}): counter(n) for status, n in per_status.items()
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
        threshold_alert(
            "HighErrorRate",
            f'max by (namespace) (platform_error_ratio{{namespace="{ns}"}}) > 0.05',
            "5m",
            "critical",
            "Platform error rate above 5 %",
            "platform_error_ratio is {{ $value | humanizePercentage }} (alert above 5 %, target below 1 %).",
            reading("platform_error_ratio", 0.08),
            reading("platform_error_ratio", 0.04),
            "8%",
            {"namespace": ns},
        ),
        threshold_alert(
            "ProviderDegraded",
            f'min by (namespace, provider) (provider_health_score{{namespace="{ns}"}}) < 50',
            "10m",
            "warning",
            "Provider {{ $labels.provider }} degraded",
            'Provider {{ $labels.provider }} health score is {{ $value | printf "%.0f" }} (alert below 50, '
            "target above 95). Consider DISABLED_PROVIDERS and resetting its circuit breaker.",
            reading("provider_health_score", 30, provider="deepseek"),
            reading("provider_health_score", 60, provider="deepseek"),
            "30",
            {"namespace": ns, "provider": "deepseek"},
        ),
        threshold_alert(
            "HighLatency",
            f'max by (namespace) (ocr_p95_latency_seconds{{namespace="{ns}"}}) > 2',
            "10m",
            "warning",
            "OCR p95 latency above 2 s",
            'OCR p95 latency is {{ $value | printf "%.2f" }} s (alert above 2 s, target below 1 s).',
            reading("ocr_p95_latency_seconds", 3.5),
            reading("ocr_p95_latency_seconds", 1.5),
            "3.50",
            {"namespace": ns},
        ),
        threshold_alert(
            "ErrorBudgetLow",
            f'min by (namespace) (error_budget_remaining{{namespace="{ns}"}}) < 20',
            "5m",
            "warning",
            "Less than 20 % of the error budget remains",
            '{{ $value | printf "%.1f" }} % of the SLO error budget remains (alert below 20 %, target above 50 %). '
            "Freeze risky deployments.",
            reading("error_budget_remaining", 12),
            reading("error_budget_remaining", 25),
            "12.0",
            {"namespace": ns},
        ),
        threshold_alert(
            "CircuitBreakerOpen",
            f'max by (namespace) (circuit_breaker_open_ratio{{namespace="{ns}"}}) > 0.5',
            "5m",
            "critical",
            "Most provider circuit breakers are open",
            "{{ $value | humanizePercentage }} of circuit breakers are open (alert above 50 %).",
            reading("circuit_breaker_open_ratio", 0.75),
            reading("circuit_breaker_open_ratio", 0.45),
            "75%",
            {"namespace": ns},
        ),
        # The manual's runbook directory: provider timeouts (PROVIDER_TIMEOUT is 10 s) show in its per-provider
        # error codes; model load errors and memory exhaustion (OOM kills) are its other runbooks.
        threshold_alert(
            "ProviderTimeout",
            f'sum by (namespace, provider) (rate(ocr_errors_total{{namespace="{ns}",code="timeout"}}[5m])) > 0.1',
            "10m",
            "warning",
            "Provider {{ $labels.provider }} times out",
            'Provider {{ $labels.provider }} times out {{ $value | printf "%.2f" }} times a second (alert above '
            "0.1/s, PROVIDER_TIMEOUT 10 s): raise PROVIDER_TIMEOUT or set DISABLED_PROVIDERS.",
            errors("deepseek", "timeout", 12),
            errors("deepseek", "timeout", 3),
            "0.20",
            {"namespace": ns, "provider": "deepseek"},
        ),
        threshold_alert(
            "ModelLoadError",
            f'sum by (namespace) (increase(model_load_errors_total{{namespace="{ns}"}}[10m])) > 0',
            "0m",
            "warning",
            "A model failed to load",
            '{{ $value | printf "%.0f" }} model loads failed in the last 10 minutes: restart the pod, or raise its '
            "memory limit if it was OOM-killed while loading.",
            {series("model_load_errors_total", pod): counter(1)},
            {series("model_load_errors_total", pod): counter(0)},
            "5",
            {"namespace": ns},
        ),
        memory_of_limit("MemoryExhaustion", ns, 0.9, "Memory above 90 % of the limit"),
        certificate_expiry(("api", "prom", "grafana")),  # S3-03's hosts; the manual checks their expiry daily
        metrics_copy_stale(MONITORING_NAMESPACE),  # S3-11: Prometheus data RPO 24 h
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
        service_down(ns, NAME),
        redis_down(ns),
        *database_alerts(ns, database_cluster(service)),
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
            (NAME,),
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
            (NAME,),
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
                resources_row(ns),
            ),
            "Latency, throughput and resources (S3-06).",
            (NAME,),
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
                database_row(ns, database_cluster(service)),
                redis_row(ns),
            ),
            "SLO compliance and error budget (S3-06).",
            (NAME,),
        ),
        # The manual's morning check (`/d/alerts`) and monthly capacity review (`/d/capacity`).
        alerts_dashboard("alerts", "CAD ML Platform / Alerts", NAME),
        capacity_dashboard(
            "capacity",
            "CAD ML Platform / Capacity",
            NAME,
            ns,
            Query(f"sum(rate(ocr_requests_total{{{selector}}}[1h]))", "OCR requests per second (1 h)"),
            database_cluster(service),
            redis=True,
        ),
    )
    return Observability(alerts, dashboards)


SERVICE = ServiceSpec(
    observability=_observability(),
    name=NAME,
    manual="003-cad-ml-platform-operations-manual.md",
    namespaces=(NAME,),
    secrets=(SecretSpec(ADMIN_SECRET, (NAME,), generated={"admin-token": 48}),),  # S3-08
    # S3-04: cad_ml_platform owned by app, max_connections 200, shared_buffers 1GB.
    database=DatabaseSpec(
        NAME,
        "cad_ml_platform",
        "app",
        parameters={"max_connections": "200", "shared_buffers": "1GB"},
        resources=Resources({"cpu": "1", "memory": "4Gi"}, {"cpu": "2", "memory": "4Gi"}),
        # CONNECTION_POOL_SIZE 20 a pod, stable at its maximum plus the canary: through PgBouncer.
        pooler=PoolerSpec(),
    ),
    cache=redis_1gb(NAME),
    apps=(
        AppSpec(
            name=NAME,
            namespace=NAME,
            image_repository=NAME,
            port=8000,
            # S3-01: the manual documents /health (no /ready), so both probes use it.
            probes=Probes(liveness=Probe("/health", 10, 10), readiness=Probe("/health", 5, 5)),
            resources=Resources({"cpu": "1000m", "memory": "2Gi"}, {"cpu": "2000m", "memory": "4Gi"}),  # S3-09
            autoscaling=Autoscaling(min_replicas=3, max_replicas=8),  # S3-01: 3 replicas, scalable to 6+
            env={  # S3-07
                "MAX_WORKERS": "4",
                "THREAD_POOL_SIZE": "10",
                "CONNECTION_POOL_SIZE": "20",
                "REDIS_MAX_CONNECTIONS": "50",
                "CACHE_TTL": "3600",
                "ENABLE_QUERY_CACHE": "true",
                "REQUEST_TIMEOUT": "30",
                "PROVIDER_TIMEOUT": "10",
                "CIRCUIT_BREAKER_TIMEOUT": "60",
                "DISABLED_PROVIDERS": "",
                "CLASSIFIER_CACHE_MAX_SIZE": "1000",
                "CLASSIFIER_RATE_LIMIT_PER_MIN": "120",
                "CLASSIFIER_RATE_LIMIT_BURST": "20",
            },
            secret_env={
                "ADMIN_TOKEN": SecretRef(ADMIN_SECRET, "admin-token"),
                "DATABASE_URL": DATABASE_URL,
                "REDIS_URL": CACHE_URL,
            },
            database_connections=20,  # CONNECTION_POOL_SIZE
            calls_ai_providers=True,  # OCR/AI providers (e.g. `DISABLED_PROVIDERS=deepseek`)
            public=True,
            host_label="api",  # S3-03: https://api.<domain>
            # The API (/api/compare, /api/v1/...) and its reference (https://api.<domain>/docs, which loads
            # /openapi.json); /admin/* (S3-08: reset-circuit-breaker), /metrics and /health stay inside.
            public_paths=(*API_PATHS, PathMatch("/docs", "Exact"), PathMatch("/openapi.json", "Exact")),
        ),
    ),
)
