"""The operators the platform builds on, pinned (ARCHITECTURE: PlatformAddons), and hardened through their values.

Every container of every chart gets requests and limits, pulls its image on every start (the tag is what the
chart version pins), runs with the `restricted` security settings and a read-only root filesystem, and has
probes where the chart offers them. What a chart does not let its values fix is listed, with the reason, in
tests/conformance/chart_findings.yaml.
"""

from __future__ import annotations

from typing import Any

import versions
from components import kube
from components.kube import Resources
from components.network_policies import Pods
from components.platform_addons import HelmAddon
from services.conventions import LOGGING_NAMESPACE, MONITORING_NAMESPACE

CNPG_NAMESPACE = "cnpg-system"
ECK_NAMESPACE = "elastic-system"
CERT_MANAGER_NAMESPACE = "cert-manager"
GATEWAY_NAMESPACE = "envoy-gateway-system"
GATEWAY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
"""controllerName of GatewayClasses that Envoy Gateway implements."""

PULL_ALWAYS = "Always"
# Operators and controllers: small, steady, bursty at start-up (cache sync) and on mass changes.
CONTROLLER_RESOURCES = Resources({"cpu": "50m", "memory": "128Mi"}, {"cpu": "500m", "memory": "512Mi"})
# Webhook servers and helpers answer short requests.
WEBHOOK_RESOURCES = Resources({"cpu": "20m", "memory": "64Mi"}, {"cpu": "200m", "memory": "256Mi"})
# One-shot hook Jobs (certificate generation, API checks).
JOB_RESOURCES = Resources({"cpu": "10m", "memory": "32Mi"}, {"cpu": "100m", "memory": "128Mi"})
# The ECK operator reconciles Elasticsearch through its API; the chart's own requests and limits.
ECK_OPERATOR_RESOURCES = Resources({"cpu": "100m", "memory": "150Mi"}, {"cpu": "1", "memory": "1Gi"})
# Envoy Gateway translates every route into xDS for the proxies; the chart's own memory limit, plus CPU.
ENVOY_GATEWAY_RESOURCES = Resources({"cpu": "100m", "memory": "256Mi"}, {"cpu": "1", "memory": "1Gi"})


def _chart(pin: versions.ChartPin) -> dict[str, Any]:
    """HelmAddon fields of a pinned chart (an OCI chart is its full reference, without repository)."""
    return {"chart": pin.reference, "version": pin.version, "repository": None if pin.is_oci else pin.repository}


def _hardened(amounts: Resources) -> dict[str, Any]:
    """cert-manager's per-component values: resources, image pulled on start, non-root with a high UID."""
    return {
        "resources": kube.resources(amounts),
        "image": {"pullPolicy": PULL_ALWAYS},
        "securityContext": kube.pod_security_context(),
        "containerSecurityContext": kube.container_security_context(),
    }


# Envoy Gateway implements the Gateway API (ingress-nginx is retired) and installs its CRDs. Its
# proxies run in this namespace as non-root with seccomp RuntimeDefault, so `restricted` holds.
ENVOY_GATEWAY = HelmAddon(
    name="envoy-gateway",
    **_chart(versions.GATEWAY_HELM),
    namespace=GATEWAY_NAMESPACE,
    values={
        # The chart's security contexts are already `restricted` with UID 65532 and a read-only root.
        "global": {"images": {"envoyGateway": {"pullPolicy": PULL_ALWAYS}, "envoyProxy": {"pullPolicy": PULL_ALWAYS}}},
        "deployment": {"envoyGateway": {"resources": kube.resources(ENVOY_GATEWAY_RESOURCES)}},
        "certgen": {"job": {"resources": kube.resources(JOB_RESOURCES)}},
    },
)

CERT_MANAGER = HelmAddon(
    name="cert-manager",
    **_chart(versions.CERT_MANAGER),
    namespace=CERT_MANAGER_NAMESPACE,
    values={
        "crds": {"enabled": True},
        # Leader election in its own namespace, not kube-system: the platform keeps out of kube-system.
        "global": {"leaderElection": {"namespace": CERT_MANAGER_NAMESPACE}},
        "prometheus": {"servicemonitor": {"enabled": True}},
        # HTTP-01 challenges are answered through the Gateway (PublicRoute's ClusterIssuer).
        "config": {
            "apiVersion": "controller.config.cert-manager.io/v1alpha1",
            "kind": "ControllerConfiguration",
            "gatewayAPI": {"enabled": True},
        },
        **_hardened(CONTROLLER_RESOURCES),
        "webhook": _hardened(WEBHOOK_RESOURCES),
        "cainjector": _hardened(CONTROLLER_RESOURCES),
        "startupapicheck": _hardened(JOB_RESOURCES),
        "acmesolver": {"image": {"pullPolicy": PULL_ALWAYS}},
    },
    # cert-manager watches Gateway API objects only if their CRDs exist when it starts.
    after=("envoy-gateway",),
)

CLOUDNATIVE_PG = HelmAddon(
    name="cloudnative-pg",
    **_chart(versions.CLOUDNATIVE_PG),
    namespace=CNPG_NAMESPACE,
    values={
        "monitoring": {"podMonitorEnabled": True},
        # The chart's security contexts are already `restricted` with UID 10001 and a read-only root.
        "image": {"pullPolicy": PULL_ALWAYS},
        "resources": kube.resources(CONTROLLER_RESOURCES),
    },
)

# Backups to S3 go through the Barman Cloud plugin (in-tree barmanObjectStore is deprecated since 1.26);
# it must share the operator's namespace and needs cert-manager for its TLS.
BARMAN_CLOUD = HelmAddon(
    name="plugin-barman-cloud",
    **_chart(versions.PLUGIN_BARMAN_CLOUD),
    namespace=CNPG_NAMESPACE,
    values={
        "image": {"tag": versions.BARMAN_CLOUD_PLUGIN_TAG},
        "sidecarImage": {"tag": versions.BARMAN_CLOUD_PLUGIN_TAG},
        "resources": kube.resources(WEBHOOK_RESOURCES),
    },
    after=("cert-manager", "cloudnative-pg"),
)

# Elastic Cloud on Kubernetes runs the log stack (S2-04), watching only its namespace. ECK 3.5's chart sets no
# seccomp profile: set here, so the operator meets the `restricted` level of its namespace.
ECK = HelmAddon(
    name="eck-operator",
    **_chart(versions.ECK_OPERATOR),
    namespace=ECK_NAMESPACE,
    values={
        "managedNamespaces": [LOGGING_NAMESPACE],
        "image": {"pullPolicy": PULL_ALWAYS},
        "resources": kube.resources(ECK_OPERATOR_RESOURCES),
        "podSecurityContext": kube.pod_security_context(),
        "securityContext": kube.container_security_context(),
        "telemetry": {"disabled": True},
    },
)

# Keyed by the `ai-platform:addons` switch that turns each one off.
ADDONS = {
    "cert_manager": CERT_MANAGER,
    "cloudnative_pg": CLOUDNATIVE_PG,
    "barman_cloud": BARMAN_CLOUD,
    "gateway": ENVOY_GATEWAY,
    "eck": ECK,
}


# --- the pods the charts run, by the labels the charts (and their operators) give them -------------------
# The connectivity test templates the charts and proves every flow below reaches these pods.

# kube-prometheus-stack (wiring/observability.py deploys it in MONITORING_NAMESPACE).
PROMETHEUS = Pods("prometheus", MONITORING_NAMESPACE, {"app.kubernetes.io/name": "prometheus"})
ALERTMANAGER = Pods("alertmanager", MONITORING_NAMESPACE, {"app.kubernetes.io/name": "alertmanager"})
GRAFANA = Pods("grafana", MONITORING_NAMESPACE, {"app.kubernetes.io/name": "grafana"})
KUBE_STATE_METRICS = Pods("kube-state-metrics", MONITORING_NAMESPACE, {"app.kubernetes.io/name": "kube-state-metrics"})
PROMETHEUS_OPERATOR = Pods(
    "prometheus-operator", MONITORING_NAMESPACE, {"app.kubernetes.io/component": "prometheus-operator"}
)
PROMETHEUS_OPERATOR_JOBS = Pods(
    "admission-webhook-jobs", MONITORING_NAMESPACE, {"app.kubernetes.io/component": "prometheus-operator-webhook"}
)
# cert-manager: every component talks to the API server; the controller also to ACME servers.
CERT_MANAGER_PODS = Pods("cert-manager", CERT_MANAGER_NAMESPACE, {"app.kubernetes.io/instance": "cert-manager"})
CERT_MANAGER_CONTROLLER = Pods(
    "cert-manager-controller", CERT_MANAGER_NAMESPACE, {"app.kubernetes.io/component": "controller"}
)
CERT_MANAGER_WEBHOOK = Pods("cert-manager-webhook", CERT_MANAGER_NAMESPACE, {"app.kubernetes.io/component": "webhook"})
CERT_MANAGER_CAINJECTOR = Pods(
    "cert-manager-cainjector", CERT_MANAGER_NAMESPACE, {"app.kubernetes.io/component": "cainjector"}
)
# CloudNativePG and its Barman Cloud plugin.
CNPG_OPERATOR = Pods("cnpg-operator", CNPG_NAMESPACE, {"app.kubernetes.io/name": "cloudnative-pg"})
BARMAN_CLOUD_PLUGIN = Pods("barman-cloud", CNPG_NAMESPACE, {"app.kubernetes.io/name": "plugin-barman-cloud"})
# Envoy Gateway's controller and its certificate Job.
ENVOY_GATEWAY_CONTROLLER = Pods("envoy-gateway", GATEWAY_NAMESPACE, {"control-plane": "envoy-gateway"})
ENVOY_GATEWAY_CERTGEN = Pods("envoy-gateway-certgen", GATEWAY_NAMESPACE, {"app": "certgen"})
# The ECK operator (a StatefulSet of the chart).
ECK_OPERATOR = Pods("eck-operator", ECK_NAMESPACE, {"app.kubernetes.io/name": "elastic-operator"})


def envoy_proxies(gateway_name: str, gateway_namespace: str) -> Pods:
    """The proxy pods Envoy Gateway runs for a Gateway (in its own namespace)."""
    return Pods(
        "envoy-proxy",
        GATEWAY_NAMESPACE,
        {
            "gateway.envoyproxy.io/owning-gateway-name": gateway_name,
            "gateway.envoyproxy.io/owning-gateway-namespace": gateway_namespace,
        },
    )


# Ports the pods above listen on (container ports, which NetworkPolicies match).
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
ALERTMANAGER_CLUSTER_PORT = 9094
CONFIG_RELOADER_PORT = 8080
"""The Prometheus Operator's config-reloader sidecar in Prometheus and Alertmanager pods (metrics)."""
GRAFANA_PORT = 3000
KUBE_STATE_METRICS_PORT = 8080
PROMETHEUS_OPERATOR_PORT = 10250
"""HTTPS: metrics and the admission webhook."""
CERT_MANAGER_METRICS_PORT = 9402
CERT_MANAGER_WEBHOOK_PORT = 10250
CNPG_METRICS_PORT = 8080
CNPG_WEBHOOK_PORT = 9443
BARMAN_CLOUD_PORT = 9090
"""gRPC (mTLS) the CloudNativePG operator calls the plugin on."""
ENVOY_GATEWAY_XDS_PORT = 18000
ENVOY_GATEWAY_WEBHOOK_PORT = 9443
ECK_WEBHOOK_PORT = 9443
ENVOY_PROXY_PORTS = (10080, 10443)
"""Envoy Gateway maps a Gateway's listener ports below 1024 (80, 443) to these container ports."""
NODE_EXPORTER_PORT = 9100
KUBELET_PORT = 10250
COREDNS_METRICS_PORT = 9153
