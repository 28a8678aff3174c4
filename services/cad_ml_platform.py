"""CAD ML Platform [003-cad-ml-platform-operations-manual.md]: S3-01, S3-07, S3-08, S3-09."""

from components.app_deployment import Autoscaling, Probe, Probes, Resources, SecretRef
from services.conventions import CACHE_URL, DATABASE_URL, redis_1gb
from services.spec import AppSpec, DatabaseSpec, SecretSpec, ServiceSpec

NAME = "cad-ml-platform"
ADMIN_SECRET = "cad-ml-platform-admin"

SERVICE = ServiceSpec(
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
            calls_ai_providers=True,  # OCR/AI providers (e.g. `DISABLED_PROVIDERS=deepseek`)
            public=True,
        ),
    ),
)
