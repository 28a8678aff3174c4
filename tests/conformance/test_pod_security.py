"""Every pod template of both renders passes the Pod Security `restricted` profile (v1.32) of its namespace.

No maintained Python checker of the Pod Security Standards exists on PyPI (the reference is Go's
k8s.io/pod-security-admission), so the profile's documented checks are written out here, baseline and
restricted, each named as in https://kubernetes.io/docs/concepts/security/pod-security-standards/.
Third-party images that need a fixed UID carry the reason on their workload.
"""

from __future__ import annotations

import pytest

from tests.support.manifests import containers, pod_spec, rendered_documents
from tests.support.pod_security import FIXED_UID_BELOW, UID_REASON_KEYS, WORKLOADS, restricted_namespaces, violations
from tests.support.runtime import STACKS

# The one workload in a namespace that enforces less than `restricted`, and exactly what it needs beyond it
# (S2-04): the node's /var/log and a host directory for read positions, as uid 0 (container logs are root's).
HOST_LOG_READER = ("log-shipping", "fluent-bit")
HOST_LOG_READER_NEEDS = {
    "HostPath Volumes: varlog",
    "HostPath Volumes: state",
    "Volume Types: varlog",
    "Volume Types: state",
    "fluent-bit: Running as Non-root: runAsNonRoot must be true",
    "fluent-bit: Running as Non-root user: runAsUser 0",
}


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_template_passes_the_restricted_profile(rendered, stack):
    """X-03 hardening: every workload the program declares is admitted by `restricted` where it runs."""
    docs = list(rendered_documents(rendered[stack]).values())
    restricted = restricted_namespaces(docs)
    checked, failures = 0, []
    for doc in docs:
        if doc["kind"] in WORKLOADS:
            namespace = doc["metadata"]["namespace"]
            if (namespace, doc["metadata"]["name"]) == HOST_LOG_READER:
                continue  # test_the_log_shipper_needs_the_host_and_nothing_more
            assert namespace in restricted, f"{doc['kind']} {doc['metadata']['name']} runs in {namespace}"
            failures += [f"{namespace}/{doc['metadata']['name']}: {v}" for v in violations(pod_spec(doc))]
            checked += 1
    assert checked >= 15
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("stack", STACKS)
def test_the_log_shipper_needs_the_host_and_nothing_more(rendered, stack):
    """S2-04: Fluent Bit breaks `restricted` only by reading the node's logs, in a namespace of its own that
    enforces `privileged` (auditing and warning at `restricted`) and runs nothing else."""
    docs = rendered_documents(rendered[stack])
    namespace, name = HOST_LOG_READER
    shipper = docs[f"{namespace}/DaemonSet-{name}.yaml"]
    assert set(violations(pod_spec(shipper))) == HOST_LOG_READER_NEEDS
    assert violations(pod_spec(shipper), "baseline") == ["HostPath Volumes: varlog", "HostPath Volumes: state"]
    labels = docs[f"_cluster/Namespace-{namespace}.yaml"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["pod-security.kubernetes.io/audit"] == labels["pod-security.kubernetes.io/warn"] == "restricted"
    workloads = [d for d in docs.values() if d["kind"] in WORKLOADS and d["metadata"]["namespace"] == namespace]
    assert workloads == [shipper]


@pytest.mark.parametrize("stack", STACKS)
def test_the_elastic_pods_meet_restricted(rendered, stack):
    """S2-04: the pod templates given to ECK (Elasticsearch with its init containers, Kibana) are restricted. (The
    operator's own pods, templated from its chart, are checked with every chart's: test_charts.py.)"""
    docs = rendered_documents(rendered[stack])
    elasticsearch = docs["logging/Elasticsearch-elasticsearch.yaml"]["spec"]["nodeSets"]
    kibana = docs["logging/Kibana-kibana.yaml"]["spec"]["podTemplate"]["spec"]
    templates = [node_set["podTemplate"]["spec"] for node_set in elasticsearch] + [kibana]
    assert [c["name"] for t in templates for c in containers(t)] == [
        "elastic-internal-init-filesystem",
        "elastic-internal-suspend",
        "elasticsearch",
        "kibana",
    ]
    for template in templates:
        assert violations(template) == []
    assert "logging" in restricted_namespaces(list(docs.values()))


@pytest.mark.parametrize("stack", STACKS)
def test_fixed_uids_of_third_party_images_carry_their_reason(rendered, stack):
    """A container below UID 10000 runs an image's own user; the workload says why (annotation)."""
    for doc in rendered_documents(rendered[stack]).values():
        if doc["kind"] not in WORKLOADS:
            continue
        spec = pod_spec(doc)
        pod = spec.get("securityContext") or {}
        uids = {(c.get("securityContext") or {}).get("runAsUser", pod.get("runAsUser")) for c in containers(spec)}
        if any(uid is not None and uid < FIXED_UID_BELOW for uid in uids):
            annotations = doc["metadata"].get("annotations") or {}
            reasons = [v for k, v in annotations.items() if k in UID_REASON_KEYS] + [
                v.partition("=")[2] for v in annotations.values() if v.startswith("CKV_K8S_40=")
            ]
            assert reasons and all(len(r) > 20 for r in reasons), f"{doc['metadata']['name']}: {sorted(uids)}"


BAD_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "bad", "namespace": "x"},
    "spec": {
        "hostNetwork": True,
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
        "containers": [
            {
                "name": "c",
                "image": "busybox",
                "ports": [{"containerPort": 80, "hostPort": 80}],
                "securityContext": {"privileged": True, "runAsUser": 0, "capabilities": {"add": ["SYS_ADMIN"]}},
            }
        ],
    },
}


def test_the_checks_refuse_what_restricted_refuses():
    """Each documented control fires on a pod that breaks it (so the check above can fail)."""
    found = "\n".join(violations(pod_spec(BAD_POD)))
    for control in (
        "Host Namespaces",
        "HostPath Volumes",
        "Volume Types",
        "Privileged Containers",
        "Host Ports",
        "Privilege Escalation",
        "Running as Non-root:",
        "Running as Non-root user",
        "Seccomp",
        "Capabilities: must drop ALL",
        "Capabilities: adds",
    ):
        assert control in found, control
    assert violations(pod_spec(BAD_POD), "privileged") == []
    baseline = "\n".join(violations(pod_spec(BAD_POD), "baseline"))
    assert "Host Namespaces" in baseline and "Capabilities: adds ['SYS_ADMIN']" in baseline
    assert "Running as Non-root" not in baseline and "Seccomp" not in baseline
    hardened = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "c",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                },
            }
        ],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    assert violations(hardened) == []
