"""The log stack's Prometheus exporter (S2-04, S2-05): Elasticsearch's cluster health, disk use and snapshots as
metrics, read over verified TLS as the `metrics-exporter` user, scraped through a ServiceMonitor with
`job="elasticsearch"` (the log stack's alerts select on it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import kube
from components.elastic_pods import CA_MOUNT, CA_VOLUME, ca_volume
from components.elastic_users import METRICS
from components.kube import Resources

EXPORTER = "elasticsearch-exporter"
EXPORTER_PORT = 9114
EXPORTER_JOB = "elasticsearch"
EXPORTER_UID = 10001
EXPORTER_RESOURCES = Resources({"cpu": "50m", "memory": "64Mi"}, {"cpu": "200m", "memory": "128Mi"})


@dataclass(frozen=True)
class ElasticsearchExporter:
    """What the exporter reads, and where it runs."""

    namespace: pulumi.Input[str]
    """The log stack's namespace (the metrics user's Secret and the CA are there)."""
    url: str
    """`https://` URL of Elasticsearch's HTTP Service."""
    cluster: str
    """The Elasticsearch resource (its HTTP certificate's Secret holds the CA)."""
    image: pulumi.Input[str]
    part_of: str | None = None


def declare_exporter(name: str, exporter: ElasticsearchExporter, opts: pulumi.ResourceOptions) -> None:
    """The exporter's Deployment `<name>-exporter`, its Service and ServiceMonitor."""
    labels = kube.app_labels(EXPORTER, exporter.part_of, component="metrics")
    selector = kube.selector_labels(EXPORTER)
    findings = {
        "CKV_K8S_35": "the exporter reads its credentials from ES_USERNAME/ES_PASSWORD only",
        **kube.unpinned_image_finding(exporter.image),
    }
    k8s.apps.v1.Deployment(
        f"{name}-exporter",
        metadata=kube.metadata(
            EXPORTER, exporter.namespace, labels, {**kube.checkov_skips(findings), **kube.PULUMI_WINS}
        ),
        spec={
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": kube.pod_security_context(EXPORTER_UID),
                    "containers": [_container(exporter)],
                    "volumes": [ca_volume(exporter.cluster)],
                },
            },
        },
        opts=opts,
    )
    k8s.core.v1.Service(
        f"{name}-exporter-service",
        metadata=kube.metadata(EXPORTER, exporter.namespace, labels),
        spec={
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "metrics", "port": EXPORTER_PORT, "targetPort": EXPORTER_PORT, "protocol": "TCP"}],
        },
        opts=opts,
    )
    kube.service_monitor(
        f"{name}-exporter-servicemonitor",
        EXPORTER,
        exporter.namespace,
        labels,
        selector,
        kube.scrape_endpoint("metrics", job=EXPORTER_JOB),
        opts,
    )


def _container(exporter: ElasticsearchExporter) -> dict[str, Any]:
    return {
        "name": "exporter",
        "image": exporter.image,
        "imagePullPolicy": "Always",
        "args": [
            f"--es.uri={exporter.url}",
            f"--es.ca={CA_MOUNT}/ca.crt",
            "--es.all",
            "--collector.snapshots",
            "--es.timeout=30s",
            f"--web.listen-address=:{EXPORTER_PORT}",
        ],
        "env": [_secret_env("ES_USERNAME", "username"), _secret_env("ES_PASSWORD", "password")],
        "ports": [{"name": "metrics", "containerPort": EXPORTER_PORT, "protocol": "TCP"}],
        "resources": kube.resources(EXPORTER_RESOURCES),
        "securityContext": kube.container_security_context(EXPORTER_UID),
        "livenessProbe": {**kube.http_get("/healthz", EXPORTER_PORT), "periodSeconds": 30},
        "readinessProbe": {**kube.http_get("/healthz", EXPORTER_PORT), "periodSeconds": 10},
        "volumeMounts": [{"name": CA_VOLUME, "mountPath": CA_MOUNT, "readOnly": True}],
    }


def _secret_env(variable: str, key: str) -> dict[str, Any]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": METRICS.secret_name, "key": key}}}
