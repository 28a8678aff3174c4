"""The log shipper's Fluent Bit configuration (YAML format) (S2-04): tail every container log on the node, add
the pod's namespace and labels, lift them into the record's own fields, and ship to Elasticsearch over verified
TLS, buffering on the node's disk and retrying until Elasticsearch takes the records.

Each record carries `namespace`, `app`, `colour` (blue-green), `track` (canary), `service`
(`app.kubernetes.io/part-of`), `pod`, `container` and `node`; a JSON line is merged into the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.blue_green import COLOUR_LABEL
from components.canary import TRACK_LABEL

METRICS_PORT = 2020
CONFIG_FILE = "fluent-bit.yaml"
CA_MOUNT = "/fluent-bit/elasticsearch-ca"
STATE_DIR = "/var/lib/fluent-bit"
"""In the container: read positions (tail.db) and the disk buffer (a host directory of their own)."""


@dataclass(frozen=True)
class Destination:
    """Where the records go."""

    host: str
    """In-cluster DNS name of Elasticsearch's HTTPS Service."""
    port: int
    data_stream: str
    """Data stream the records are written to."""
    disk_buffer: str
    """Most that waits on a node's disk while Elasticsearch does not take records; the oldest are dropped beyond."""


# Record keys the nest filters lift out of the kubernetes filter's metadata, and the field each becomes.
FIELDS = {
    "kubernetes_namespace_name": "namespace",
    "label_app": "app",
    f"label_{COLOUR_LABEL}": "colour",
    f"label_{TRACK_LABEL}": "track",
    "label_app.kubernetes.io/part-of": "service",
    "kubernetes_pod_name": "pod",
    "kubernetes_container_name": "container",
    "kubernetes_host": "node",
}


def fluent_bit_config(destination: Destination) -> dict[str, Any]:
    """The Fluent Bit configuration (YAML format): tail every container log, add the pod's metadata, lift the
    fields, ship to Elasticsearch over verified TLS with a disk buffer and unlimited retries."""
    match = "kube.*"
    return {
        "service": {
            "flush": 1,
            "log_level": "info",
            "http_server": "on",
            "http_listen": "0.0.0.0",
            "http_port": METRICS_PORT,
            # /api/v1/health fails after repeated output errors or failed retries: the probes restart it.
            "health_check": "on",
            "hc_errors_count": 5,
            "hc_retry_failure_count": 5,
            "hc_period": 60,
            "storage.path": f"{STATE_DIR}/buffer/",
            "storage.sync": "normal",
            "storage.backlog.mem_limit": "50M",
        },
        "pipeline": {
            "inputs": [
                {
                    "name": "tail",
                    "tag": match,
                    "path": "/var/log/containers/*.log",
                    # containerd writes the CRI format; it also joins lines the runtime split.
                    "multiline.parser": "cri",
                    "db": f"{STATE_DIR}/tail.db",
                    "db.locking": True,
                    "read_from_head": True,
                    "skip_long_lines": "on",
                    "refresh_interval": 10,
                    "mem_buf_limit": "50MB",
                    "storage.type": "filesystem",
                }
            ],
            "filters": [
                {
                    "name": "kubernetes",
                    "match": match,
                    "kube_tag_prefix": "kube.var.log.containers.",
                    # A JSON log line becomes fields of the record (the apps log JSON).
                    "merge_log": "on",
                    "keep_log": "off",
                    "labels": "on",
                    "annotations": "off",
                    "k8s-logging.parser": "on",
                    "k8s-logging.exclude": "on",
                },
                {
                    "name": "nest",
                    "match": match,
                    "operation": "lift",
                    "nested_under": "kubernetes",
                    "add_prefix": "kubernetes_",
                },
                {
                    "name": "nest",
                    "match": match,
                    "operation": "lift",
                    "nested_under": "kubernetes_labels",
                    "add_prefix": "label_",
                },
                {
                    "name": "modify",
                    "match": match,
                    "rename": [f"{key} {field}" for key, field in FIELDS.items()],
                    # The other labels and runtime ids only crowd the index.
                    "remove_wildcard": ["label_", "kubernetes_docker_id", "kubernetes_container_hash"],
                },
            ],
            "outputs": [
                {
                    "name": "es",
                    "match": match,
                    "host": destination.host,
                    "port": destination.port,
                    "index": destination.data_stream,
                    # Data streams take `create` only, and no mapping type.
                    "write_operation": "create",
                    "suppress_type_name": "on",
                    "replace_dots": "on",
                    "http_user": "${ES_USERNAME}",
                    "http_passwd": "${ES_PASSWORD}",
                    "tls": "on",
                    "tls.verify": "on",
                    "tls.ca_file": f"{CA_MOUNT}/ca.crt",
                    "trace_error": "on",
                    # Retry until Elasticsearch takes the records; the disk buffer bounds what waits.
                    "retry_limit": "no_limits",
                    "storage.total_limit_size": destination.disk_buffer,
                    "workers": 2,
                }
            ],
        },
    }
