"""Every chart and image the platform pins, in one place.

Bump a pin here and nowhere else; the README's "Charts" section says how to review a chart bump
(`python -m tools.charts diff`) and when CRDs must be applied by hand first. The chart archives that
the tests template (`AI_PLATFORM_CHART_DIR`, or `helm pull` into `.cache/charts`) are named after
these pins, so what is tested is what is deployed.

This module imports nothing from the project: the wiring (`wiring/`) reads it and hands images to
the components; components that keep a default image take it from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartPin:
    """One Helm chart at one version."""

    name: str
    """Chart name, as in its Chart.yaml (and its archive `<name>-<version>.tgz`)."""
    version: str
    """Chart version."""
    repository: str
    """`https://` chart repository, or `oci://` registry path holding the chart."""

    @property
    def is_oci(self) -> bool:
        return self.repository.startswith("oci://")

    @property
    def reference(self) -> str:
        """What `helm pull` and a Helm release take as the chart: the name, or the full OCI reference."""
        return f"{self.repository}/{self.name}" if self.is_oci else self.name

    @property
    def archive(self) -> str:
        """File name of the packaged chart."""
        return f"{self.name}-{self.version}.tgz"


# --- charts ---------------------------------------------------------------------------------------

# Prometheus Operator v0.93.1 (its CRDs validate the platform's rules and monitors).
KUBE_PROMETHEUS_STACK = ChartPin(
    "kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts"
)
# CloudNativePG 1.30.
CLOUDNATIVE_PG = ChartPin("cloudnative-pg", "0.29.0", "https://cloudnative-pg.github.io/charts")
# Barman Cloud plugin v0.13.0 (the chart's appVersion).
PLUGIN_BARMAN_CLOUD = ChartPin("plugin-barman-cloud", "0.7.0", "https://cloudnative-pg.github.io/charts")
CERT_MANAGER = ChartPin("cert-manager", "v1.21.1", "https://charts.jetstack.io")
# Envoy Gateway 1.9 with Gateway API v1.6.1 (experimental channel) CRDs.
GATEWAY_HELM = ChartPin("gateway-helm", "v1.9.0", "oci://docker.io/envoyproxy")
# Elastic Cloud on Kubernetes 3.5: runs the log stack's Elasticsearch and Kibana (S2-04).
ECK_OPERATOR = ChartPin("eck-operator", "3.5.0", "https://helm.elastic.co")

CHARTS = (KUBE_PROMETHEUS_STACK, CLOUDNATIVE_PG, PLUGIN_BARMAN_CLOUD, CERT_MANAGER, GATEWAY_HELM, ECK_OPERATOR)

# --- images ---------------------------------------------------------------------------------------
# Chart workloads run the images their chart version pins; these are the images the program sets itself.
# With `ai-platform:pinImages` each is deployed by the digest its tag points at (components/image_pinning.py).

POSTGRES_IMAGE = "ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie"
"""CloudNativePG's PostgreSQL image of the databases."""
POSTGRES_TOOLS_IMAGE = "postgres:18.6-trixie"
"""Official postgres image of the dump and restore-check jobs; its major must be >= the servers'."""
AWS_CLI_IMAGE = "amazon/aws-cli:2.34.48"
"""Official AWS CLI v2 image of the dump upload and restore-check download."""
REDIS_IMAGE = "redis:7.4-alpine"
"""Official Redis 7 image, as the manuals run."""
REDIS_EXPORTER_IMAGE = "oliver006/redis_exporter:v1.90.0"
"""redis_exporter sidecar."""
CURL_IMAGE = "curlimages/curl:8.17.0"
"""Official curl image of the blue-green smoke tests."""
KUBECTL_IMAGE = "registry.k8s.io/kubectl:v1.33.9"
"""Upstream kubectl image the point-in-time drill copies its client from."""
METRICS_SERVER_EKS_ADDON = "v0.8.0-eksbuild.6"
"""Version of the EKS community add-on `metrics-server` (components/metrics_server.py): metrics-server v0.8.0."""
BARMAN_CLOUD_PLUGIN_TAG = "v0.13.0"
"""Tag of the Barman Cloud plugin's images (operator and instance sidecar); the chart's appVersion."""
ELASTICSEARCH_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:9.5.2"
"""Elasticsearch of the log stack; its tag is the `version` ECK runs (Kibana's must be the same)."""
KIBANA_IMAGE = "docker.elastic.co/kibana/kibana:9.5.2"
"""Kibana of the log stack, the same release as Elasticsearch."""
ELASTICSEARCH_EXPORTER_IMAGE = "quay.io/prometheuscommunity/elasticsearch-exporter:v1.9.0"
"""Prometheus exporter of Elasticsearch's health, disk and snapshots."""
FLUENT_BIT_IMAGE = "fluent/fluent-bit:5.0.9"
"""The log shipper on every node."""
PYTHON_IMAGE = "python:3.13-slim-trixie"
"""Official Python image of the log stack's snapshot setup and restore check (standard library only)."""
BUSYBOX_IMAGE = "busybox:1.37.0"
"""The log-follower sidecar of apps that write log files (sh, tail -F, find, touch)."""
