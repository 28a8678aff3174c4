"""LogShipper: Fluent Bit on every node, shipping every container's log lines to Elasticsearch (S2-04).

Fluent Bit takes the place of the manuals' Logstash: the platform's logs are already lines on each node's
disk, and a node agent reads them there (one ~100 MB process per node instead of a 1 GiB central JVM that
still needs an agent per node to feed it), adds the pod's namespace and labels from the Kubernetes API, and
buffers on the node's disk while Elasticsearch is away. Its configuration: components/fluent_bit.py. The files
apps write under their log directories reach the node's container logs through each app's `log-follower`
sidecar (components/log_follower.py), so they carry the same fields.

Reading the node's `/var/log` needs a hostPath volume, which only the Pod Security level `privileged`
admits, so the DaemonSet has a namespace of its own whose only workload it is. Its containers stay as
narrow as that allows: no privilege, no capability, no escalation, a read-only root filesystem and
`/var/log` read-only; they run as uid 0 only because the container log files are root's (mode 0640)
and the read positions and the disk buffer must survive a restart in a host directory of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

import versions
from components import kube
from components.fluent_bit import CA_MOUNT, CONFIG_FILE, METRICS_PORT, STATE_DIR, Destination, fluent_bit_config
from components.kube import Resources

NAME = "fluent-bit"
CONFIG_MOUNT = "/fluent-bit/config"
HOST_STATE_DIR = "/var/lib/ai-platform-fluent-bit"
CREDENTIALS = "log-shipper-credentials"
TRUST = "elasticsearch-trust"
"""The Certificate (and Secret) whose `ca.crt` is the CA of Elasticsearch's certificate."""
SHIPPER_RESOURCES = Resources({"cpu": "100m", "memory": "128Mi"}, {"cpu": "500m", "memory": "256Mi"})
ROOT_REASON = "container log files are root's (0640) and the read positions live in a host directory"


@dataclass(frozen=True)
class LogShipperArgs:
    """Where the logs go and how much the shipper may buffer."""

    namespace: str
    """Namespace of the DaemonSet (Pod Security `privileged`: it mounts the node's /var/log)."""
    elasticsearch_host: str
    """In-cluster DNS name of Elasticsearch's HTTPS Service."""
    data_stream: str
    """Data stream the records are written to."""
    username: str
    """Elasticsearch user allowed to write the data stream."""
    password: pulumi.Input[str]
    """Its password (a secret Output; kept in a Secret of this namespace)."""
    ca_issuer: str
    """ClusterIssuer of the CA that signed Elasticsearch's certificate (a Certificate from it gives `ca.crt`)."""
    namespace_ref: pulumi.Input[str] | None = None
    """The Namespace's name output, so everything waits for it; defaults to `namespace`."""
    elasticsearch_port: int = 9200
    image: pulumi.Input[str] = versions.FLUENT_BIT_IMAGE
    resources: Resources = SHIPPER_RESOURCES
    """Per node."""
    disk_buffer: str = "2G"
    """Most that is buffered on a node's disk while Elasticsearch does not take records; the oldest are dropped
    beyond it."""
    part_of: str | None = None
    """Value of `app.kubernetes.io/part-of`."""


class LogShipper(pulumi.ComponentResource):
    """The Fluent Bit DaemonSet, its configuration, credentials, trust, RBAC and PodMonitor."""

    name: str
    """DaemonSet name (`fluent-bit`)."""
    namespace: str
    """The DaemonSet's namespace."""
    labels: dict[str, str]
    """Pod labels."""
    selector: dict[str, str]
    """Selects the shipper's pods, for NetworkPolicies."""
    metrics_port: int
    """Where Prometheus scrapes the shipper's metrics."""
    config: dict[str, Any]
    """The Fluent Bit configuration (YAML format) as deployed."""

    def __init__(self, name: str, args: LogShipperArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:log_shipper:LogShipper", name, None, opts)
        child = kube.child_options(self, opts)
        namespace = args.namespace_ref if args.namespace_ref is not None else args.namespace
        self.name, self.namespace = NAME, args.namespace
        self.labels = kube.app_labels(NAME, args.part_of, component="log-shipper")
        self.selector = kube.selector_labels(NAME)
        self.metrics_port = METRICS_PORT
        self.config = fluent_bit_config(
            Destination(args.elasticsearch_host, args.elasticsearch_port, args.data_stream, args.disk_buffer)
        )

        credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=kube.metadata(CREDENTIALS, namespace, self.labels),
            type="kubernetes.io/basic-auth",
            string_data={"username": args.username, "password": args.password},
            opts=child,
        )
        # Only its `ca.crt` is used: the CA that signed Elasticsearch's certificate, without copying a Secret.
        trust = kube.cert_manager_object(
            f"{name}-trust",
            "Certificate",
            TRUST,
            namespace,
            {
                "secretName": TRUST,
                "commonName": NAME,
                "usages": ["client auth"],
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": kube.cluster_issuer_ref(args.ca_issuer),
            },
            child,
            self.labels,
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=kube.metadata(NAME, namespace, self.labels), opts=child
        )
        binding = self._rbac(name, namespace, child)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=kube.metadata(f"{NAME}-config", namespace, self.labels),
            data={CONFIG_FILE: yaml.safe_dump(self.config, sort_keys=False)},
            opts=child,
        )
        k8s.apps.v1.DaemonSet(
            f"{name}-daemonset",
            metadata=kube.metadata(
                NAME,
                namespace,
                self.labels,
                {"ai-platform/run-as-user-reason": ROOT_REASON, **kube.checkov_skips(_accepted_findings(args.image))},
            ),
            spec=self._daemonset_spec(args, account, config_map),
            # No Output links the pods to these. They use both Secrets by name (the trust one is cert-manager's to
            # make: this waits for its Certificate to exist), and their first records need the binding's reads.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[credentials, trust, binding])),
        )
        kube.pod_monitor(
            f"{name}-podmonitor",
            NAME,
            namespace,
            self.labels,
            {
                "selector": {"matchLabels": self.selector},
                "podMetricsEndpoints": [kube.scrape_endpoint("metrics", "/api/v2/metrics/prometheus", job=NAME)],
            },
            child,
        )
        self.register_outputs({"daemonSet": NAME})

    def _rbac(
        self, name: str, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> k8s.rbac.v1.ClusterRoleBinding:
        """The binding to read pods and namespaces cluster-wide: the kubernetes filter adds their metadata."""
        role_name = f"ai-platform-{NAME}"
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-clusterrole",
            metadata=kube.metadata(role_name, labels=self.labels),
            rules=[{"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}],
            opts=opts,
        )
        return k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-clusterrolebinding",
            metadata=kube.metadata(role_name, labels=self.labels),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role.metadata.name},
            subjects=[{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}],
            opts=opts,
        )

    def _daemonset_spec(
        self, args: LogShipperArgs, account: k8s.core.v1.ServiceAccount, config_map: k8s.core.v1.ConfigMap
    ) -> dict[str, Any]:
        health = {**kube.http_get("/api/v1/health", METRICS_PORT), "periodSeconds": 30, "failureThreshold": 3}
        container = {
            "name": NAME,
            "image": args.image,
            "imagePullPolicy": "Always",
            "args": ["-c", f"{CONFIG_MOUNT}/{CONFIG_FILE}"],
            "env": [_credential("ES_USERNAME", "username"), _credential("ES_PASSWORD", "password")],
            "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
            "resources": kube.resources(args.resources),
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "privileged": False,
                "readOnlyRootFilesystem": True,
                "runAsUser": 0,
                "runAsGroup": 0,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "livenessProbe": {**health, "initialDelaySeconds": 30},
            "readinessProbe": {**health, "initialDelaySeconds": 10},
            "volumeMounts": [
                {"name": "varlog", "mountPath": "/var/log", "readOnly": True},
                {"name": "state", "mountPath": STATE_DIR},
                {"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True},
                {"name": "elasticsearch-ca", "mountPath": CA_MOUNT, "readOnly": True},
            ],
        }
        trust = {"secretName": TRUST, "defaultMode": 0o444, "items": [{"key": "ca.crt", "path": "ca.crt"}]}
        return {
            "selector": {"matchLabels": self.selector},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {
                    "labels": self.labels,
                    # A changed configuration rolls the pods.
                    "annotations": {"ai-platform/config-hash": kube.short_hash(yaml.safe_dump(self.config))},
                },
                "spec": {
                    "serviceAccountName": account.metadata.name,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "terminationGracePeriodSeconds": 30,
                    # Every node's logs, tainted nodes (spot, system) included.
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [container],
                    "volumes": [
                        {"name": "varlog", "hostPath": {"path": "/var/log", "type": "Directory"}},
                        {"name": "state", "hostPath": {"path": HOST_STATE_DIR, "type": "DirectoryOrCreate"}},
                        {"name": "config", "configMap": {"name": config_map.metadata.name}},
                        {"name": "elasticsearch-ca", "secret": trust},
                    ],
                },
            },
        }


def _credential(variable: str, key: str) -> dict[str, Any]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": CREDENTIALS, "key": key}}}


def _accepted_findings(image: pulumi.Input[str]) -> dict[str, str]:
    return {
        "CKV_K8S_23": ROOT_REASON,
        "CKV_K8S_40": ROOT_REASON,
        "CKV_K8S_38": "the kubernetes filter reads pod and namespace metadata from the API (read-only ClusterRole)",
        "CKV_K8S_35": "Fluent Bit reads its Elasticsearch credentials from the environment (${ES_PASSWORD})",
        **kube.unpinned_image_finding(image),
    }
