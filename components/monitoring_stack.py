"""MonitoringStack: Prometheus, Alertmanager and Grafana from the kube-prometheus-stack Helm chart.

- Prometheus keeps `retention` / `retentionSize` of data on a persistent volume, copies every block off the
  cluster where given (components/metrics_copy.py, S3-11) and picks up every PrometheusRule, ServiceMonitor,
  PodMonitor and Probe in the cluster, not only the chart's own.
- Alertmanager routes by `severity` (components/alert_routing.py). Receiver credentials live in a Secret
  mounted into Alertmanager: the Helm values (and so the Pulumi state of the release) hold only file paths.
- Grafana (components/grafana_values.py): a generated admin password kept in a Secret, dashboards from labelled
  ConfigMaps of every namespace, its state on a volume where given.
- Control-plane targets EKS does not expose are off (with their rules): no `...Down` alerts forever.
- Every container has requests and limits, pulls its image on start, runs `restricted` with a read-only root
  filesystem, and has probes where the chart offers them.

node-exporter needs the host network, PID namespace and host paths, which only Pod Security `privileged`
admits: it runs in a namespace of its own, so the stack's namespace enforces `restricted`. Both namespaces
deny all traffic by default and allow exactly the flows given (`flows`); the release waits for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

import versions
from components import kube, quantity, validation
from components.alert_routing import (
    AlertReceivers,
    ReceiverCredentials,
    alertmanager_config,
    receiver_secret_data,
    secret_dir,
)
from components.grafana_values import (
    GRAFANA_ADMIN_USER,
    GRAFANA_RESOURCES,
    grafana_name,
    grafana_sidecar_role,
    grafana_values,
)
from components.kube import Resources
from components.metrics_copy import MetricsCopy, copy_values, object_store_secret, thanos_spec
from components.network_policies import Flow, NetworkPolicies, NetworkPoliciesArgs

CHART = versions.KUBE_PROMETHEUS_STACK.name

NODE_EXPORTER_UID = 65534
"""`nobody`, as the node-exporter chart runs it."""
PROMETHEUS_UID = 1000
PROMETHEUS_GID = 2000

# The chart truncates its full name to 26 characters; longer release names would change Service names.
_MAX_RELEASE_NAME = 26
# Head block, WAL and compaction need room above the retention size.
MAX_RETENTION_SHARE_OF_VOLUME = Decimal("0.85")

# Everything else the chart runs (besides Grafana): the operator, its config reloaders, kube-state-metrics,
# node-exporter and the admission webhook's certificate Jobs.
OPERATOR_RESOURCES = Resources({"cpu": "50m", "memory": "128Mi"}, {"cpu": "500m", "memory": "512Mi"})
RELOADER_RESOURCES = Resources({"cpu": "10m", "memory": "32Mi"}, {"cpu": "100m", "memory": "64Mi"})
KUBE_STATE_METRICS_RESOURCES = Resources({"cpu": "50m", "memory": "128Mi"}, {"cpu": "500m", "memory": "512Mi"})
NODE_EXPORTER_RESOURCES = Resources({"cpu": "50m", "memory": "64Mi"}, {"cpu": "250m", "memory": "128Mi"})
JOB_RESOURCES = Resources({"cpu": "10m", "memory": "32Mi"}, {"cpu": "100m", "memory": "128Mi"})
PULL_ALWAYS = "Always"

SELECTED = ("rule", "serviceMonitor", "podMonitor", "probe")
"""What Prometheus picks up from every namespace."""
PROMETHEUS_RESOURCES = Resources({"cpu": "500m", "memory": "2Gi"}, {"cpu": "2", "memory": "4Gi"})
ALERTMANAGER_RESOURCES = Resources({"cpu": "50m", "memory": "128Mi"}, {"cpu": "200m", "memory": "256Mi"})


@dataclass(frozen=True)
class MonitoringStackArgs:
    """Sizes, retention and alert routing of the monitoring stack."""

    receivers: AlertReceivers
    """Alert destinations."""
    credentials: ReceiverCredentials
    """Alert destination credentials."""
    namespace: str = "monitoring"
    """Namespace of the stack."""
    node_exporter_namespace: str = "node-exporter"
    """Namespace of node-exporter, the one workload that needs host access (Pod Security `privileged`)."""
    create_namespace: bool = True
    """Create both namespaces (the stack's enforces Pod Security `restricted`) and their NetworkPolicies."""
    flows: Sequence[Flow] = ()
    """Connections the stack's pods may open or accept (each namespace writes its side; default deny)."""
    release_name: str = CHART
    """Helm release name; Service names derive from it."""
    chart_version: str = versions.KUBE_PROMETHEUS_STACK.version
    """Pinned kube-prometheus-stack chart version."""
    chart_repository: str = versions.KUBE_PROMETHEUS_STACK.repository
    """Helm repository of the chart."""
    retention: str = "15d"
    """How long Prometheus keeps samples (S3-10: 15 days)."""
    retention_size: str = "50GB"
    """Size at which Prometheus drops the oldest blocks (S3-10: 50 GB); must fit the volume."""
    storage_class: str | None = None
    """StorageClass of every volume; the cluster default when unset."""
    prometheus_storage_size: str = "64Gi"
    """Prometheus volume; holds `retention_size` plus head block and WAL."""
    prometheus_replicas: int = 1
    """Prometheus pods; each scrapes everything and keeps its own volume."""
    prometheus_resources: Resources = PROMETHEUS_RESOURCES
    """Requests and limits of the Prometheus container."""
    metrics_copy: MetricsCopy | None = None
    """Where Prometheus copies its blocks off the cluster (S3-11); None keeps them on its volume only."""
    alertmanager_replicas: int = 1
    """Alertmanager pods (they form a cluster and deduplicate notifications)."""
    alertmanager_storage_size: str = "2Gi"
    """Alertmanager volume (silences and notification log survive restarts)."""
    alertmanager_resources: Resources = ALERTMANAGER_RESOURCES
    """Requests and limits of the Alertmanager container."""
    grafana_storage_size: str | None = None
    """Grafana volume (users, preferences, annotations kept across restarts); None: dashboards only."""
    grafana_resources: Resources = GRAFANA_RESOURCES
    """Requests and limits of the Grafana container."""
    grafana_root_url: str | None = None
    """Public Grafana URL, when Grafana is exposed (links and redirects)."""
    prometheus_external_url: str | None = None
    """Public Prometheus URL, when exposed (links in alerts)."""
    alertmanager_external_url: str | None = None
    """Public Alertmanager URL, when exposed (links in notifications)."""
    managed_control_plane: bool = True
    """EKS and other managed control planes hide controller-manager, scheduler, etcd and kube-proxy metrics."""
    receivers_secret_name: str = "alertmanager-receivers"
    """Name of the Secret holding receiver credentials."""
    grafana_admin_secret_name: str = "grafana-admin"
    """Name of the Secret holding Grafana's admin login."""
    protect: bool = False
    """Protect the namespace and release (metrics history, silences) from `pulumi destroy`."""
    retain_on_delete: bool = False
    """Leave the namespace and release (with their volumes) in the cluster when removed from the program."""
    timeout_seconds: int = 900
    """How long Helm waits for the release to become ready."""


def release_values(args: MonitoringStackArgs) -> dict[str, Any]:
    """Helm values of the kube-prometheus-stack release (no credential, only Secret names and paths)."""
    return {
        "fullnameOverride": args.release_name,
        "crds": {"enabled": True},
        "defaultRules": {"create": True},
        **_control_plane_targets(args.managed_control_plane),
        "prometheusOperator": _operator_values(),
        "prometheus": {
            "prometheusSpec": _prometheus_spec(args),
            **(copy_values(args.metrics_copy) if args.metrics_copy else {}),
        },
        "alertmanager": {
            "config": alertmanager_config(args.receivers, secret_dir(args.receivers_secret_name)),
            "alertmanagerSpec": _alertmanager_spec(args),
        },
        "grafana": grafana_values(
            args.release_name,
            admin_secret=args.grafana_admin_secret_name,
            resources=args.grafana_resources,
            storage_size=args.grafana_storage_size,
            storage_class=args.storage_class,
            root_url=args.grafana_root_url,
        ),
        "kube-state-metrics": {
            "image": {"pullPolicy": PULL_ALWAYS},
            "resources": kube.resources(KUBE_STATE_METRICS_RESOURCES),
        },
        "prometheus-node-exporter": {
            "namespaceOverride": args.node_exporter_namespace,
            "image": {"pullPolicy": PULL_ALWAYS},
            "resources": kube.resources(NODE_EXPORTER_RESOURCES),
            # Host network, PID namespace and a read-only host root: nothing more (no capability, no escalation).
            "securityContext": kube.pod_security_context(NODE_EXPORTER_UID),
            "containerSecurityContext": kube.container_security_context(NODE_EXPORTER_UID),
        },
    }


def _operator_values() -> dict[str, Any]:
    """The Prometheus Operator, the config reloaders it adds to Prometheus and Alertmanager, and the
    Jobs that create its admission webhook's certificate."""
    return {
        "image": {"pullPolicy": PULL_ALWAYS},
        "resources": kube.resources(OPERATOR_RESOURCES),
        "prometheusConfigReloader": {"enableProbe": True, "resources": kube.resources(RELOADER_RESOURCES)},
        "admissionWebhooks": {
            "patch": {
                "image": {"pullPolicy": PULL_ALWAYS},
                "resources": kube.resources(JOB_RESOURCES),
                "securityContext": kube.pod_security_context(),
            }
        },
    }


def _control_plane_targets(managed: bool) -> dict[str, Any]:
    targets = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")
    return {target: {"enabled": not managed} for target in targets}


def _volume_claim(storage_class: str | None, size: str) -> dict[str, Any]:
    return {"volumeClaimTemplate": {"spec": kube.volume_claim_spec(size, storage_class)}}


def _prometheus_spec(args: MonitoringStackArgs) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": args.prometheus_replicas,
        "retention": args.retention,
        "retentionSize": args.retention_size,
        "storageSpec": _volume_claim(args.storage_class, args.prometheus_storage_size),
        # Keep the data when the StatefulSet is deleted or scaled down (Prometheus data RPO 24 h, S3-11).
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        "resources": kube.resources(args.prometheus_resources),
        "securityContext": kube.pod_security_context(PROMETHEUS_UID, fs_group=PROMETHEUS_GID),
        # Select every rule and monitor in every namespace, not only those labelled for this release.
        **{f"{kind}SelectorNilUsesHelmValues": False for kind in (*SELECTED, "scrapeConfig")},
        **{f"{kind}{scope}": {} for kind in SELECTED for scope in ("Selector", "NamespaceSelector")},
    }
    if args.prometheus_external_url:
        spec["externalUrl"] = args.prometheus_external_url
    if args.metrics_copy:
        spec["thanos"] = thanos_spec(args.metrics_copy)
    return spec


def _alertmanager_spec(args: MonitoringStackArgs) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": args.alertmanager_replicas,
        # Mounted at /etc/alertmanager/secrets/<name>/<key>; the config reads the keys as files.
        "secrets": [args.receivers_secret_name],
        "storage": _volume_claim(args.storage_class, args.alertmanager_storage_size),
        "resources": kube.resources(args.alertmanager_resources),
        "securityContext": kube.pod_security_context(PROMETHEUS_UID, fs_group=PROMETHEUS_GID),
    }
    if args.alertmanager_external_url:
        spec["externalUrl"] = args.alertmanager_external_url
    return spec


def _validate(args: MonitoringStackArgs) -> None:
    if len(args.release_name) > _MAX_RELEASE_NAME:
        raise ValueError(f"release_name {args.release_name!r} is longer than {_MAX_RELEASE_NAME} characters")
    if not validation.is_prometheus_duration(args.retention):
        raise ValueError(f"retention must be a Prometheus duration like 15d, got {args.retention!r}")
    if args.receivers.webhook_url and args.credentials.webhook_token is None:
        raise ValueError("a webhook receiver needs credentials.webhook_token")
    retention_bytes = validation.prometheus_size_bytes(args.retention_size)
    if retention_bytes is None:
        raise ValueError(
            f"retention_size must look like 50GB (units B, KB, MB, GB, TB, PB), got {args.retention_size!r}"
        )
    volume_bytes = quantity.parse(args.prometheus_storage_size)
    if retention_bytes > volume_bytes * MAX_RETENTION_SHARE_OF_VOLUME:
        raise ValueError(
            f"retention_size {args.retention_size} does not fit prometheus_storage_size {args.prometheus_storage_size}"
            f" (at most {int(MAX_RETENTION_SHARE_OF_VOLUME * 100)} % of it, the rest is head block and WAL)"
        )


class MonitoringStack(pulumi.ComponentResource):
    """kube-prometheus-stack with persistent storage, severity routing and a generated Grafana login."""

    namespace: str
    release_name: str
    prometheus_url: str
    """In-cluster Prometheus URL."""
    alertmanager_url: str
    """In-cluster Alertmanager URL."""
    grafana_url: str
    """In-cluster Grafana URL."""
    grafana_service_name: str
    prometheus_service_name: str
    grafana_admin_secret_name: str
    """Secret with keys `admin-user` and `admin-password`."""
    release: k8s.helm.v3.Release
    namespaces: dict[str, k8s.core.v1.Namespace]
    """Namespaces this component created (the stack's, node-exporter's), by name: policies placed there later
    wait for them."""

    def __init__(self, name: str, args: MonitoringStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:monitoring_stack:MonitoringStack", name, None, opts)
        _validate(args)
        stateful = pulumi.ResourceOptions.merge(
            kube.child_options(self, opts),
            pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.retain_on_delete),
        )
        labels = kube.app_labels(name, component="monitoring")

        self.namespaces = namespaces = self._namespaces(name, args, labels, stateful) if args.create_namespace else {}
        isolation = [
            NetworkPolicies(
                f"{name}-isolation" if namespace == args.namespace else f"{name}-{namespace}-isolation",
                NetworkPoliciesArgs(namespace, args.flows, resource.metadata.name, labels, deny_by_default=True),
                kube.child_options(self, opts),
            )
            for namespace, resource in namespaces.items()
        ]
        in_namespace = pulumi.ResourceOptions.merge(
            kube.child_options(self, opts), pulumi.ResourceOptions(depends_on=list(namespaces.values()))
        )
        secrets = [
            self._receivers_secret(name, args, labels, in_namespace),
            self._grafana_secret(name, args, labels, in_namespace),
        ]
        if args.metrics_copy:
            secrets.append(
                object_store_secret(f"{name}-object-store", args.metrics_copy, args.namespace, labels, in_namespace)
            )
        sidecar_role = k8s.rbac.v1.ClusterRole(
            f"{name}-grafana-sidecar-role",
            metadata=kube.metadata(grafana_sidecar_role(args.release_name), labels=labels),
            rules=[{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}],
            opts=kube.child_options(self, opts),
        )

        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=args.release_name,
            chart=CHART,
            version=args.chart_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=args.chart_repository),
            namespace=args.namespace,
            values=release_values(args),
            timeout=args.timeout_seconds,
            cleanup_on_fail=True,
            opts=pulumi.ResourceOptions.merge(
                stateful, pulumi.ResourceOptions(depends_on=[*namespaces.values(), *isolation, *secrets, sidecar_role])
            ),
        )

        self.namespace = args.namespace
        self.release_name = args.release_name
        self.grafana_admin_secret_name = args.grafana_admin_secret_name
        self.prometheus_service_name = f"{args.release_name}-prometheus"
        self.grafana_service_name = grafana_name(args.release_name)
        # Plain strings: the chart's Service names are known before deployment.
        self.prometheus_url = _service_url(self.prometheus_service_name, args.namespace, 9090)
        self.alertmanager_url = _service_url(f"{args.release_name}-alertmanager", args.namespace, 9093)
        self.grafana_url = _service_url(self.grafana_service_name, args.namespace, 80)
        self.register_outputs(
            {
                "prometheusUrl": self.prometheus_url,
                "alertmanagerUrl": self.alertmanager_url,
                "grafanaUrl": self.grafana_url,
                "grafanaAdminSecretName": self.grafana_admin_secret_name,
                "releaseName": self.release_name,
            }
        )

    def _namespaces(
        self, name: str, args: MonitoringStackArgs, labels: dict[str, str], opts: pulumi.ResourceOptions
    ) -> dict[str, k8s.core.v1.Namespace]:
        """The stack's namespace (`restricted`) and node-exporter's (`privileged`: host network, PID, paths)."""
        return {
            namespace: k8s.core.v1.Namespace(
                f"{name}-{role}",
                metadata=kube.metadata(namespace, labels={**labels, **kube.namespace_labels(namespace, enforce)}),
                opts=opts,
            )
            for role, namespace, enforce in (
                ("namespace", args.namespace, "restricted"),
                ("node-exporter-namespace", args.node_exporter_namespace, "privileged"),
            )
        }

    def _receivers_secret(
        self, name: str, args: MonitoringStackArgs, labels: dict[str, str], opts: pulumi.ResourceOptions
    ) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(
            f"{name}-receivers",
            metadata=kube.metadata(args.receivers_secret_name, args.namespace, labels),
            type="Opaque",
            string_data={
                key: pulumi.Output.secret(value) for key, value in receiver_secret_data(args.credentials).items()
            },
            opts=opts,
        )

    def _grafana_secret(
        self, name: str, args: MonitoringStackArgs, labels: dict[str, str], opts: pulumi.ResourceOptions
    ) -> k8s.core.v1.Secret:
        password = random.RandomPassword(
            f"{name}-grafana-admin-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        return k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=kube.metadata(args.grafana_admin_secret_name, args.namespace, labels),
            type="Opaque",
            string_data={"admin-user": GRAFANA_ADMIN_USER, "admin-password": pulumi.Output.secret(password.result)},
            opts=opts,
        )


def _service_url(service: str, namespace: str, port: int) -> str:
    return f"http://{kube.service_dns_name(service, namespace)}:{port}"
