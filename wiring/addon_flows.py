"""The add-ons' connections (X-07, X-10, X-16), and the networks outside the cluster's pods that flows name.

The add-ons' namespaces deny all traffic by default, like the services' (`addon_flows`; PlatformAddons and
MonitoringStack write the policies before their releases), and allow:
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
"""

from __future__ import annotations

from components.metrics_copy import SIDECAR_HTTP_PORT
from components.network_policies import KUBE_DNS, Flow, Network, Pods
from components.public_route import ACME_SOLVER_LABELS, ACME_SOLVER_PORT
from services.conventions import GATEWAY_NAME
from settings import NetworkPolicyConfig, Settings
from wiring import addons

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


def aws_apis(network: NetworkPolicyConfig) -> Network:
    """Where S3 and STS calls go: the VPC endpoints when configured, else the internet on 443."""
    return Network("aws-apis", tuple(network.aws_endpoint_cidrs)) if network.aws_endpoint_cidrs else INTERNET


def api_server(network: NetworkPolicyConfig) -> Network:
    return Network("kubernetes-api", tuple(network.api_server_cidrs))


def addon_flows(settings: Settings) -> list[Flow]:
    """Connections of the add-ons this program installs (X-07, X-10, X-16)."""
    network = settings.network_policy
    api = (api_server(network), (network.api_server_port,))
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
            Flow(addons.PROMETHEUS, aws_apis(settings.network_policy), (HTTPS,)),
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
