"""Wiring of isolation and access: each service's NetworkPolicy allow-lists and Roles (X-07, X-16, S4-04, S4-07).

Every service namespace denies all traffic by default (TenantNamespace: only DNS is open). The flows
below open exactly what the manuals need, on numeric ports:

- Prometheus (namespace `monitoring`) scrapes every app that serves `/metrics` on its metrics port, Postgres
  (9187) and Redis (9121);
- an app reaches its own service's Postgres (5432; through its PgBouncer pooler where there is one, which alone
  reaches the database for the apps, S0-03) and Redis (6379) when it uses them, and nothing of
  another service; apps of one service call each other only where their spec says so (`AppSpec.calls`: V1
  promotes experiments to V2 and quarantines them in V3), on the callee's port (the worker takes work from Redis);
- apps that call AI providers reach the internet on 443 (never private or link-local addresses);
- the CloudNativePG operator reaches its instances (8000, 5432), instances reach each other
  (replication), the Kubernetes API and S3/STS (WAL archiving with IRSA); the dump job reaches the
  database and S3/STS, the restore check only S3/STS; the point-in-time drill reaches the database, its
  scratch cluster and the Kubernetes API, and the scratch cluster what an instance reaches; Redis replicas
  reach pod 0.
The Gateway's proxies are admitted to the public apps by PublicRoute, and blue-green smoke tests to their
colours by BlueGreen.

Platform (S4-04): V1 and V3 share V2's database, so their pods reach the database pods on 5432; V1 also
reaches V2's and V3's API (promotion and quarantine, manual 004); V2's pods reach no V1 or V3 pod (their
egress allow-list is the manual's `v2-isolation` policy). At the database level V1 and V3 connect as their own
roles, which own only their schema (DatabaseSpec.reader_roles), never as V2's schema owner.

The add-ons' own flows are in wiring/addon_flows.py.

The log stack (`log_stack_flows`, S2-04): the shipper, Kibana and the ECK operator reach Elasticsearch (and
inside its namespace its exporter and snapshot jobs), Elasticsearch its peers and S3/STS, the Gateway's proxies
Kibana, Prometheus the exporter and the shippers, the shippers the Kubernetes API.

The add-ons' side of the services' and the log stack's own flows (Prometheus scraping an app, the CloudNativePG
operator reaching a database, the Envoy proxies reaching a public app or Kibana, the ECK operator reaching
Elasticsearch) is written after those exist, from what their components publish, in policies of its own
(`deploy_addon_sides`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import pulumi

from components.cluster_viewer import ClusterViewer, ClusterViewerArgs
from components.log_shipper import LogShipper
from components.log_stack import LogStack
from components.namespace_rbac import NamespaceRbac, NamespaceRbacArgs
from components.network_policies import (
    Flow,
    NetworkPolicies,
    NetworkPoliciesArgs,
    Pods,
    policy_specs,
)
from components.pitr_drill import PointInTimeDrill
from components.postgres_cluster import PostgresCluster
from components.postgres_pooler import PostgresPooler
from components.redis_cache import RedisCache
from services.conventions import GATEWAY_NAME
from settings import NetworkPolicyConfig, Settings
from wiring import addons
from wiring.addon_flows import HTTPS, INTERNET, api_server, aws_apis
from wiring.context import PlatformContext, ServiceContext
from wiring.data import Stores
from wiring.delivery import DeliveredApp

# The add-on pods that reach into the services' namespaces; their egress to the services is a policy of its own,
# written once the services exist (`deploy_addon_sides`), beside the add-on's own policies.
SCRAPER = replace(addons.PROMETHEUS, egress_policy_name="prometheus-to-services")
DATABASE_OPERATOR = replace(addons.CNPG_OPERATOR, egress_policy_name="cloudnative-pg-to-databases")
LOG_SCRAPER = replace(addons.PROMETHEUS, egress_policy_name="prometheus-to-logging")
ELASTIC_OPERATOR = replace(addons.ECK_OPERATOR, egress_policy_name="eck-operator-to-elasticsearch")


def deploy_service_isolation(ctx: ServiceContext, apps: Mapping[str, DeliveredApp], stores: Stores) -> list[Flow]:
    """NetworkPolicies and Roles in each of the service's namespaces; returns the service's flows (the add-ons'
    side of them is written once every service exists)."""
    flows = service_flows(ctx, apps, stores)
    rbac = ctx.settings.rbac
    for name, namespace in ctx.namespaces.items():
        namespace_ref = namespace.namespace.metadata.name
        opts = ctx.kubernetes
        NetworkPolicies(f"{name}-isolation", NetworkPoliciesArgs(name, flows, namespace_ref, ctx.labels), opts)
        NamespaceRbac(
            f"{name}-rbac",
            NamespaceRbacArgs(
                namespace_ref, rbac.operators_group, rbac.deployers_group, rbac.oncall_group, labels=ctx.labels
            ),
            opts,
        )
    return flows


def deploy_cluster_access(settings: Settings, opts: pulumi.ResourceOptions) -> ClusterViewer:
    """Operators and on-call may read namespaces and nodes; warns when the cluster does not enforce NetworkPolicies."""
    if not settings.network_policy.enforced:
        pulumi.log.warn(
            "ai-platform:networkPolicy.enforced is false: the cluster's CNI does not enforce NetworkPolicy, so "
            "no namespace is isolated (X-07). On EKS set the vpc-cni add-on configuration "
            '{"enableNetworkPolicy": "true"}, then set enforced to true.'
        )
    return ClusterViewer(
        "cluster-viewer",
        ClusterViewerArgs(
            settings.rbac.operators_group,
            more_groups=(settings.rbac.oncall_group,),
            labels={"app.kubernetes.io/part-of": "ai-platform"},
        ),
        opts,
    )


def service_flows(ctx: ServiceContext, apps: Mapping[str, DeliveredApp], stores: Stores) -> list[Flow]:
    """Every connection the service's pods may open or accept, from what its components publish."""
    service = ctx.service
    database = _database_pods(ctx, stores.database)
    pooler = _pooler_pods(ctx, stores.pooler)
    cache = _cache_pods(ctx, stores.cache)
    flows = []
    for name, app in service.apps.items():
        component = apps[name].component
        pods = Pods(name, app.spec.namespace, component.selector, app.spec.egress_policy_name)
        if app.spec.scraped:
            flows.append(Flow(SCRAPER, pods, (component.metrics_port,)))
        if app.spec.uses_database and pooler is not None and stores.pooler is not None:
            flows.append(Flow(pods, pooler, (stores.pooler.port,)))  # S0-03: apps go through PgBouncer
        elif app.spec.uses_database and database is not None and stores.database is not None:
            flows.append(Flow(pods, database, (stores.database.port,)))
        if app.spec.uses_cache and cache is not None and stores.cache is not None:
            flows.append(Flow(pods, cache, (stores.cache.port,)))
        if app.spec.calls_ai_providers:
            flows.append(Flow(pods, INTERNET, (HTTPS,)))
        for callee in app.spec.calls.values():
            target = apps[callee].component
            flows.append(Flow(pods, Pods(callee, service.apps[callee].spec.namespace, target.selector), (target.port,)))
    if database is not None and stores.database is not None:
        flows += _database_flows(stores.database, database, ctx.settings.network_policy)
    if pooler is not None and stores.pooler is not None and database is not None and stores.database is not None:
        network = ctx.settings.network_policy
        flows += [
            Flow(pooler, database, (stores.database.port,)),
            Flow(SCRAPER, pooler, (stores.pooler.metrics_port,)),
            # PgBouncer's instance manager follows its Pooler and the cluster's Secrets through the API.
            Flow(pooler, api_server(network), (network.api_server_port,)),
        ]
    if database is not None and stores.database is not None and stores.drill is not None:
        flows += _drill_flows(stores.drill, stores.database, database, ctx.settings.network_policy)
    if cache is not None and stores.cache is not None:
        flows += [Flow(cache, cache, (stores.cache.port,)), Flow(SCRAPER, cache, (stores.cache.metrics_port,))]
    return flows


def _database_pods(ctx: ServiceContext, database: PostgresCluster | None) -> Pods | None:
    if database is None or ctx.service.database is None:
        return None
    return Pods(database.cluster_name, ctx.service.database.spec.namespace, database.selector)


def _pooler_pods(ctx: ServiceContext, pooler: PostgresPooler | None) -> Pods | None:
    if pooler is None or ctx.service.database is None:
        return None
    return Pods(pooler.name, ctx.service.database.spec.namespace, pooler.selector)


def _cache_pods(ctx: ServiceContext, cache: RedisCache | None) -> Pods | None:
    if cache is None or ctx.service.cache is None:
        return None
    return Pods(cache.service_name, ctx.service.cache.spec.namespace, cache.selector)


def _database_flows(database: PostgresCluster, pods: Pods, network: NetworkPolicyConfig) -> list[Flow]:
    aws, api = aws_apis(network), api_server(network)
    flows = [
        Flow(DATABASE_OPERATOR, pods, (database.status_port, database.port)),
        Flow(pods, pods, (database.port, database.status_port)),
        Flow(SCRAPER, pods, (database.metrics_port,)),
        Flow(pods, api, (network.api_server_port,)),
        Flow(pods, aws, (HTTPS,)),
    ]
    # The dump job reaches the database and S3/STS, the restore check only S3/STS.
    for job, selector in sorted(database.job_selectors.items()):
        jobs = Pods(job, pods.namespace, selector)
        if job == database.dump_cronjob_name:
            flows.append(Flow(jobs, pods, (database.port,)))
        flows.append(Flow(jobs, aws, (HTTPS,)))
    return flows


def _drill_flows(
    drill: PointInTimeDrill, cluster: PostgresCluster, database: Pods, network: NetworkPolicyConfig
) -> list[Flow]:
    """The point-in-time drill writes markers to the database, drives its scratch cluster through the API and
    checks it; the scratch cluster recovers like an instance (operator, API, S3)."""
    aws, api = aws_apis(network), api_server(network)
    postgres, status = cluster.port, cluster.status_port
    jobs = Pods(drill.cronjob_name, database.namespace, drill.selector)
    scratch = Pods(drill.scratch_cluster_name, database.namespace, drill.scratch_selector)
    return [
        Flow(jobs, database, (postgres,)),
        Flow(jobs, scratch, (postgres,)),
        Flow(jobs, api, (network.api_server_port,)),
        Flow(DATABASE_OPERATOR, scratch, (status, postgres)),
        Flow(scratch, scratch, (postgres, status)),
        Flow(scratch, api, (network.api_server_port,)),
        Flow(scratch, aws, (HTTPS,)),
    ]


def log_stack_flows(settings: Settings, stack: LogStack, shipper: LogShipper) -> list[Flow]:
    """Every connection of the log stack and its shipper (X-07, S2-04): from outside the stack only the shipper,
    Kibana and the ECK operator reach Elasticsearch (inside it, its exporter and snapshot jobs); Elasticsearch
    reaches its peers and S3/STS; the Gateway's proxies reach Kibana; Prometheus scrapes the exporter and the
    shippers, which read pod metadata from the Kubernetes API."""
    network = settings.network_policy
    elasticsearch = Pods(stack.elasticsearch_name, stack.namespace, stack.elasticsearch_selector)
    kibana = Pods("kibana", stack.namespace, stack.kibana_selector)
    exporter = Pods("elasticsearch-exporter", stack.namespace, stack.exporter_selector)
    jobs = [Pods(job, stack.namespace, selector) for job, selector in stack.job_selectors.items()]
    shippers = Pods(shipper.name, shipper.namespace, shipper.selector)
    proxies = replace(
        addons.envoy_proxies(GATEWAY_NAME, settings.gateway.namespace), egress_policy_name="envoy-to-kibana"
    )
    clients = (shippers, kibana, ELASTIC_OPERATOR, exporter, *jobs)
    return [
        *(Flow(client, elasticsearch, (stack.http_port,)) for client in clients),
        Flow(elasticsearch, elasticsearch, (stack.transport_port,)),
        Flow(elasticsearch, aws_apis(network), (HTTPS,)),  # snapshots: S3, and STS for the IRSA role
        Flow(proxies, kibana, (stack.kibana_port,)),
        Flow(LOG_SCRAPER, exporter, (stack.exporter_port,)),
        Flow(LOG_SCRAPER, shippers, (shipper.metrics_port,)),
        Flow(shippers, api_server(network), (network.api_server_port,)),
    ]


def deploy_addon_sides(
    platform: PlatformContext, flows: Sequence[Flow], namespaces: Mapping[str, pulumi.Input[str]]
) -> None:
    """The add-ons' side of the services' FLOWS, in each add-on namespace this program owns (NAMESPACES: name ->
    its Namespace's name output)."""
    for namespace, ref in sorted(namespaces.items()):
        if not policy_specs(namespace, flows):
            continue  # no service flow starts or ends in this add-on's namespace
        NetworkPolicies(
            f"{namespace}-service-flows",
            NetworkPoliciesArgs(namespace, flows, ref, {"app.kubernetes.io/part-of": "ai-platform"}),
            platform.kubernetes,
        )


def public_backend_flows(settings: Settings, apps: Mapping[str, DeliveredApp]) -> list[Flow]:
    """The Gateway's proxies to every public app, on its port (the app's side is PublicRoute's)."""
    proxies = replace(
        addons.envoy_proxies(GATEWAY_NAME, settings.gateway.namespace), egress_policy_name="envoy-to-apps"
    )
    return [
        Flow(proxies, Pods(name, app.spec.namespace, app.component.selector), (app.component.port,))
        for name, app in sorted(apps.items())
        if app.spec.public
    ]
