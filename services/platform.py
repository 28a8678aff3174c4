"""Platform V1/V2/V3 [004-platform-v1-v2-v3-operations-runbook.md]: S4-01, S4-02, S4-03, S4-06, S4-08."""

from components.alert_rules import Alert, Scenario
from components.app_deployment import Autoscaling, Probe, Probes, Resources, SecretRef
from components.app_observability import http_error_ratio, http_row, http_traffic, resources_row, service_down
from components.dashboards import DashboardSpec, PanelSpec, Query, RowSpec, good_above
from components.postgres_observability import database_alerts, database_row
from services.conventions import AI_KEYS, API_PATHS, DATABASE_URL, DEFAULT_POOL_CONNECTIONS, database_cluster
from services.spec import AppSpec, DatabaseSpec, Observability, PoolerSpec, SchemaRole, SecretSpec, ServiceSpec

NAME = "platform"
V1, V2, V3 = "platform-v1-exp", "platform-v2-stable", "platform-v3-quarantine"  # S4-01
V2_API = "platform-v2-api"
SECRET = SecretRef("platform-secrets", "primary_ai_api_key")  # S4-06
# Manual 004's SLO breach mitigation: "switch to secondary AI provider if primary is down" (its experiments name
# a secondary model too); the key sits beside the primary one in the same Secret.
SECONDARY = SecretRef(SECRET.secret, "secondary_ai_api_key")
AI_PROVIDER_KEYS = {"PRIMARY_AI_API_KEY": SECRET, "SECONDARY_AI_API_KEY": SECONDARY}
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
        database_connections=DEFAULT_POOL_CONNECTIONS,  # the manual gives no pool size
        **fields,
    )


def _observability() -> Observability:
    service = NAME
    v2, v1, v3 = V2, V1, V3
    # V2 serves production (S4-01); its availability objective is 99.9 %. Manual 004 names no metrics: the
    # tiers are assumed to export the same HTTP metrics as the other FastAPI services.
    alerts = (
        Alert(
            "SLOViolation",
            http_error_ratio(v2, "1h") + " > 0.001",
            "5m",
            "critical",
            "V2 production is violating its availability SLO",
            '{{ $value | printf "%.4f" }} of V2 requests failed in the last hour (objective: at most 0.001). '
            "Check /metrics/slo-compliance, recent deployments, and roll back if needed.",
            (
                Scenario(http_traffic(v2, 1, 299), "70m", True, {"namespace": v2}, "0.0033"),
                Scenario(http_traffic(v2, 0.2, 299.8), "70m", False),
            ),
        ),
        Alert(
            "HighErrorRate",
            http_error_ratio(v2) + " > 0.05",
            "5m",
            "critical",
            "V2 production error rate above 5 %",
            "{{ $value | humanizePercentage }} of V2 requests return 5xx: check error logs, AI provider availability "
            "and database connectivity.",
            (
                Scenario(http_traffic(v2, 6, 54), "10m", True, {"namespace": v2}, "10%"),
                Scenario(http_traffic(v2, 2, 58), "10m", False),
            ),
        ),
        service_down(v2, V2_API),
        *database_alerts(v2, database_cluster(service)),
    )

    def endpoint_rate(ns: str, pattern: str, window: str = "5m") -> str:
        return f'sum(rate(http_requests_total{{namespace="{ns}",endpoint=~"{pattern}",status=~"2.."}}[{window}]))'

    def daily(ns: str, pattern: str) -> str:
        return f'sum(increase(http_requests_total{{namespace="{ns}",endpoint=~"{pattern}",status=~"2.."}}[1d]))'

    availability_1h = f"1 - ({http_error_ratio(v2, '1h')})"
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
                            (Query(f"1 - ({http_error_ratio(v2, '30d')})"),),
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
                http_row(v2, 1),
                database_row(v2, database_cluster(service)),
                resources_row(v2),
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
                resources_row(v1),
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
                resources_row(v3),
            ),
            "V3 quarantine activity (S4-09).",
            ("platform",),
        ),
    )
    return Observability(alerts, dashboards)


SERVICE = ServiceSpec(
    observability=_observability(),
    name=NAME,
    manual="004-platform-v1-v2-v3-operations-runbook.md",
    namespaces=(V2, V1, V3),
    secrets=(
        SecretSpec(
            SECRET.secret, (V2, V1), from_config={SECRET.key: AI_KEYS["primary"], SECONDARY.key: AI_KEYS["secondary"]}
        ),
    ),
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
        # Both V2 colours at 15 replicas, V1 and V3: every tier connects through PgBouncer, V1 and V3 too.
        pooler=PoolerSpec(),
    ),
    apps=(
        _api(
            "v2",
            V2,
            resources=Resources({"cpu": "500m", "memory": "1Gi"}, {"cpu": "1", "memory": "2Gi"}),
            autoscaling=Autoscaling(min_replicas=3, max_replicas=15, name="platform-v2-hpa"),  # S4-03
            secret_env={"DATABASE_URL": DATABASE_URL, **AI_PROVIDER_KEYS},
            env={"PLATFORM_TIER": "v2", "DATABASE_SCHEMA": "production"},
            calls_ai_providers=True,
            public=True,
            public_paths=API_PATHS,  # /api/v1/health/slo, /api/v1/metrics/slo-compliance, ...
            # S4-04: the manual names V2's isolation policy; it is the allow-list of where V2's pods may connect.
            egress_policy_name="v2-isolation",
        ),
        # S4-08: V1 experiments tolerate interruptions and run on spot capacity.
        _api(
            "v1",
            V1,
            resources=Resources({"cpu": "250m", "memory": "512Mi"}, {"cpu": "1", "memory": "1Gi"}),
            replicas=1,
            spot=True,
            # Manual 004: V1 promotes a passing experiment to V2 (`/api/v1/evaluation/promote/{id}`) and quarantines
            # a failed one in V3 (`/api/v1/evaluation/quarantine/{id}`, then V3's `/api/v1/quarantine/records`).
            calls={"PLATFORM_V2_URL": V2_API, "PLATFORM_V3_URL": "platform-v3-api"},
            secret_env={"DATABASE_URL": DATABASE_URL, **AI_PROVIDER_KEYS},
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
