"""Each policy of the pack against a resource that passes and one that fails, through the analyzer the CLI drives.

Runs in the pack's virtualenv: `.venvs/policy/bin/python -m pytest policy/tests` (tests/conformance runs it).
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from offline import Violation, analyze
from policies import POLICIES

DIGEST = "sha256:" + "a" * 64
SECURE = {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}
PROBE = {"httpGet": {"path": "/health", "port": 8000}}


def container(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "api",
        "image": f"registry.example.com/api:1.0@{DIGEST}",
        "resources": copy.deepcopy(RESOURCES),
        "readinessProbe": PROBE,
        "livenessProbe": PROBE,
        "securityContext": dict(SECURE),
        **overrides,
    }


def deployment(*containers_: dict[str, Any], **pod: Any) -> dict[str, Any]:
    spec = {"containers": list(containers_ or [container()]), **pod}
    return kube("apps/v1", "Deployment", "api", {"spec": {"selector": {}, "template": {"spec": spec}}})


def kube(api_version: str, kind: str, name: str, body: dict[str, Any], namespace: str | None = "team") -> dict:
    group = api_version.rpartition("/")[0] or "core"
    version = api_version.rpartition("/")[2]
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return resource(
        f"kubernetes:{group}/{version}:{kind}",
        name,
        {"apiVersion": api_version, "kind": kind, "metadata": meta, **body},
    )


def resource(type_: str, name: str, inputs: dict[str, Any], protect: bool = False) -> dict[str, Any]:
    return {
        "type": type_,
        "name": name,
        "urn": f"urn:pulumi:prod::ai-platform::{type_}::{name}",
        "inputs": inputs,
        "protect": protect,
    }


def violations(policy: str, *resources: dict[str, Any], config: dict | None = None) -> list[Violation]:
    return [v for v in analyze(list(resources), config or {}) if v.policy == policy]


def messages(policy: str, *resources: dict[str, Any], config: dict | None = None) -> str:
    return "\n".join(v.message for v in violations(policy, *resources, config=config))


def test_every_policy_is_mandatory_by_default():
    found = analyze([deployment(container(image="api"))], {})
    assert {v.level for v in found} == {"mandatory"}
    assert len(POLICIES) == 8


# --- containers-resources-and-probes ------------------------------------------------------------------


def test_a_container_with_requests_limits_and_probes_passes():
    assert violations("containers-resources-and-probes", deployment()) == []


def test_a_container_without_limits_or_probes_fails():
    bare = container(resources={"requests": {"cpu": "1"}})
    del bare["livenessProbe"]
    found = messages("containers-resources-and-probes", deployment(bare))
    assert "containers[api]: no requests for memory" in found
    assert "containers[api]: no limits for cpu, memory" in found
    assert "containers[api]: no livenessProbe" in found


def test_a_job_needs_resources_but_no_probes():
    job_container = container()
    del job_container["readinessProbe"], job_container["livenessProbe"]
    job = kube("batch/v1", "Job", "once", {"spec": {"template": {"spec": {"containers": [job_container]}}}})
    assert violations("containers-resources-and-probes", job) == []


# --- images-pinned ------------------------------------------------------------------------------------


def test_a_versioned_image_passes_and_a_digest_passes_with_pinning_on():
    tagged = deployment(container(image="registry.example.com/api:1.0"))
    assert violations("images-pinned", tagged) == []
    assert violations("images-pinned", deployment(), config={"images-pinned": {"requireDigest": True}}) == []


@pytest.mark.parametrize("image", ["registry.example.com/api", "registry.example.com/api:latest", "localhost:5000/api"])
def test_latest_or_untagged_images_fail(image):
    assert "pin a version" in messages("images-pinned", deployment(container(image=image)))


def test_a_tag_only_image_fails_when_pinning_is_on():
    tagged = deployment(container(image="registry.example.com/api:1.0"))
    found = messages("images-pinned", tagged, config={"images-pinned": {"requireDigest": True}})
    assert "is not pinned by digest" in found


def test_images_in_custom_resources_are_checked_too():
    cluster = kube(
        "postgresql.cnpg.io/v1", "Cluster", "db", {"spec": {"imageName": "ghcr.io/cloudnative-pg/postgresql"}}
    )
    assert "spec.imageName" in messages("images-pinned", cluster)


# --- pods-unprivileged --------------------------------------------------------------------------------


def test_a_non_root_unprivileged_pod_passes():
    assert violations("pods-unprivileged", deployment()) == []


def test_privileged_host_namespace_and_root_pods_fail():
    root = container(securityContext={"privileged": True, "runAsUser": 0})
    found = messages("pods-unprivileged", deployment(root, hostNetwork=True, volumes=[{"name": "h", "hostPath": {}}]))
    for expected in ("hostNetwork", "mounts a host path", "privileged", "allowPrivilegeEscalation", "may run as root"):
        assert expected in found


def test_the_log_shipper_may_read_host_logs_as_root_but_nothing_more():
    root = container(securityContext={"allowPrivilegeEscalation": False, "runAsUser": 0})
    varlog = [{"name": "varlog", "hostPath": {"path": "/var/log"}}]
    shipper = deployment(root, volumes=varlog)
    shipper["inputs"]["metadata"] = {"name": "fluent-bit", "namespace": "log-shipping"}
    assert violations("pods-unprivileged", shipper) == []
    # Anyone else with the same pod is refused; the shipper itself still may not be privileged.
    assert "mounts a host path" in messages("pods-unprivileged", deployment(root, volumes=varlog))
    assert "may run as root" in messages("pods-unprivileged", deployment(root, volumes=varlog))
    shipper["inputs"]["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    assert "privileged" in messages("pods-unprivileged", shipper)
    # The exception is configuration: an empty list takes it away.
    nobody = {"pods-unprivileged": {"hostLogReaders": []}}
    assert "mounts a host path" in messages("pods-unprivileged", shipper, config=nobody)


def test_run_as_non_root_may_come_from_the_pod():
    relaxed = container(securityContext={"allowPrivilegeEscalation": False})
    assert violations("pods-unprivileged", deployment(relaxed, securityContext={"runAsNonRoot": True})) == []


# --- namespaces-pod-security-labels ---------------------------------------------------------------------


def namespace(name: str, **levels: str) -> dict[str, Any]:
    labels = {f"pod-security.kubernetes.io/{mode}": level for mode, level in levels.items()}
    return kube("v1", "Namespace", name, {"metadata": {"name": name, "labels": labels}}, namespace=None)


def test_a_namespace_with_all_three_levels_passes():
    restricted = namespace("team", enforce="restricted", audit="restricted", warn="restricted")
    privileged = namespace("node-exporter", enforce="privileged", audit="restricted", warn="restricted")
    assert violations("namespaces-pod-security-labels", restricted, privileged) == []


def test_a_namespace_without_labels_or_privileged_elsewhere_fails():
    assert "enforce is None" in messages("namespaces-pod-security-labels", namespace("team", audit="restricted"))
    loose = namespace("team", enforce="privileged", audit="restricted", warn="restricted")
    assert "only ['log-shipping', 'node-exporter'] may" in messages("namespaces-pod-security-labels", loose)


# --- s3-buckets-encrypted-versioned-private -------------------------------------------------------------


def bucket_with(name: str, *, sse: str = "aws:kms", versioning: str = "Enabled", block: bool = True) -> list[dict]:
    default = {"sseAlgorithm": sse, **({"kmsMasterKeyId": "arn:aws:kms:eu-west-1:1:key/k"} if sse != "AES256" else {})}
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return [
        resource("aws:s3/bucket:Bucket", name, {"bucket": name}),
        resource(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            f"{name}-sse",
            {"bucket": name, "rules": [{"applyServerSideEncryptionByDefault": default}]},
        ),
        resource(
            "aws:s3/bucketVersioning:BucketVersioning",
            f"{name}-versioning",
            {"bucket": name, "versioningConfiguration": {"status": versioning}},
        ),
        resource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            f"{name}-pab",
            {"bucket": name, **dict.fromkeys(flags, block)},
        ),
    ]


def test_an_encrypted_versioned_private_bucket_passes():
    assert violations("s3-buckets-encrypted-versioned-private", *bucket_with("b")) == []


def test_an_unencrypted_unversioned_public_bucket_fails():
    found = messages(
        "s3-buckets-encrypted-versioned-private", *bucket_with("b", sse="AES256", versioning="Suspended", block=False)
    )
    assert "no default encryption with a KMS key" in found
    assert "versioning is not enabled" in found
    assert "public access not blocked (blockPublicAcls, blockPublicPolicy" in found
    bare = [resource("aws:s3/bucket:Bucket", "naked", {"bucket": "naked"})]
    assert len(violations("s3-buckets-encrypted-versioned-private", *bare)) == 3


def test_an_access_log_target_may_use_s3_managed_keys():
    logs = bucket_with("logs", sse="AES256")
    logging = resource("aws:s3/bucketLogging:BucketLogging", "l", {"bucket": "b", "targetBucket": "logs"})
    assert violations("s3-buckets-encrypted-versioned-private", *logs, logging) == []


# --- no-load-balancer-services ----------------------------------------------------------------------------


def service(type_: str) -> dict[str, Any]:
    return kube("v1", "Service", "api", {"spec": {"type": type_, "ports": [{"port": 80}]}})


def test_a_cluster_ip_service_passes():
    assert violations("no-load-balancer-services", service("ClusterIP")) == []


def test_a_load_balancer_service_fails_unless_allowed():
    assert "is a LoadBalancer" in messages("no-load-balancer-services", service("LoadBalancer"))
    allowed = {"no-load-balancer-services": {"allowed": ["team/api"]}}
    assert violations("no-load-balancer-services", service("LoadBalancer"), config=allowed) == []


# --- stateful-resources-protected -------------------------------------------------------------------------


def test_protected_data_passes_and_unprotected_data_fails():
    key = resource("aws:kms/key:Key", "key", {}, protect=True)
    assert violations("stateful-resources-protected", key) == []
    database = kube("postgresql.cnpg.io/v1", "Cluster", "db", {"spec": {}})
    assert "holds data and is not protected" in messages("stateful-resources-protected", database)


def test_a_stateful_set_counts_as_data_only_when_its_volumes_go_with_it():
    def stateful_set(when_deleted: str) -> dict[str, Any]:
        policy = {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": when_deleted}}
        return kube("apps/v1", "StatefulSet", "redis", {"spec": policy})

    assert violations("stateful-resources-protected", stateful_set("Retain")) == []
    assert violations("stateful-resources-protected", stateful_set("Delete"))


def test_the_protection_policy_can_be_disabled_per_stack():
    database = kube("postgresql.cnpg.io/v1", "Cluster", "db", {"spec": {}})
    assert (
        violations("stateful-resources-protected", database, config={"stateful-resources-protected": "disabled"}) == []
    )


# --- no-secret-literals -----------------------------------------------------------------------------------


def config_map(data: dict[str, str]) -> dict[str, Any]:
    return kube("v1", "ConfigMap", "settings", {"data": data})


def test_plain_settings_and_secret_references_pass():
    env = [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "PGPASSWORD_FILE", "value": "/secrets/password"},
    ]
    assert violations("no-secret-literals", config_map({"LOG_LEVEL": "info"}), deployment(container(env=env))) == []


def test_secrets_in_config_maps_and_env_literals_fail():
    found = messages(
        "no-secret-literals",
        config_map({"DB_PASSWORD": "hunter2", "dsn": "postgresql://app:s3cret@db:5432/app"}),
        deployment(container(env=[{"name": "OPENAI_API_KEY", "value": "sk-" + "x" * 30}])),
    )
    assert "data.DB_PASSWORD: a secret's name in a ConfigMap" in found
    assert "data.dsn: holds a credential" in found
    assert "env OPENAI_API_KEY: a secret as a literal" in found


def test_an_unknown_policy_name_in_a_config_is_refused():
    with pytest.raises(ValueError, match="unknown policies"):
        analyze([], {"no-such-policy": "disabled"})
