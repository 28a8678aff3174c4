"""The monitoring stack's data outlives the cluster and its restarts (S3-11: Prometheus data RPO 24 h), read from both
renders and the charts templated with the program's values: Prometheus' Thanos sidecar uploads its blocks to the
backup bucket, under a prefix of their own, through a role only Prometheus' ServiceAccount may assume; Grafana keeps
its state on a volume."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.support.crd_schemas import validate_custom_resource
from tests.support.runtime import STACKS, program_run

PREFIX = "daily/prometheus"
"""Kept 30 days by the bucket's lifecycle (the `daily/` class), twice Prometheus' own retention."""


def chart_objects(charts, stack: str, kind: str) -> list[dict]:
    return [doc for release, doc in charts[stack].all() if release == "kube-prometheus-stack" and doc["kind"] == kind]


@pytest.mark.parametrize("stack", STACKS)
def test_prometheus_uploads_its_blocks_to_the_backup_bucket(rendered, charts, crd_schemas, stack):
    (prometheus,) = chart_objects(charts, stack, "Prometheus")
    assert validate_custom_resource(prometheus, crd_schemas[stack]) == []
    store = prometheus["spec"]["thanos"]["objectStorageConfig"]
    namespace = prometheus["metadata"]["namespace"]
    # The configuration Secret is the program's, beside Prometheus.
    secret = next(
        r
        for r in program_run(stack).by_type("kubernetes:core/v1:Secret")
        if (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]) == (namespace, store["name"])
    )
    data = secret.inputs["stringData"]
    config = yaml.safe_load((data.get("value") or data)[store["key"]])
    bucket = json.loads((rendered[stack] / "outputs.json").read_text())["backupBucket"]
    assert (config["type"], config["prefix"]) == ("S3", PREFIX)
    assert config["config"]["bucket"] == bucket["name"] and config["config"]["aws_sdk_auth"] is True
    assert config["config"]["sse_config"] == {"type": "SSE-KMS", "kms_key_id": bucket["kmsKeyArn"]}
    assert not {"access_key", "secret_key"} & set(config["config"]), "no static key: IRSA"


@pytest.mark.parametrize("stack", STACKS)
def test_only_prometheus_may_write_its_prefix(rendered, charts, stack):
    """The ServiceAccount Prometheus runs as carries the role whose trust names that ServiceAccount alone and whose
    policy writes only under the blocks' prefix."""
    (prometheus,) = chart_objects(charts, stack, "Prometheus")
    account = next(
        doc
        for doc in chart_objects(charts, stack, "ServiceAccount")
        if doc["metadata"]["name"] == prometheus["spec"]["serviceAccountName"]
    )
    role_arn = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    resources = json.loads((rendered[stack] / "resources.json").read_text())
    resources = resources if isinstance(resources, list) else resources["resources"]
    role = next(
        r for r in resources if r["type"] == "aws:iam/role:Role" and role_arn.endswith(f"/{r['inputs']['name']}")
    )
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    subject = next(value for key, value in trust.items() if key.endswith(":sub"))
    assert subject == f"system:serviceaccount:{prometheus['metadata']['namespace']}:{account['metadata']['name']}"
    policy = next(
        json.loads(r["inputs"]["policy"])
        for r in resources
        if r["type"] == "aws:iam/rolePolicy:RolePolicy" and r["name"] == f"{role['name']}-access"
    )
    writes = next(s for s in policy["Statement"] if s["Sid"] == "UseOwnPrefixes")
    assert all(resource.endswith(f"/{PREFIX}/*") for resource in writes["Resource"])
    assert "s3:DeleteObject" not in json.dumps(policy)


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_keeps_its_state_across_restarts(charts, stack):
    """Users, preferences and annotations live in Grafana's database, on a volume; a new pod replaces the old one
    (the volume is ReadWriteOnce) instead of waiting beside it."""
    grafana = next(
        doc
        for doc in chart_objects(charts, stack, "Deployment")
        if doc["metadata"]["name"] == "kube-prometheus-stack-grafana"
    )
    claims = [
        v["persistentVolumeClaim"]["claimName"]
        for v in grafana["spec"]["template"]["spec"]["volumes"]
        if "persistentVolumeClaim" in v
    ]
    assert claims == ["kube-prometheus-stack-grafana"]
    assert grafana["spec"]["strategy"]["type"] == "Recreate"
    (claim,) = [c for c in chart_objects(charts, stack, "PersistentVolumeClaim") if c["metadata"]["name"] == claims[0]]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
