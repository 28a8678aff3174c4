"""DocC2Context Service [002-docc2context-operations-guide.md]: S2-01, S2-02, S2-08."""

from components.app_deployment import Autoscaling, Resources, WritableDir
from services.conventions import CACHE_URL, HTTP_PROBES, redis_1gb
from services.spec import AppSpec, ServiceSpec

NAME = "docc2context"

SERVICE = ServiceSpec(
    name=NAME,
    manual="002-docc2context-operations-guide.md",
    namespaces=(NAME,),
    # S2-03: Redis for cache and rate limiting with 1 Gi of memory; no Postgres.
    cache=redis_1gb(NAME),
    apps=(
        AppSpec(
            name="docc2context-api",
            namespace=NAME,
            image_repository=NAME,
            port=8000,
            probes=HTTP_PROBES,
            # S2-01: per instance 2 CPU / 2 Gi limits, 1 CPU / 1 Gi requests.
            resources=Resources({"cpu": "1", "memory": "1Gi"}, {"cpu": "2", "memory": "2Gi"}),
            # S2-08: scale out when CPU > 75 % for 10 minutes or memory > 80 %.
            autoscaling=Autoscaling(min_replicas=2, max_replicas=6, scale_up_stabilization_seconds=600),
            # S2-02: 50 Gi per instance for temporary workspaces and logs, not kept across restarts.
            writable_dirs=(WritableDir("/app/workspaces", "44Gi"), WritableDir("/app/logs", "5Gi")),
            ephemeral_storage="50Gi",
            secret_env={"REDIS_URL": CACHE_URL},
            public=True,
        ),
    ),
)
