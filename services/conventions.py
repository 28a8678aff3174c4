"""Conventions shared by the service modules."""

from components.app_deployment import Probe, Probes, Resources, SecretRef
from components.public_hosts import PathMatch
from services.spec import CacheSpec, ConfigSecret

# `/health` for liveness, `/ready` for readiness on the app port.
HTTP_PROBES = Probes(liveness=Probe("/health", initial_delay_seconds=10), readiness=Probe("/ready", period_seconds=5))

# Each service namespace holds its connection Secrets under these names (S1-04 names `redis-secret`);
# the data tier creates them, the apps only reference them.
DATABASE_URL = SecretRef("database-secret", "url")
CACHE_URL = SecretRef("redis-secret", "url")

# AI provider keys are the secrets the program cannot generate (X-12, S0-10, S1-04, S4-06).
AI_KEYS = {
    "openai": ConfigSecret("openaiApiKey", "OpenAI API key"),
    "anthropic": ConfigSecret("anthropicApiKey", "Anthropic API key"),
    "google": ConfigSecret("googleAiApiKey", "Google AI API key"),
    "primary": ConfigSecret("primaryAiApiKey", "primary AI provider API key of the platform tiers"),
    "secondary": ConfigSecret(
        "secondaryAiApiKey", "secondary AI provider API key of the platform tiers (used while the primary is down)"
    ),
}

# what the Gateway serves of a public app: its REST API under /api. `/metrics`, the probes (`/health`,
# `/ready`) and admin paths stay inside the cluster; any other path answers 404 at the Gateway.
API_PATHS = (PathMatch("/api"),)

# Where Prometheus, Alertmanager and Grafana run (ours, or the cluster team's when the add-on is off).
MONITORING_NAMESPACE = "monitoring"
# The log stack (S2-04): Elasticsearch and Kibana, and the shipper on every node (a namespace of its own: it
# reads the nodes' /var/log, which only Pod Security `privileged` admits).
LOGGING_NAMESPACE = "logging"
LOG_SHIPPING_NAMESPACE = "log-shipping"
# The one public Gateway.
GATEWAY_NAME = "public"
# Public hosts of the monitoring stack under the stack's domain (S3-03): `prom.<domain>`, `grafana.<domain>`.
PROMETHEUS_HOST_LABEL = "prom"
GRAFANA_HOST_LABEL = "grafana"
# Kibana's public host (S2-04): `kibana.<domain>`.
KIBANA_HOST_LABEL = "kibana"

# Each namespace's Redis is `redis`, as the manuals' apps call it. The CloudNativePG cluster is named after
# its service so that its name (and its Services `<cluster>-rw`/`-ro`) is unique across the stack.
CACHE_HOST = "redis"
SHARED_STORAGE_CLASS = "efs-sc"
"""The ReadWriteMany StorageClass (the EFS CSI driver's) that volumes every pod of an app mounts default to; the
README names it among the cluster's prerequisites."""


# S0-03: where a manual gives no pool size, its Python services are taken to use SQLAlchemy's default pool:
# 5 connections and 10 more on overflow per process.
DEFAULT_POOL_CONNECTIONS = 5 + 10


def database_cluster(service: str) -> str:
    return f"{service}-db"


def redis_1gb(namespace: str, policy: str = "allkeys-lru") -> CacheSpec:
    """The manuals' Redis: 1 GB of data (S2-03), the limit leaving room for AOF rewrites and buffers."""
    return CacheSpec(
        namespace,
        maxmemory="1gb",
        policy=policy,
        resources=Resources({"cpu": "250m", "memory": "1536Mi"}, {"cpu": "1", "memory": "1536Mi"}),
    )
