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

The add-ons' namespaces (`addon_flows`; PlatformAddons and MonitoringStack write the policies) deny all
traffic by default too, and allow:
- every operator and controller, Grafana's sidecars and the charts' hook Jobs: the Kubernetes API;
- the API server (from the cluster's network) to the webhooks: cert-manager, CloudNativePG, the Prometheus
  Operator, Envoy Gateway;
- Prometheus: its own components, the operators' metrics, kube-state-metrics, CoreDNS, and on the cluster's
  hosts the kubelet, node-exporter (host network) and the API server's endpoints; Prometheus to
  Alertmanager, Grafana to Prometheus and Alertmanager;
- Alertmanager: HTTPS out to PagerDuty, Slack and the webhook, and the SMTP relay's port;
- cert-manager's controller: HTTPS out to the ACME server and HTTP to the hosts it self-checks (HTTP-01);
- the CloudNativePG operator to the Barman Cloud plugin;
- load-balancer clients to the Envoy proxies; the proxies to Envoy Gateway (xDS) and to the public
  backends: the apps, cert-manager's HTTP-01 solvers, Prometheus and Grafana.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components import kube
from components.cluster_viewer import ClusterViewer, ClusterViewerArgs
from components.namespace_rbac import NamespaceRbac, NamespaceRbacArgs
from components.network_policies import KUBE_DNS, Flow, Network, NetworkPolicies, NetworkPoliciesArgs, Pods
from components.pitr_drill import drill_names
from components.postgres_cluster import POSTGRES_PORT, backup_service_accounts
from components.public_route import ACME_SOLVER_LABELS, ACME_SOLVER_PORT
from components.redis_cache import METRICS_PORT as REDIS_METRICS_PORT
from components.redis_cache import PORT as REDIS_PORT
from components.tenant_namespace import TenantNamespace
from services import addons
from services.addons import CNPG_OPERATOR, PROMETHEUS
from services.catalog import AppSpec
from services.common import CACHE_HOST, GATEWAY_NAME, database_cluster
from settings import NetworkPolicyConfig, ServiceSettings, Settings

HTTPS = 443
CNPG_STATUS_PORT = 8000
"""Instance manager's status endpoint; the operator polls it and instances query each other."""
POSTGRES_METRICS_PORT = 9187

PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")
"""Private, link-local (instance metadata) and carrier-grade NAT ranges: never reached through the internet rule."""
INTERNET = Network("internet", ("0.0.0.0/0",), PRIVATE_RANGES)
CLUSTER_HOSTS = Network("cluster-hosts", tuple(cidr for cidr in PRIVATE_RANGES if cidr != "169.254.0.0/16"))
"""The cluster's VPC: nodes (kubelet, host-network pods) and the control plane's network interfaces, from which
the API server calls webhooks. Any private address: the VPC's ranges are the cluster team's."""
ANYWHERE = Network("anywhere", ("0.0.0.0/0",))
"""Clients of the public load balancer (it keeps their addresses)."""
HTTP = 80

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


def platform_flows(settings: Settings) -> list[Flow]:
    """Every connection the platform allows: the services' and the add-ons'."""
    flows = [flow for service in settings.enabled_services for flow in service_flows(service, settings.network_policy)]
    return flows + addon_flows(settings)


def addon_flows(settings: Settings) -> list[Flow]:
    """Connections of the add-ons this program installs (X-07, X-10, X-16)."""
    network = settings.network_policy
    api = (Network("kubernetes-api", tuple(network.apiServerCidrs)), (network.apiServerPort,))
    switches = settings.addons
    flows = []
    if switches.monitoring:
        flows += _monitoring_flows(settings, api)
    if switches.certManager:
        flows += _cert_manager_flows(api)
    if switches.cloudnativePg:
        flows += _cnpg_flows(api, with_barman=switches.barmanCloud)
    if switches.gateway:
        flows += _gateway_flows(settings, api)
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
    if settings.addons.certManager:
        metrics = (addons.CERT_MANAGER_METRICS_PORT,)
        scraped = (addons.CERT_MANAGER_CONTROLLER, addons.CERT_MANAGER_CAINJECTOR, addons.CERT_MANAGER_WEBHOOK)
        flows += [Flow(addons.PROMETHEUS, pods, metrics) for pods in scraped]
    if settings.addons.cloudnativePg:
        flows.append(Flow(addons.PROMETHEUS, addons.CNPG_OPERATOR, (addons.CNPG_METRICS_PORT,)))
    # Receivers: PagerDuty, Slack and the webhook over HTTPS; e-mail through the SMTP relay.
    if settings.alerting is not None:
        smtp_port = int(settings.alerting.smtpSmarthost.rpartition(":")[2])
        flows.append(Flow(addons.ALERTMANAGER, INTERNET, tuple(sorted({HTTPS, smtp_port}))))
    if settings.monitoring.alertmanagerReplicas > 1:
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
    for service in settings.enabled_services:
        flows += [
            Flow(proxies, app_pods(app.spec), (app.spec.port,)) for app in service.apps.values() if app.spec.public
        ]
    if settings.addons.monitoring:
        flows += [
            Flow(proxies, addons.PROMETHEUS, (addons.PROMETHEUS_PORT,)),
            Flow(proxies, addons.GRAFANA, (addons.GRAFANA_PORT,)),
        ]
    return flows
