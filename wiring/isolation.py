"""Wiring of isolation and access: each service's NetworkPolicy allow-lists and Roles (X-07, X-16, S4-04, S4-07).

Every service namespace denies all traffic by default (TenantNamespace: only DNS is open). The flows
below open exactly what the manuals need, on numeric ports:

- Prometheus (namespace `monitoring`) scrapes every app's metrics port, Postgres (9187) and Redis (9121);
- an app reaches its own service's Postgres (5432) and Redis (6379) when it uses them, and nothing of
  another service; apps of one service do not call each other (the worker takes work from Redis);
- apps that call AI providers reach the internet on 443 (never private or link-local addresses);
- the CloudNativePG operator reaches its instances (8000, 5432), instances reach each other
  (replication), the Kubernetes API and S3/STS (WAL archiving with IRSA); the dump job reaches the
  database and S3/STS, the restore check only S3/STS; Redis replicas reach pod 0.
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

from components.cluster_viewer import ClusterViewer, ClusterViewerArgs
from components.namespace_rbac import NamespaceRbac, NamespaceRbacArgs
from components.network_policies import Flow, Network, NetworkPolicies, NetworkPoliciesArgs, Pods
from components.postgres_cluster import PostgresCluster
from components.redis_cache import RedisCache
from services.conventions import MONITORING_NAMESPACE
from settings import NetworkPolicyConfig, Settings
from wiring.addons import CNPG_NAMESPACE
from wiring.context import ServiceContext
from wiring.data import Stores
from wiring.delivery import DeliveredApp

HTTPS = 443

# Pods the program does not declare itself, by the labels their controllers set.
PROMETHEUS = Pods("prometheus", MONITORING_NAMESPACE, {"app.kubernetes.io/name": "prometheus"})
CNPG_OPERATOR = Pods("cnpg-operator", CNPG_NAMESPACE, {"app.kubernetes.io/name": "cloudnative-pg"})

PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")
"""Private, link-local (instance metadata) and carrier-grade NAT ranges: never reached through the internet rule."""
INTERNET = Network("internet", ("0.0.0.0/0",), PRIVATE_RANGES)

# S4-04: the manual names V2's isolation policy; it is the allow-list of where V2's API pods may connect.
EGRESS_POLICY_NAMES = {"platform-v2-api": "v2-isolation"}


def deploy_service_isolation(ctx: ServiceContext, apps: Mapping[str, DeliveredApp], stores: Stores) -> None:
    """NetworkPolicies and Roles in each of the service's namespaces."""
    flows = service_flows(ctx, apps, stores)
    rbac = ctx.settings.rbac
    for name, namespace in ctx.namespaces.items():
        namespace_ref = namespace.namespace.metadata.name
        opts = ctx.kubernetes
        NetworkPolicies(f"{name}-isolation", NetworkPoliciesArgs(name, flows, namespace_ref, ctx.labels), opts)
        NamespaceRbac(
            f"{name}-rbac",
            NamespaceRbacArgs(namespace_ref, rbac.operators_group, rbac.deployers_group, labels=ctx.labels),
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
        ClusterViewerArgs(settings.rbac.operators_group, labels={"app.kubernetes.io/part-of": "ai-platform"}),
        opts,
    )


def service_flows(ctx: ServiceContext, apps: Mapping[str, DeliveredApp], stores: Stores) -> list[Flow]:
    """Every connection the service's pods may open or accept, from what its components publish."""
    service = ctx.service
    database = _database_pods(ctx, stores.database)
    cache = _cache_pods(ctx, stores.cache)
    flows = []
    for name, app in service.apps.items():
        component = apps[name].component
        pods = Pods(name, app.spec.namespace, component.selector, EGRESS_POLICY_NAMES.get(name))
        flows.append(Flow(PROMETHEUS, pods, (component.metrics_port,)))
        if app.spec.uses_database and database is not None and stores.database is not None:
            flows.append(Flow(pods, database, (stores.database.port,)))
        if app.spec.uses_cache and cache is not None and stores.cache is not None:
            flows.append(Flow(pods, cache, (stores.cache.port,)))
        if app.spec.calls_ai_providers:
            flows.append(Flow(pods, INTERNET, (HTTPS,)))
    if database is not None and stores.database is not None:
        flows += _database_flows(stores.database, database, ctx.settings.network_policy)
    if cache is not None and stores.cache is not None:
        flows += [Flow(cache, cache, (stores.cache.port,)), Flow(PROMETHEUS, cache, (stores.cache.metrics_port,))]
    return flows


def _database_pods(ctx: ServiceContext, database: PostgresCluster | None) -> Pods | None:
    if database is None or ctx.service.database is None:
        return None
    return Pods(database.cluster_name, ctx.service.database.spec.namespace, database.selector)


def _cache_pods(ctx: ServiceContext, cache: RedisCache | None) -> Pods | None:
    if cache is None or ctx.service.cache is None:
        return None
    return Pods(cache.service_name, ctx.service.cache.spec.namespace, cache.selector)


def _database_flows(database: PostgresCluster, pods: Pods, network: NetworkPolicyConfig) -> list[Flow]:
    aws = Network("aws-apis", tuple(network.aws_endpoint_cidrs)) if network.aws_endpoint_cidrs else INTERNET
    api_server = Network("kubernetes-api", tuple(network.api_server_cidrs))
    flows = [
        Flow(CNPG_OPERATOR, pods, (database.status_port, database.port)),
        Flow(pods, pods, (database.port, database.status_port)),
        Flow(PROMETHEUS, pods, (database.metrics_port,)),
        Flow(pods, api_server, (network.api_server_port,)),
        Flow(pods, aws, (HTTPS,)),
    ]
    # The dump job reaches the database and S3/STS, the restore check only S3/STS.
    for job, selector in sorted(database.job_selectors.items()):
        jobs = Pods(job, pods.namespace, selector)
        if job == database.dump_cronjob_name:
            flows.append(Flow(jobs, pods, (database.port,)))
        flows.append(Flow(jobs, aws, (HTTPS,)))
    return flows
