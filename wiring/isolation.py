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

The add-ons' namespaces (`addon_flows`; PlatformAddons and MonitoringStack write the policies before their
releases) deny all traffic by default too, and allow:
- every operator and controller, Grafana's sidecars and the charts' hook Jobs: the Kubernetes API;
- the API server (from the cluster's network) to the webhooks: cert-manager, CloudNativePG, the Prometheus
  Operator, Envoy Gateway;
- Prometheus: its own components, the operators' metrics, kube-state-metrics, CoreDNS, and on the cluster's
  hosts the kubelet, node-exporter (host network) and the API server's endpoints; Prometheus to
  Alertmanager, Grafana to Prometheus and Alertmanager;
- Alertmanager: HTTPS out to PagerDuty, Slack and the webhook, and the SMTP relay's port; Prometheus: S3 (its
  Thanos sidecar's uploads) and the sidecar's metrics;
- cert-manager's controller: HTTPS out to the ACME server and HTTP to the hosts it self-checks (HTTP-01);
- the CloudNativePG operator to the Barman Cloud plugin;
- load-balancer clients to the Envoy proxies; the proxies to Envoy Gateway (xDS) and to the public
  backends: the apps, cert-manager's HTTP-01 solvers, Prometheus and Grafana.

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
from components.metrics_copy import SIDECAR_HTTP_PORT
from components.namespace_rbac import NamespaceRbac, NamespaceRbacArgs
from components.network_policies import (
    KUBE_DNS,
    Flow,
    Network,
    NetworkPolicies,
    NetworkPoliciesArgs,
    Pods,
    policy_specs,
)
from components.pitr_drill import PointInTimeDrill
from components.postgres_cluster import PostgresCluster
from components.postgres_pooler import PostgresPooler
from components.public_route import ACME_SOLVER_LABELS, ACME_SOLVER_PORT
from components.redis_cache import RedisCache
from services.conventions import GATEWAY_NAME
from settings import NetworkPolicyConfig, Settings
from wiring import addons
from wiring.context import PlatformContext, ServiceContext
from wiring.data import Stores
from wiring.delivery import DeliveredApp

HTTPS = 443

PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")
"""Private, link-local (instance metadata) and carrier-grade NAT ranges: never reached through the internet rule."""
INTERNET = Network("internet", ("0.0.0.0/0",), PRIVATE_RANGES)
CLUSTER_HOSTS = Network("cluster-hosts", tuple(cidr for cidr in PRIVATE_RANGES if cidr != "169.254.0.0/16"))
"""The cluster's VPC: nodes (kubelet, host-network pods) and the control plane's network interfaces, from which
the API server calls webhooks. Any private address: the VPC's ranges are the cluster team's."""
ANYWHERE = Network("anywhere", ("0.0.0.0/0",))
"""Clients of the public load balancer (it keeps their addresses)."""
HTTP = 80

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
            Flow(pooler, _api_server(network), (network.api_server_port,)),
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
    aws, api_server = _aws_apis(network), _api_server(network)
    flows = [
        Flow(DATABASE_OPERATOR, pods, (database.status_port, database.port)),
        Flow(pods, pods, (database.port, database.status_port)),
        Flow(SCRAPER, pods, (database.metrics_port,)),
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


def _drill_flows(
    drill: PointInTimeDrill, cluster: PostgresCluster, database: Pods, network: NetworkPolicyConfig
) -> list[Flow]:
    """The point-in-time drill writes markers to the database, drives its scratch cluster through the API and
    checks it; the scratch cluster recovers like an instance (operator, API, S3)."""
    aws, api_server = _aws_apis(network), _api_server(network)
    postgres, status = cluster.port, cluster.status_port
    jobs = Pods(drill.cronjob_name, database.namespace, drill.selector)
    scratch = Pods(drill.scratch_cluster_name, database.namespace, drill.scratch_selector)
    return [
        Flow(jobs, database, (postgres,)),
        Flow(jobs, scratch, (postgres,)),
        Flow(jobs, api_server, (network.api_server_port,)),
        Flow(DATABASE_OPERATOR, scratch, (status, postgres)),
        Flow(scratch, scratch, (postgres, status)),
        Flow(scratch, api_server, (network.api_server_port,)),
        Flow(scratch, aws, (HTTPS,)),
    ]


def _aws_apis(network: NetworkPolicyConfig) -> Network:
    """Where S3 and STS calls go: the VPC endpoints when configured, else the internet on 443."""
    return Network("aws-apis", tuple(network.aws_endpoint_cidrs)) if network.aws_endpoint_cidrs else INTERNET


def _api_server(network: NetworkPolicyConfig) -> Network:
    return Network("kubernetes-api", tuple(network.api_server_cidrs))


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
        Flow(elasticsearch, _aws_apis(network), (HTTPS,)),  # snapshots: S3, and STS for the IRSA role
        Flow(proxies, kibana, (stack.kibana_port,)),
        Flow(LOG_SCRAPER, exporter, (stack.exporter_port,)),
        Flow(LOG_SCRAPER, shippers, (shipper.metrics_port,)),
        Flow(shippers, _api_server(network), (network.api_server_port,)),
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


def addon_flows(settings: Settings) -> list[Flow]:
    """Connections of the add-ons this program installs (X-07, X-10, X-16)."""
    network = settings.network_policy
    api = (_api_server(network), (network.api_server_port,))
    switches = settings.addons
    flows = []
    if switches.monitoring:
        flows += _monitoring_flows(settings, api)
    if switches.cert_manager:
        flows += _cert_manager_flows(api)
    if switches.cloudnative_pg:
        flows += _cnpg_flows(api, with_barman=switches.barman_cloud)
    if switches.gateway:
        flows += _gateway_flows(settings, api)
    if switches.eck:
        flows += [
            *_to_api(api, addons.ECK_OPERATOR),
            Flow(CLUSTER_HOSTS, addons.ECK_OPERATOR, (addons.ECK_WEBHOOK_PORT,)),
        ]
    return flows


API = tuple[Network, tuple[int, ...]]
"""The Kubernetes API server's addresses and port."""


def _to_api(api: API, *pods: Pods) -> list[Flow]:
    return [Flow(group, api[0], api[1]) for group in pods]


def _monitoring_flows(settings: Settings, api: API) -> list[Flow]:
    flows = [
        *_to_api(
            api,
            addons.PROMETHEUS,
            addons.PROMETHEUS_OPERATOR,
            addons.PROMETHEUS_OPERATOR_JOBS,
            addons.GRAFANA,
            addons.KUBE_STATE_METRICS,
        ),
        Flow(CLUSTER_HOSTS, addons.PROMETHEUS_OPERATOR, (addons.PROMETHEUS_OPERATOR_PORT,)),  # admission webhook
        # Scrapes: the stack itself, then what runs beside it.
        Flow(addons.PROMETHEUS, addons.PROMETHEUS, (addons.PROMETHEUS_PORT, addons.CONFIG_RELOADER_PORT)),
        Flow(addons.PROMETHEUS, addons.ALERTMANAGER, (addons.ALERTMANAGER_PORT, addons.CONFIG_RELOADER_PORT)),
        Flow(addons.PROMETHEUS, addons.PROMETHEUS_OPERATOR, (addons.PROMETHEUS_OPERATOR_PORT,)),
        Flow(addons.PROMETHEUS, addons.GRAFANA, (addons.GRAFANA_PORT,)),
        Flow(addons.PROMETHEUS, addons.KUBE_STATE_METRICS, (addons.KUBE_STATE_METRICS_PORT,)),
        Flow(addons.PROMETHEUS, KUBE_DNS, (addons.COREDNS_METRICS_PORT,)),
        Flow(addons.PROMETHEUS, CLUSTER_HOSTS, (HTTPS, addons.NODE_EXPORTER_PORT, addons.KUBELET_PORT)),
        Flow(addons.GRAFANA, addons.PROMETHEUS, (addons.PROMETHEUS_PORT,)),
        Flow(addons.GRAFANA, addons.ALERTMANAGER, (addons.ALERTMANAGER_PORT,)),
    ]
    if settings.addons.cert_manager:
        metrics = (addons.CERT_MANAGER_METRICS_PORT,)
        scraped = (addons.CERT_MANAGER_CONTROLLER, addons.CERT_MANAGER_CAINJECTOR, addons.CERT_MANAGER_WEBHOOK)
        flows += [Flow(addons.PROMETHEUS, pods, metrics) for pods in scraped]
    if settings.addons.cloudnative_pg:
        flows.append(Flow(addons.PROMETHEUS, addons.CNPG_OPERATOR, (addons.CNPG_METRICS_PORT,)))
    # Receivers: PagerDuty, Slack and the webhook over HTTPS; e-mail through the SMTP relay. Prometheus' Thanos
    # sidecar uploads its blocks to S3 (S3-11); Prometheus scrapes the sidecar.
    if settings.monitoring is not None:
        smtp_port = int(settings.monitoring.alerting.smtp_smarthost.rpartition(":")[2])
        flows += [
            Flow(addons.ALERTMANAGER, INTERNET, tuple(sorted({HTTPS, smtp_port}))),
            Flow(addons.PROMETHEUS, _aws_apis(settings.network_policy), (HTTPS,)),
            Flow(addons.PROMETHEUS, addons.PROMETHEUS, (SIDECAR_HTTP_PORT,)),
        ]
    if settings.monitoring is not None and settings.monitoring.config.alertmanager_replicas > 1:
        peers = (addons.ALERTMANAGER_CLUSTER_PORT,)
        flows += [Flow(addons.ALERTMANAGER, addons.ALERTMANAGER, peers, protocol) for protocol in ("TCP", "UDP")]
    return flows


def _cert_manager_flows(api: API) -> list[Flow]:
    return [
        *_to_api(api, addons.CERT_MANAGER_PODS),
        Flow(CLUSTER_HOSTS, addons.CERT_MANAGER_WEBHOOK, (addons.CERT_MANAGER_WEBHOOK_PORT,)),
        # ACME orders over HTTPS; the HTTP-01 self-check fetches the challenge from the public host.
        Flow(addons.CERT_MANAGER_CONTROLLER, INTERNET, (HTTP, HTTPS)),
    ]


def _cnpg_flows(api: API, with_barman: bool) -> list[Flow]:
    flows = [
        *_to_api(api, addons.CNPG_OPERATOR),
        Flow(CLUSTER_HOSTS, addons.CNPG_OPERATOR, (addons.CNPG_WEBHOOK_PORT,)),
    ]
    if with_barman:
        flows += [
            *_to_api(api, addons.BARMAN_CLOUD_PLUGIN),
            Flow(addons.CNPG_OPERATOR, addons.BARMAN_CLOUD_PLUGIN, (addons.BARMAN_CLOUD_PORT,)),
        ]
    return flows


def _gateway_flows(settings: Settings, api: API) -> list[Flow]:
    proxies = addons.envoy_proxies(GATEWAY_NAME, settings.gateway.namespace)
    flows = [
        *_to_api(api, addons.ENVOY_GATEWAY_CONTROLLER, addons.ENVOY_GATEWAY_CERTGEN),
        Flow(CLUSTER_HOSTS, addons.ENVOY_GATEWAY_CONTROLLER, (addons.ENVOY_GATEWAY_WEBHOOK_PORT,)),
        Flow(proxies, addons.ENVOY_GATEWAY_CONTROLLER, (addons.ENVOY_GATEWAY_XDS_PORT,)),
        Flow(ANYWHERE, proxies, addons.ENVOY_PROXY_PORTS),
        Flow(proxies, Pods("acme-http01-solver", settings.gateway.namespace, ACME_SOLVER_LABELS), (ACME_SOLVER_PORT,)),
    ]
    if settings.addons.monitoring:
        flows += [
            Flow(proxies, addons.PROMETHEUS, (addons.PROMETHEUS_PORT,)),
            Flow(proxies, addons.GRAFANA, (addons.GRAFANA_PORT,)),
        ]
    return flows
