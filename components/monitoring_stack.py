"""MonitoringStack: Prometheus, Alertmanager and Grafana from the kube-prometheus-stack Helm chart.

- Prometheus keeps `retention` / `retentionSize` of data on a persistent volume and picks up every
  PrometheusRule, ServiceMonitor, PodMonitor and Probe in the cluster, not only the chart's own.
- Alertmanager routes by `severity`: `critical` pages (PagerDuty), `warning` goes to Slack, `info` to
  email; a webhook receiver can get a copy of chosen services' alerts. Receiver credentials live in
  a Secret mounted into Alertmanager and are read through the `*_file` fields: the Helm values (and so
  the Pulumi state of the release) hold only file paths.
- Grafana's admin password is generated and kept in a Secret; its dashboard sidecar loads every
  ConfigMap labelled `grafana_dashboard: "1"` from all namespaces.
- Control-plane scrape targets a managed control plane (EKS) does not expose are turned off (the chart
  drops their rules with them), so they do not raise `...Down` alerts forever.
- Every container the chart runs has requests and limits, pulls its image on start, runs `restricted`
  with a read-only root filesystem, and has probes where the chart offers them.

node-exporter needs the host network, PID namespace and host paths, which only Pod Security `privileged`
admits: it runs in a namespace of its own, so the stack's namespace enforces `restricted`. Both namespaces
deny all traffic by default and allow exactly the flows given (`flows`); the release waits for them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

import versions
from components import kube, quantity, validation
from components.kube import Resources
from components.network_policies import Flow, NetworkPolicies, NetworkPoliciesArgs

CHART = versions.KUBE_PROMETHEUS_STACK.name

SECRET_MOUNT_ROOT = "/etc/alertmanager/secrets"
RECEIVER_BY_SEVERITY = {"critical": "pagerduty", "warning": "slack", "info": "email"}
WEBHOOK_RECEIVER = "webhook"
NULL_RECEIVER = "null"
# Always-firing alerts of the chart's own rules, meant for inhibition and dead-man's switches, not people.
SILENCED_ALERTS = ("Watchdog", "InfoInhibitor")

# Keys of the receiver-credentials Secret; Alertmanager reads each as a file.
PAGERDUTY_KEY = "pagerduty-routing-key"
SLACK_KEY = "slack-api-url"
SMTP_PASSWORD_KEY = "smtp-password"
WEBHOOK_TOKEN_KEY = "webhook-token"

GRAFANA_ADMIN_USER = "admin"
GRAFANA_UID = 472
NODE_EXPORTER_UID = 65534
"""`nobody`, as the node-exporter chart runs it."""
PROMETHEUS_UID = 1000
PROMETHEUS_GID = 2000

# The chart truncates its full name to 26 characters; longer release names would change Service names.
_MAX_RELEASE_NAME = 26
# Prometheus reads retention sizes in base-2 units (`50GB` = 50 GiB).
_RETENTION_SIZE = re.compile(r"^(?P<number>[0-9]+)(?P<unit>B|KB|MB|GB|TB|PB)$")
_RETENTION_UNITS = {"B": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5}
# Head block, WAL and compaction need room above the retention size.
_MAX_RETENTION_SHARE_OF_VOLUME = Decimal("0.85")

# Everything else the chart runs: the operator, its config reloaders, kube-state-metrics, node-exporter,
# Grafana's dashboard/datasource sidecars and the admission webhook's certificate Jobs.
OPERATOR_RESOURCES = Resources({"cpu": "50m", "memory": "128Mi"}, {"cpu": "500m", "memory": "512Mi"})
RELOADER_RESOURCES = Resources({"cpu": "10m", "memory": "32Mi"}, {"cpu": "100m", "memory": "64Mi"})
KUBE_STATE_METRICS_RESOURCES = Resources({"cpu": "50m", "memory": "128Mi"}, {"cpu": "500m", "memory": "512Mi"})
NODE_EXPORTER_RESOURCES = Resources({"cpu": "50m", "memory": "64Mi"}, {"cpu": "250m", "memory": "128Mi"})
SIDECAR_RESOURCES = Resources({"cpu": "20m", "memory": "96Mi"}, {"cpu": "200m", "memory": "256Mi"})
JOB_RESOURCES = Resources({"cpu": "10m", "memory": "32Mi"}, {"cpu": "100m", "memory": "128Mi"})
PULL_ALWAYS = "Always"
# The dashboards sidecar (k8s-sidecar) answers /healthz on its HEALTH_PORT, which the Grafana chart sets.
SIDECAR_HEALTH_PORT = 8084

PROMETHEUS_RESOURCES = Resources({"cpu": "500m", "memory": "2Gi"}, {"cpu": "2", "memory": "4Gi"})
ALERTMANAGER_RESOURCES = Resources({"cpu": "50m", "memory": "128Mi"}, {"cpu": "200m", "memory": "256Mi"})
GRAFANA_RESOURCES = Resources({"cpu": "100m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"})


@dataclass(frozen=True)
class AlertReceivers:
    """Where alerts go; nothing here is a credential."""

    slack_channel: str
    """Channel for `warning` alerts, e.g. `#alerts`."""
    email_to: str
    """Recipient of `info` alerts."""
    email_from: str
    """Sender address of alert emails."""
    smtp_smarthost: str
    """SMTP relay as `host:port`."""
    smtp_username: str
    """SMTP login; its password is a credential."""
    smtp_require_tls: bool = True
    """Refuse to send alert emails over an unencrypted SMTP connection."""
    webhook_url: str | None = None
    """Endpoint that receives a copy of alerts; authenticated with a bearer token."""
    webhook_services: Sequence[str] = ()
    """Services (value of the `service` label) whose alerts also go to the webhook; empty sends all."""

    def __post_init__(self) -> None:
        if ":" not in self.smtp_smarthost:
            raise ValueError(f"smtp_smarthost must be host:port, got {self.smtp_smarthost!r}")
        if self.webhook_url is not None and not self.webhook_url.startswith("https://"):
            raise ValueError(f"webhook_url must be an https:// URL, got {self.webhook_url!r}")


@dataclass(frozen=True)
class ReceiverCredentials:
    """Receiver credentials (Pulumi secrets); written only into a Kubernetes Secret."""

    pagerduty_routing_key: pulumi.Input[str]
    """PagerDuty Events API v2 integration key."""
    slack_api_url: pulumi.Input[str]
    """Slack incoming-webhook URL (the URL is the credential)."""
    smtp_password: pulumi.Input[str]
    """Password of `smtp_username` at the SMTP relay."""
    webhook_token: pulumi.Input[str] | None = None
    """Bearer token for the webhook receiver; required when a webhook URL is set."""


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
    alertmanager_replicas: int = 1
    """Alertmanager pods (they form a cluster and deduplicate notifications)."""
    alertmanager_storage_size: str = "2Gi"
    """Alertmanager volume (silences and notification log survive restarts)."""
    alertmanager_resources: Resources = ALERTMANAGER_RESOURCES
    """Requests and limits of the Alertmanager container."""
    grafana_storage_size: str | None = None
    """Grafana volume; dashboards come from ConfigMaps, so persistence is optional."""
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


def alertmanager_config(receivers: AlertReceivers, secret_dir: str) -> dict[str, Any]:
    """Alertmanager configuration whose credentials are files under SECRET_DIR."""
    routes: list[dict[str, Any]] = [
        {"receiver": NULL_RECEIVER, "matchers": [f'alertname=~"{"|".join(SILENCED_ALERTS)}"']},
    ]
    if receivers.webhook_url:
        routes.append(_webhook_route(receivers.webhook_services))
    routes += [
        {"receiver": receiver, "matchers": [f'severity="{severity}"']}
        for severity, receiver in RECEIVER_BY_SEVERITY.items()
    ]
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            # An alert without a known severity still reaches people, in chat.
            "receiver": RECEIVER_BY_SEVERITY["warning"],
            "group_by": ["namespace", "alertname"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "inhibit_rules": _inhibit_rules(),
        "receivers": _receivers(receivers, secret_dir),
    }


def _webhook_route(services: Sequence[str]) -> dict[str, Any]:
    # `continue` keeps the severity routes below in force for the same alert.
    route: dict[str, Any] = {"receiver": WEBHOOK_RECEIVER, "continue": True}
    if services:
        route["matchers"] = [f'service=~"{"|".join(re.escape(s) for s in services)}"']
    return route


def _inhibit_rules() -> list[dict[str, Any]]:
    """A louder alert of the same name and namespace mutes the quieter ones."""
    return [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": ["namespace", "alertname"],
        },
        {
            "source_matchers": ['severity="warning"'],
            "target_matchers": ['severity="info"'],
            "equal": ["namespace", "alertname"],
        },
        {
            "source_matchers": ['alertname="InfoInhibitor"'],
            "target_matchers": ['severity="info"'],
            "equal": ["namespace"],
        },
    ]


def _receivers(receivers: AlertReceivers, secret_dir: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"name": NULL_RECEIVER},
        {
            "name": RECEIVER_BY_SEVERITY["critical"],
            "pagerduty_configs": [
                {
                    "routing_key_file": f"{secret_dir}/{PAGERDUTY_KEY}",
                    "send_resolved": True,
                    "description": "{{ .CommonAnnotations.summary }}",
                    "details": {"runbook": "{{ .CommonAnnotations.runbook_url }}"},
                }
            ],
        },
        {
            "name": RECEIVER_BY_SEVERITY["warning"],
            "slack_configs": [
                {
                    "api_url_file": f"{secret_dir}/{SLACK_KEY}",
                    "channel": receivers.slack_channel,
                    "send_resolved": True,
                    "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.service }})",
                    "text": (
                        "{{ range .Alerts }}{{ .Annotations.description }}\n"
                        "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
                    ),
                }
            ],
        },
        {
            "name": RECEIVER_BY_SEVERITY["info"],
            "email_configs": [
                {
                    "to": receivers.email_to,
                    "from": receivers.email_from,
                    "smarthost": receivers.smtp_smarthost,
                    "auth_username": receivers.smtp_username,
                    "auth_password_file": f"{secret_dir}/{SMTP_PASSWORD_KEY}",
                    "require_tls": receivers.smtp_require_tls,
                    "send_resolved": True,
                }
            ],
        },
    ]
    if receivers.webhook_url:
        # The URL is an endpoint, not a secret; the bearer token is the credential. (`url_file` would also
        # work on the deployed Alertmanager, but not on the amtool that validates this config offline.)
        found.append(
            {
                "name": WEBHOOK_RECEIVER,
                "webhook_configs": [
                    {
                        "url": receivers.webhook_url,
                        "send_resolved": True,
                        "http_config": {
                            "authorization": {"type": "Bearer", "credentials_file": f"{secret_dir}/{WEBHOOK_TOKEN_KEY}"}
                        },
                    }
                ],
            }
        )
    return found


def secret_dir(secret_name: str) -> str:
    """Where the Prometheus Operator mounts a Secret listed in `alertmanagerSpec.secrets`."""
    return f"{SECRET_MOUNT_ROOT}/{secret_name}"


def release_values(args: MonitoringStackArgs) -> dict[str, Any]:
    """Helm values of the kube-prometheus-stack release (no credential, only Secret names and paths)."""
    return {
        "fullnameOverride": args.release_name,
        "crds": {"enabled": True},
        "defaultRules": {"create": True},
        **_control_plane_targets(args.managed_control_plane),
        "prometheusOperator": _operator_values(),
        "prometheus": {"prometheusSpec": _prometheus_spec(args)},
        "alertmanager": {
            "config": alertmanager_config(args.receivers, secret_dir(args.receivers_secret_name)),
            "alertmanagerSpec": _alertmanager_spec(args),
        },
        "grafana": _grafana_values(args),
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
        "ruleSelectorNilUsesHelmValues": False,
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "probeSelectorNilUsesHelmValues": False,
        "scrapeConfigSelectorNilUsesHelmValues": False,
        "ruleSelector": {},
        "ruleNamespaceSelector": {},
        "serviceMonitorSelector": {},
        "serviceMonitorNamespaceSelector": {},
        "podMonitorSelector": {},
        "podMonitorNamespaceSelector": {},
        "probeSelector": {},
        "probeNamespaceSelector": {},
    }
    if args.prometheus_external_url:
        spec["externalUrl"] = args.prometheus_external_url
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


def _grafana_values(args: MonitoringStackArgs) -> dict[str, Any]:
    values: dict[str, Any] = {
        "enabled": True,
        "fullnameOverride": _grafana_name(args.release_name),
        "admin": {
            "existingSecret": args.grafana_admin_secret_name,
            "userKey": "admin-user",
            "passwordKey": "admin-password",
        },
        # The chart's own ClusterRole would let the sidecars read every Secret in the cluster.
        "rbac": {"useExistingClusterRole": grafana_sidecar_role(args.release_name)},
        "image": {"pullPolicy": PULL_ALWAYS},
        "resources": kube.resources(args.grafana_resources),
        # The image runs as the grafana user (472).
        "securityContext": kube.pod_security_context(GRAFANA_UID),
        "containerSecurityContext": kube.container_security_context(GRAFANA_UID),
        # Read-only root filesystem: Grafana still needs a scratch /tmp.
        "extraEmptyDirMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "sidecar": {
            "imagePullPolicy": PULL_ALWAYS,
            "resources": kube.resources(SIDECAR_RESOURCES),
            "securityContext": kube.container_security_context(GRAFANA_UID),
            # Only the dashboards sidecar keeps running; datasources are written once, before Grafana starts.
            "livenessProbe": kube.http_get("/healthz", SIDECAR_HEALTH_PORT),
            "readinessProbe": kube.http_get("/healthz", SIDECAR_HEALTH_PORT),
            "datasources": {"initDatasources": True, "skipReload": True, "resource": "configmap"},
            "dashboards": {
                "enabled": True,
                "label": "grafana_dashboard",
                "labelValue": "1",
                "searchNamespace": "ALL",
                "resource": "configmap",
                "folderAnnotation": "grafana_folder",
                "provider": {"foldersFromFilesStructure": True, "allowUiUpdates": False},
            },
        },
        "persistence": _grafana_persistence(args),
    }
    # No calls home: update checks and usage reports would need egress to the internet.
    ini: dict[str, Any] = {
        "analytics": {"check_for_updates": False, "check_for_plugin_updates": False, "reporting_enabled": False}
    }
    if args.grafana_root_url:
        ini["server"] = {"root_url": args.grafana_root_url}
    values["grafana.ini"] = ini
    return values


def _grafana_persistence(args: MonitoringStackArgs) -> dict[str, Any]:
    if not args.grafana_storage_size:
        return {"enabled": False}
    persistence: dict[str, Any] = {
        "enabled": True,
        "type": "pvc",
        "accessModes": ["ReadWriteOnce"],
        "size": args.grafana_storage_size,
    }
    if args.storage_class:
        persistence["storageClassName"] = args.storage_class
    return persistence


def _grafana_name(release_name: str) -> str:
    return f"{release_name}-grafana"


def grafana_sidecar_role(release_name: str) -> str:
    """ClusterRole of Grafana's sidecars: read ConfigMaps (dashboards, datasources) in every namespace."""
    return f"{_grafana_name(release_name)}-sidecar"


def _validate(args: MonitoringStackArgs) -> None:
    if len(args.release_name) > _MAX_RELEASE_NAME:
        raise ValueError(f"release_name {args.release_name!r} is longer than {_MAX_RELEASE_NAME} characters")
    if not validation.is_prometheus_duration(args.retention):
        raise ValueError(f"retention must be a Prometheus duration like 15d, got {args.retention!r}")
    if args.receivers.webhook_url and args.credentials.webhook_token is None:
        raise ValueError("a webhook receiver needs credentials.webhook_token")
    retention_bytes = _retention_bytes(args.retention_size)
    volume_bytes = quantity.parse(args.prometheus_storage_size)
    if retention_bytes > volume_bytes * _MAX_RETENTION_SHARE_OF_VOLUME:
        raise ValueError(
            f"retention_size {args.retention_size} does not fit prometheus_storage_size {args.prometheus_storage_size}"
            f" (at most {int(_MAX_RETENTION_SHARE_OF_VOLUME * 100)} % of it, the rest is head block and WAL)"
        )


def _retention_bytes(size: str) -> Decimal:
    match = _RETENTION_SIZE.match(size)
    if not match:
        raise ValueError(f"retention_size must look like 50GB (units B, KB, MB, GB, TB, PB), got {size!r}")
    return Decimal(match["number"]) * 1024 ** _RETENTION_UNITS[match["unit"]]


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
        self.grafana_service_name = _grafana_name(args.release_name)
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
        credentials = args.credentials
        data: dict[str, pulumi.Input[str]] = {
            PAGERDUTY_KEY: credentials.pagerduty_routing_key,
            SLACK_KEY: credentials.slack_api_url,
            SMTP_PASSWORD_KEY: credentials.smtp_password,
        }
        if credentials.webhook_token is not None:
            data[WEBHOOK_TOKEN_KEY] = credentials.webhook_token
        return k8s.core.v1.Secret(
            f"{name}-receivers",
            metadata=kube.metadata(args.receivers_secret_name, args.namespace, labels),
            type="Opaque",
            string_data={key: pulumi.Output.secret(value) for key, value in data.items()},
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
