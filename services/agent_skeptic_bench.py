"""Agent Skeptic Bench [001-agent-skeptic-bench-operational-readiness.md]: S1-01..S1-05, S1-10."""

from collections.abc import Mapping

import yaml

from components.alert_rules import Alert, Scenario
from components.alert_scenarios import counter, series
from components.app_deployment import Autoscaling, Probe, Probes, Resources, SecretRef
from components.app_observability import http_row, memory_of_limit, resources_row, service_down, volume_stats
from components.app_volumes import WritableDir
from components.certificate_observability import certificate_expiry
from components.dashboards import DashboardSpec, PanelSpec, Query, RowSpec
from components.postgres_observability import database_alerts, database_down, database_row
from components.redis_observability import redis_down, redis_row
from services.conventions import (
    AI_KEYS,
    API_PATHS,
    CACHE_HOST,
    CACHE_URL,
    DATABASE_URL,
    DEFAULT_POOL_CONNECTIONS,
    SHARED_STORAGE_CLASS,
    database_cluster,
    redis_1gb,
)
from services.spec import AppSpec, DatabaseSpec, Observability, PoolerSpec, SecretSpec, ServiceSpec, VolumeSpec

NAME = "agent-skeptic-bench"
SECRET = "agent-skeptic-bench-secrets"

# S1-05: /app/config/production.yaml as the manual writes it; hosts point at this namespace's stores.
PRODUCTION_CONFIG = {
    # The allowed origins differ per stack: they come from CORS_ORIGINS (S1-03), not from this shared file.
    "server": {"port": 8000, "host": "0.0.0.0", "cors": {"credentials": True}},
    "database": {"host": f"{database_cluster(NAME)}-rw", "port": 5432, "name": "skeptic_bench", "ssl": "require"},
    "redis": {"host": CACHE_HOST, "port": 6379, "db": 0},
    "ai_providers": {
        "openai": {"timeout": 30, "max_retries": 3, "rate_limit": 50},
        "anthropic": {"timeout": 30, "max_retries": 3, "rate_limit": 40},
        "google": {"timeout": 30, "max_retries": 3, "rate_limit": 30},
    },
    "evaluation": {"max_concurrent": 10, "timeout": 300, "cache_ttl": 3600},
    "monitoring": {"prometheus": {"enabled": True, "port": 9090}, "alerts": {"enabled": True}},
    "logging": {"level": "info", "format": "json", "file": "/app/logs/application.log"},
}


def _observability() -> Observability:
    ns = service = NAME
    request = {"namespace": ns, "pod": f"{ns}-0", "method": "POST", "endpoint": "/api/evaluate", "status": "500"}

    def buckets(counts: Mapping[str, float]) -> dict[str, str]:
        return {
            series("http_request_duration_seconds_bucket", {"namespace": ns, "le": le}): counter(n)
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
                Scenario({series("http_requests_total", request): counter(12)}, "10m", True, request, "0.200"),
                Scenario({series("http_requests_total", request): counter(5.4)}, "10m", False),
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
        database_down(ns, database_cluster(service)),
        redis_down(ns),
        memory_of_limit("HighMemoryUsage", ns, 0.9, "High memory usage"),
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
                    volume_stats(ns, 5_000_000_000),
                    "10m",
                    True,
                    {"namespace": ns, "persistentvolumeclaim": "data"},
                    "5%",
                ),
                Scenario(volume_stats(ns, 11_000_000_000), "10m", False),
            ),
        ),
        service_down(ns, NAME),
        *[a for a in database_alerts(ns, database_cluster(service)) if a.name != "DatabaseConnectionFailure"],
        certificate_expiry((NAME,)),  # "Daily security checks: verify certificate status"
    )
    selector = f'namespace="{ns}"'
    dashboards = (
        DashboardSpec(
            "agent-skeptic-bench-overview",
            "Agent Skeptic Bench / Overview",
            (
                http_row(ns, 5),
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
                resources_row(ns),
            ),
            "Requests, evaluations and resources (S1-08).",
            (NAME,),
        ),
        DashboardSpec(
            "agent-skeptic-bench-data",
            "Agent Skeptic Bench / Data Stores",
            (database_row(ns, database_cluster(service)), redis_row(ns)),
            "PostgreSQL and Redis health and backups.",
            (NAME,),
        ),
    )
    # S1-11: this service's alerts also go to the webhook receiver.
    return Observability(alerts, dashboards, webhook=True)


SERVICE = ServiceSpec(
    observability=_observability(),
    name=NAME,
    manual="001-agent-skeptic-bench-operational-readiness.md",
    namespaces=(NAME,),
    secrets=(
        SecretSpec(
            SECRET,
            (NAME,),
            from_config={
                "openai-api-key": AI_KEYS["openai"],
                "anthropic-api-key": AI_KEYS["anthropic"],
                "google-ai-api-key": AI_KEYS["google"],
            },
            generated={"jwt-secret": 64},
        ),
    ),
    # S1-07: Postgres 15+ database skeptic_bench owned by skeptic, TLS required; S1-10 read replicas.
    # At its HPA maximum the app's pools (15 a pod) exceed what 200 connections leave: PgBouncer in between.
    database=DatabaseSpec(NAME, "skeptic_bench", "skeptic", parameters={"max_connections": "200"}, pooler=PoolerSpec()),
    # S1-06: Redis 7 with append-only persistence; S1-10 replicas for growth (set per stack).
    cache=redis_1gb(NAME),
    apps=(
        AppSpec(
            name=NAME,
            namespace=NAME,
            image_repository=NAME,
            # The manual's code serves /metrics from the app itself (`@app.get("/metrics")` on PORT 8000), so that
            # is what Prometheus scrapes; METRICS_PORT stays set as S1-03 lists it.
            port=8000,
            # S1-02: liveness /health 30 s / 10 s, readiness /ready 5 s / 5 s.
            probes=Probes(liveness=Probe("/health", 30, 10), readiness=Probe("/ready", 5, 5)),
            resources=Resources({"cpu": "1000m", "memory": "2Gi"}, {"cpu": "2000m", "memory": "4Gi"}),
            autoscaling=Autoscaling(min_replicas=3, max_replicas=10),  # S1-01 three replicas, S1-10 HPA
            env={
                "NODE_ENV": "production",
                "LOG_LEVEL": "info",
                "PORT": "8000",
                "MAX_CONCURRENT_EVALUATIONS": "10",
                "MAX_REQUESTS_PER_MINUTE": "100",
                "PROMETHEUS_ENABLED": "true",
                "METRICS_PORT": "9090",
                "HEALTH_CHECK_ENABLED": "true",
                "TRUST_PROXY": "true",
            },
            secret_env={
                "REDIS_URL": CACHE_URL,
                "DATABASE_URL": DATABASE_URL,
                "OPENAI_API_KEY": SecretRef(SECRET, "openai-api-key"),
                "ANTHROPIC_API_KEY": SecretRef(SECRET, "anthropic-api-key"),
                "GOOGLE_AI_API_KEY": SecretRef(SECRET, "google-ai-api-key"),
                "JWT_SECRET": SecretRef(SECRET, "jwt-secret"),
            },
            database_connections=DEFAULT_POOL_CONNECTIONS,  # the manual gives no pool size
            cors_origins_env="CORS_ORIGINS",  # S1-03: per stack `corsOrigins`, by default its own public origin
            config_files={"production.yaml": yaml.safe_dump(PRODUCTION_CONFIG, sort_keys=False)},
            writable_dirs=(WritableDir("/app/logs", "2Gi", logs=True),),
            # S1-05 `./results:/app/results:rw`; the manual's storage: 50 GB at least, 200 GB+ recommended. Every
            # replica writes results that outlive it, so they share one persistent volume.
            volume=VolumeSpec(
                "results", "/app/results", "200Gi", shared=True, min_size="50Gi", storage_class=SHARED_STORAGE_CLASS
            ),
            calls_ai_providers=True,
            public=True,
            public_paths=API_PATHS,  # the evaluation API; /metrics, /health and /ready stay inside
        ),
    ),
)
