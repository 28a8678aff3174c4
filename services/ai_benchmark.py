"""AI Benchmark Service [000-ai-benchmark-service-operations.md]: S0-01, S0-02, S0-03, S0-08, S0-10."""

from components.app_deployment import Autoscaling, Probe, Probes, Resources, SecretRef
from services.conventions import AI_KEYS, CACHE_URL, DATABASE_URL, HTTP_PROBES, redis_1gb
from services.spec import AppSpec, DatabaseSpec, SecretSpec, ServiceSpec

NAMESPACE = "ai-benchmark"
SECRET = "ai-benchmark-secrets"

SERVICE = ServiceSpec(
    name="ai-benchmark",
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
    database=DatabaseSpec(NAMESPACE, "benchmark_db", "benchmark_user", parameters={"max_connections": "200"}),
    # S0-04: task queue, session cache and rate limiting; a queue must never evict, so noeviction.
    cache=redis_1gb(NAMESPACE, "noeviction"),
    apps=(
        # S0-01, S0-08: FastAPI on 8000, 0.25/256Mi requests, 0.5/512Mi limits, 3 web replicas.
        AppSpec(
            name="ai-benchmark-api",
            namespace=NAMESPACE,
            image_repository="ai-benchmark",
            port=8000,
            probes=HTTP_PROBES,
            resources=Resources({"cpu": "250m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"}),
            autoscaling=Autoscaling(min_replicas=3, max_replicas=10),
            env={"DATABASE_POOL_SIZE": "20", "DATABASE_MAX_OVERFLOW": "10"},  # S0-03
            secret_env={
                "OPENAI_API_KEY": SecretRef(SECRET, "openai-api-key"),
                "ANTHROPIC_API_KEY": SecretRef(SECRET, "anthropic-api-key"),
                "DATABASE_URL": DATABASE_URL,
                "REDIS_URL": CACHE_URL,
            },
            calls_ai_providers=True,  # S0-10
            public=True,
        ),
        # S0-02: the worker consumes the Redis task queue and scales separately (`worker=2`). It serves
        # no API; it exposes the same health and metrics endpoints on 8000 for probes and scraping.
        AppSpec(
            name="ai-benchmark-worker",
            namespace=NAMESPACE,
            image_repository="ai-benchmark",
            port=8000,
            probes=Probes(liveness=Probe("/health", period_seconds=15), readiness=Probe("/ready", period_seconds=10)),
            resources=Resources({"cpu": "250m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"}),
            replicas=2,
            env={"DATABASE_POOL_SIZE": "20", "DATABASE_MAX_OVERFLOW": "10", "ROLE": "worker"},
            secret_env={
                "OPENAI_API_KEY": SecretRef(SECRET, "openai-api-key"),
                "ANTHROPIC_API_KEY": SecretRef(SECRET, "anthropic-api-key"),
                "DATABASE_URL": DATABASE_URL,
                "REDIS_URL": CACHE_URL,
            },
            calls_ai_providers=True,
            termination_grace_seconds=120,  # lets a running benchmark step finish
        ),
    ),
)
