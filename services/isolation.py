"""Wiring of isolation and access: each service's NetworkPolicy allow-lists and Roles (X-07, X-16, S4-04, S4-07).

Every service namespace denies all traffic by default (TenantNamespace: only DNS is open). The flows
below open exactly what the manuals need, on numeric ports:

- Prometheus (namespace `monitoring`) scrapes every app's metrics port, Postgres (9187) and Redis (9121);
- an app reaches its own service's Postgres (5432) and Redis (6379) when it uses them, and nothing of
  another service; apps of one service do not call each other (the worker takes work from Redis);
- apps that call AI providers reach the internet on 443 (never private or link-local addresses);
- the CloudNativePG operator reaches its instances (8000, 5432), instances reach each other
  (replication), the Kubernetes API and S3/STS (WAL archiving with IRSA); the dump job reaches the
  database and S3/STS, the restore check only S3/STS; the point-in-time drill reaches the database, its
  scratch cluster and the Kubernetes API, and the scratch cluster what an instance reaches; Redis replicas
  reach pod 0.
The Gateway's proxies are admitted to the public apps by PublicRoute, and blue-green smoke tests to their
colours by BlueGreen.

Platform (S4-04): V1 and V3 share V2's database, so their pods reach the database pods on 5432, and
nothing else of `platform-v2-stable`; V2's pods reach no V1 or V3 pod (their egress allow-list is the
manual's `v2-isolation` policy). At the database level V1 and V3 connect as their own roles, which own
only their schema (DatabaseSpec.reader_roles), never as V2's schema owner.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components import kube
from components.cluster_viewer import ClusterViewer, ClusterViewerArgs
from components.namespace_rbac import NamespaceRbac, NamespaceRbacArgs
from components.network_policies import Flow, Network, NetworkPolicies, NetworkPoliciesArgs, Pods
from components.pitr_drill import drill_names
from components.postgres_cluster import POSTGRES_PORT, backup_service_accounts
from components.redis_cache import METRICS_PORT as REDIS_METRICS_PORT
from components.redis_cache import PORT as REDIS_PORT
from components.tenant_namespace import TenantNamespace
from services.addons import CNPG_NAMESPACE
from services.catalog import AppSpec
from services.common import CACHE_HOST, MONITORING_NAMESPACE, database_cluster
from settings import NetworkPolicyConfig, ServiceSettings, Settings

HTTPS = 443
CNPG_STATUS_PORT = 8000
"""Instance manager's status endpoint; the operator polls it and instances query each other."""
POSTGRES_METRICS_PORT = 9187

# Pods the program does not declare itself, by the labels their controllers set.
PROMETHEUS = Pods("prometheus", MONITORING_NAMESPACE, {"app.kubernetes.io/name": "prometheus"})
CNPG_OPERATOR = Pods("cnpg-operator", CNPG_NAMESPACE, {"app.kubernetes.io/name": "cloudnative-pg"})

PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")
"""Private, link-local (instance metadata) and carrier-grade NAT ranges: never reached through the internet rule."""
INTERNET = Network("internet", ("0.0.0.0/0",), PRIVATE_RANGES)

# S4-04: the manual names V2's isolation policy; it is the allow-list of where V2's API pods may connect.
EGRESS_POLICY_NAMES = {"platform-v2-api": "v2-isolation"}


def deploy_service_isolation(
    service: ServiceSettings,
    settings: Settings,
    namespaces: Mapping[str, TenantNamespace],
    opts: pulumi.ResourceOptions,
) -> None:
    """NetworkPolicies and Roles in each of the service's namespaces."""
    flows = service_flows(service, settings.network_policy)
    labels = {"app.kubernetes.io/part-of": service.spec.name}
    rbac = settings.rbac
    for name, namespace in namespaces.items():
        namespace_ref = namespace.namespace.metadata.name
        NetworkPolicies(f"{name}-isolation", NetworkPoliciesArgs(name, flows, namespace_ref, labels), opts)
        NamespaceRbac(
            f"{name}-rbac",
            NamespaceRbacArgs(namespace_ref, rbac.operatorsGroup, rbac.deployersGroup, labels=labels),
            opts,
        )


def deploy_cluster_access(settings: Settings, opts: pulumi.ResourceOptions) -> ClusterViewer:
    """Operators may read namespaces and nodes; warns when the cluster does not enforce NetworkPolicies."""
    if not settings.network_policy.enforced:
        pulumi.log.warn(
            "ai-platform:networkPolicy.enforced is false: the cluster's CNI does not enforce NetworkPolicy, so "
            "no namespace is isolated (X-07). On EKS set the vpc-cni add-on configuration "
            '{"enableNetworkPolicy": "true"}, then set enforced to true.'
        )
    return ClusterViewer(
        "cluster-viewer",
        ClusterViewerArgs(settings.rbac.operatorsGroup, labels={"app.kubernetes.io/part-of": "ai-platform"}),
        opts,
    )


def service_flows(service: ServiceSettings, network: NetworkPolicyConfig) -> list[Flow]:
    """Every connection the service's pods may open or accept."""
    database = _database_pods(service)
    cache = _cache_pods(service)
    flows = []
    for app in service.apps.values():
        pods = app_pods(app.spec)
        flows.append(Flow(PROMETHEUS, pods, (app.spec.metrics_port or app.spec.port,)))
        if app.spec.uses_database and database is not None:
            flows.append(Flow(pods, database, (POSTGRES_PORT,)))
        if app.spec.uses_cache and cache is not None:
            flows.append(Flow(pods, cache, (REDIS_PORT,)))
        if app.spec.calls_ai_providers:
            flows.append(Flow(pods, INTERNET, (HTTPS,)))
    if database is not None:
        flows += _database_flows(database, network)
    if cache is not None:
        flows += [Flow(cache, cache, (REDIS_PORT,)), Flow(PROMETHEUS, cache, (REDIS_METRICS_PORT,))]
    return flows


def app_pods(spec: AppSpec) -> Pods:
    """Every pod of the app: rolling, both blue-green colours and a canary all carry `app: <app>`."""
    return Pods(spec.name, spec.namespace, {"app": spec.name}, EGRESS_POLICY_NAMES.get(spec.name))


def _database_pods(service: ServiceSettings) -> Pods | None:
    if service.database is None:
        return None
    cluster = database_cluster(service.spec.name)
    # CloudNativePG labels instances (and its initdb/join jobs) with the cluster name.
    return Pods(cluster, service.database.spec.namespace, {"cnpg.io/cluster": cluster})


def _cache_pods(service: ServiceSettings) -> Pods | None:
    if service.cache is None:
        return None
    return Pods(CACHE_HOST, service.cache.spec.namespace, kube.selector_labels(CACHE_HOST))


def _database_flows(database: Pods, network: NetworkPolicyConfig) -> list[Flow]:
    jobs = backup_service_accounts(database.labels["cnpg.io/cluster"])
    dump = Pods(jobs.dump_writer, database.namespace, kube.selector_labels(jobs.dump_writer))
    restore_check = Pods(jobs.restore_reader, database.namespace, kube.selector_labels(jobs.restore_reader))
    aws = Network("aws-apis", tuple(network.awsEndpointCidrs)) if network.awsEndpointCidrs else INTERNET
    api_server = Network("kubernetes-api", tuple(network.apiServerCidrs))
    return [
        Flow(CNPG_OPERATOR, database, (CNPG_STATUS_PORT, POSTGRES_PORT)),
        Flow(database, database, (POSTGRES_PORT, CNPG_STATUS_PORT)),
        Flow(PROMETHEUS, database, (POSTGRES_METRICS_PORT,)),
        Flow(database, api_server, (network.apiServerPort,)),
        Flow(database, aws, (HTTPS,)),
        Flow(dump, database, (POSTGRES_PORT,)),
        Flow(dump, aws, (HTTPS,)),
        Flow(restore_check, aws, (HTTPS,)),
        *_drill_flows(database, aws, api_server, network.apiServerPort),
    ]


def _drill_flows(database: Pods, aws: Network, api_server: Network, api_server_port: int) -> list[Flow]:
    """The point-in-time drill writes markers to the database, drives its scratch cluster through the API and
    checks it; the scratch cluster recovers like an instance (operator, API, S3)."""
    names = drill_names(database.labels["cnpg.io/cluster"])
    drill = Pods(names.job, database.namespace, kube.selector_labels(names.job))
    scratch = Pods(names.scratch_cluster, database.namespace, {"cnpg.io/cluster": names.scratch_cluster})
    return [
        Flow(drill, database, (POSTGRES_PORT,)),
        Flow(drill, scratch, (POSTGRES_PORT,)),
        Flow(drill, api_server, (api_server_port,)),
        Flow(CNPG_OPERATOR, scratch, (CNPG_STATUS_PORT, POSTGRES_PORT)),
        Flow(scratch, scratch, (POSTGRES_PORT, CNPG_STATUS_PORT)),
        Flow(scratch, api_server, (api_server_port,)),
        Flow(scratch, aws, (HTTPS,)),
    ]
