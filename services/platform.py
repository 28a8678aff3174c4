"""Platform V1/V2/V3 [004-platform-v1-v2-v3-operations-runbook.md]: S4-01, S4-02, S4-03, S4-06, S4-08."""

from components.app_deployment import Autoscaling, Probe, Probes, Resources, SecretRef
from services.conventions import AI_KEYS, DATABASE_URL
from services.spec import AppSpec, DatabaseSpec, SchemaRole, SecretSpec, ServiceSpec

V1, V2, V3 = "platform-v1-exp", "platform-v2-stable", "platform-v3-quarantine"  # S4-01
SECRET = SecretRef("platform-secrets", "primary_ai_api_key")  # S4-06
LIVE = Probes(liveness=Probe("/health/live", 10, 10), readiness=Probe("/health/live", 5, 5))


def _api(version: str, namespace: str, **fields) -> AppSpec:
    return AppSpec(
        name=f"platform-{version}-api",
        namespace=namespace,
        image_repository=f"platform-{version}",
        port=8000,
        probes=LIVE,
        container_name="api",  # S4-02: `kubectl set image ... api=...`
        secret_env=fields.pop("secret_env", {"DATABASE_URL": DATABASE_URL}),
        **fields,
    )


SERVICE = ServiceSpec(
    name="platform",
    manual="004-platform-v1-v2-v3-operations-runbook.md",
    namespaces=(V2, V1, V3),
    secrets=(SecretSpec(SECRET.secret, (V2, V1), from_config={SECRET.key: AI_KEYS["primary"]}),),
    # S4-05: one database `platform`, a schema per tier plus `audit`, pg_stat_statements on; it runs with
    # the production tier and the experiment and quarantine tiers connect to it too.
    database=DatabaseSpec(
        V2,
        "platform",
        "platform_user",  # the manual's `psql -U platform_user`
        parameters={"max_connections": "200"},
        schemas=("production", "experiments_v1", "quarantine", "audit"),
        pg_stat_statements=True,
        # S4-04: V1 and V3 connect as their own roles, owning only their schema, never as V2's owner.
        reader_roles={V1: SchemaRole("platform_v1", "experiments_v1"), V3: SchemaRole("platform_v3", "quarantine")},
    ),
    apps=(
        _api(
            "v2",
            V2,
            resources=Resources({"cpu": "500m", "memory": "1Gi"}, {"cpu": "1", "memory": "2Gi"}),
            autoscaling=Autoscaling(min_replicas=3, max_replicas=15, name="platform-v2-hpa"),  # S4-03
            secret_env={"DATABASE_URL": DATABASE_URL, "PRIMARY_AI_API_KEY": SECRET},
            env={"PLATFORM_TIER": "v2", "DATABASE_SCHEMA": "production"},
            calls_ai_providers=True,
            public=True,
        ),
        # S4-08: V1 experiments tolerate interruptions and run on spot capacity.
        _api(
            "v1",
            V1,
            resources=Resources({"cpu": "250m", "memory": "512Mi"}, {"cpu": "1", "memory": "1Gi"}),
            replicas=1,
            spot=True,
            secret_env={"DATABASE_URL": DATABASE_URL, "PRIMARY_AI_API_KEY": SECRET},
            env={"PLATFORM_TIER": "v1", "DATABASE_SCHEMA": "experiments_v1"},
            calls_ai_providers=True,
        ),
        # S4-08: V3 quarantine runs on minimal resources.
        _api(
            "v3",
            V3,
            resources=Resources({"cpu": "50m", "memory": "128Mi"}, {"cpu": "200m", "memory": "256Mi"}),
            replicas=1,
            env={"PLATFORM_TIER": "v3", "DATABASE_SCHEMA": "quarantine"},
        ),
    ),
)
