"""Agent Skeptic Bench [001-agent-skeptic-bench-operational-readiness.md]: S1-01..S1-05, S1-10."""

import yaml

from components.app_deployment import Autoscaling, Probe, Probes, Resources, SecretRef, WritableDir
from services.conventions import AI_KEYS, CACHE_HOST, CACHE_URL, DATABASE_URL, database_cluster, redis_1gb
from services.spec import AppSpec, DatabaseSpec, SecretSpec, ServiceSpec

NAME = "agent-skeptic-bench"
SECRET = "agent-skeptic-bench-secrets"

# S1-05: /app/config/production.yaml as the manual writes it; hosts point at this namespace's stores.
PRODUCTION_CONFIG = {
    "server": {"port": 8000, "host": "0.0.0.0", "cors": {"origin": [], "credentials": True}},
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

SERVICE = ServiceSpec(
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
    database=DatabaseSpec(NAME, "skeptic_bench", "skeptic", parameters={"max_connections": "200"}),
    # S1-06: Redis 7 with append-only persistence; S1-10 replicas for growth (set per stack).
    cache=redis_1gb(NAME),
    apps=(
        AppSpec(
            name=NAME,
            namespace=NAME,
            image_repository=NAME,
            port=8000,
            metrics_port=9090,  # S1-03 METRICS_PORT
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
                "CORS_ORIGINS": "",  # set per stack to the public origin
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
            config_files={"production.yaml": yaml.safe_dump(PRODUCTION_CONFIG, sort_keys=False)},
            writable_dirs=(WritableDir("/app/results", "10Gi"), WritableDir("/app/logs", "2Gi")),
            calls_ai_providers=True,
            public=True,
        ),
    ),
)
