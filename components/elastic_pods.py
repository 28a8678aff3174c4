"""The `Elasticsearch` and `Kibana` specs LogStack gives ECK (S2-04): sizes, zones, TLS, users, and pod templates
that meet Pod Security `restricted` (ECK 3.5 sets no seccomp profile of its own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components import kube
from components.elastic_users import User

ELASTIC_UID = 1000
"""The Elastic images' user (`elasticsearch`/`kibana`, uid 1000)."""
HTTP_PORT = 9200
TRANSPORT_PORT = 9300
KIBANA_PORT = 5601
NODE_SET = "default"
# ECK's init containers, named so the pod template can give them the restricted security context.
ECK_INIT_CONTAINERS = ("elastic-internal-init-filesystem", "elastic-internal-suspend")
REPOSITORY_TOKEN_DIR = "/usr/share/elasticsearch/config/repository-s3"
"""The S3 repository reads its web-identity token (IRSA) only from its own config directory."""
CA_VOLUME = "elasticsearch-ca"
CA_MOUNT = "/var/run/elasticsearch-ca"
"""Where clients in the log stack's namespace mount CA_VOLUME."""
OPERATOR_USER_DIR = "/mnt/log-operator"
"""Where the Elasticsearch container has the operator user's password (`password`): on-call's calls run inside it."""


@dataclass(frozen=True)
class NodeSet:
    """The Elasticsearch nodes: all master-eligible data nodes of one size."""

    count: int
    memory: str
    """Memory of each node (request = limit)."""
    cpu_request: str
    cpu_limit: str
    heap_mib: int
    """JVM heap of each node."""
    storage_size: str
    storage_class: str | None
    service_account: pulumi.Input[str]
    """Its pods' ServiceAccount (the snapshot repository's IRSA role trusts it)."""


@dataclass(frozen=True)
class SnapshotIdentity:
    """How the nodes reach the snapshot bucket: the IRSA role and the bucket's region."""

    role_arn: pulumi.Input[str]
    region: str


def http_tls_secret(cluster: str) -> str:
    """Secret of Elasticsearch's HTTP certificate (`tls.crt`, `tls.key`, `ca.crt`)."""
    return f"{cluster}-http-tls"


def http_service(cluster: str) -> str:
    """ECK's HTTPS Service of the cluster."""
    return f"{cluster}-es-http"


def ca_volume(cluster: str) -> dict[str, Any]:
    """The CA of Elasticsearch's HTTP certificate (`ca.crt` only), for clients in the log stack's namespace."""
    return {
        "name": CA_VOLUME,
        "secret": {
            "secretName": http_tls_secret(cluster),
            "defaultMode": 0o444,
            "items": [{"key": "ca.crt", "path": "ca.crt"}],
        },
    }


def elasticsearch_spec(
    cluster: str,
    version: str,
    image: pulumi.Input[str],
    nodes: NodeSet,
    snapshots: SnapshotIdentity,
    users: Sequence[User],
    operator_user: User,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """The Elasticsearch resource's spec: HTTPS with the given certificate, file-realm users, one node set whose
    `elasticsearch` container has OPERATOR_USER's password under OPERATOR_USER_DIR."""
    return {
        "version": version,
        "image": image,
        "http": {"tls": {"certificate": {"secretName": http_tls_secret(cluster)}}},
        "auth": {
            "roles": [{"secretName": f"{cluster}-roles"}],
            "fileRealm": [{"secretName": user.secret_name} for user in users],
        },
        # Deleting the resource keeps the volumes; only a scale-down removes one.
        "volumeClaimDeletePolicy": "DeleteOnScaledownOnly",
        "updateStrategy": {"changeBudget": {"maxUnavailable": 1}},
        "nodeSets": [_node_set(nodes, snapshots, operator_user, labels)],
    }


def _node_set(
    nodes: NodeSet, snapshots: SnapshotIdentity, operator_user: User, labels: Mapping[str, str]
) -> dict[str, Any]:
    container = {
        "name": "elasticsearch",
        "env": [
            {"name": "ES_JAVA_OPTS", "value": f"-Xms{nodes.heap_mib}m -Xmx{nodes.heap_mib}m"},
            {"name": "AWS_ROLE_ARN", "value": snapshots.role_arn},
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{REPOSITORY_TOKEN_DIR}/aws-web-identity-token-file"},
            {"name": "AWS_REGION", "value": snapshots.region},
            {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
        ],
        "securityContext": restricted_container(),
        "volumeMounts": [
            {"name": "aws-web-identity-token", "mountPath": REPOSITORY_TOKEN_DIR, "readOnly": True},
            {"name": "log-operator-password", "mountPath": OPERATOR_USER_DIR, "readOnly": True},
        ],
    }
    node_set: dict[str, Any] = {
        "name": NODE_SET,
        "count": nodes.count,
        "config": {
            # Lucene's mmap needs vm.max_map_count raised on the node, i.e. a privileged init container.
            "node.store.allow_mmap": False,
            "action.destructive_requires_name": True,
        },
        "resources": {
            "requests": {"cpu": nodes.cpu_request, "memory": nodes.memory},
            "limits": {"cpu": nodes.cpu_limit, "memory": nodes.memory},
        },
        "podTemplate": {
            "metadata": {"labels": dict(labels)},
            "spec": {
                "serviceAccountName": nodes.service_account,
                "automountServiceAccountToken": False,
                "securityContext": restricted_pod(),
                "initContainers": [
                    {"name": init, "securityContext": restricted_container()} for init in ECK_INIT_CONTAINERS
                ],
                "containers": [container],
                # ECK adds these to its own volumes and mounts (it merges the `elasticsearch` container by name).
                "volumes": [_web_identity_token(), _password_volume("log-operator-password", operator_user)],
            },
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "elasticsearch-data"},
                "spec": kube.volume_claim_spec(nodes.storage_size, nodes.storage_class),
            }
        ],
    }
    if nodes.count > 1:
        # ECK spreads the nodes over the zones and makes shard allocation zone-aware (a replica never shares its
        # primary's zone).
        node_set["zoneAwareness"] = {}
    return node_set


def _web_identity_token() -> dict[str, Any]:
    token = {"audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "aws-web-identity-token-file"}
    return {"name": "aws-web-identity-token", "projected": {"sources": [{"serviceAccountToken": token}]}}


def _password_volume(name: str, user: User) -> dict[str, Any]:
    """USER's password only (not its roles), readable by the Elastic images' group (fsGroup)."""
    items = [{"key": "password", "path": "password"}]
    return {"name": name, "secret": {"secretName": user.secret_name, "defaultMode": 0o440, "items": items}}


def kibana_spec(
    cluster: str,
    version: str,
    image: pulumi.Input[str],
    replicas: int,
    public_url: str,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """Kibana on CLUSTER: plain HTTP inside the cluster (the Gateway terminates TLS, X-15), its login required."""
    return {
        "version": version,
        "image": image,
        "count": replicas,
        "elasticsearchRef": {"name": cluster},
        "http": {"tls": {"selfSignedCertificate": {"disabled": True}}},
        "config": {
            "server.publicBaseUrl": public_url,
            # Kibana's login page only (users of Elasticsearch); no anonymous access.
            "xpack.security.authc.providers": {"basic": {"basic1": {"order": 0}}},
            "telemetry.optIn": False,
            "telemetry.allowChangingOptInStatus": False,
        },
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "podTemplate": {
            "metadata": {"labels": dict(labels)},
            "spec": {
                "automountServiceAccountToken": False,
                "securityContext": restricted_pod(),
                "containers": [{"name": "kibana", "securityContext": restricted_container()}],
            },
        },
    }


def restricted_pod() -> dict[str, Any]:
    """The Elastic images run as their own uid 1000; volumes are group-writable for it (fsGroup)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": ELASTIC_UID,
        "runAsGroup": ELASTIC_UID,
        "fsGroup": ELASTIC_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_container() -> dict[str, Any]:
    """Pod Security `restricted` for ECK's containers. The root filesystem is left to ECK, which mounts the
    writable directories its images need when it makes them read-only."""
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
