"""PointInTimeDrill: a weekly point-in-time recovery into a scratch cluster, with just the access it needs.

Requirements: X-09 (restores verified on a schedule), S3-11 (RPO/RTO 1 h: recovery to a point in time from
base backup plus WAL), X-16 (least privilege: the drill may create only its scratch Cluster).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from components.kube import IRSA_ANNOTATION
from components.pitr_drill import (
    DRILL_SCRIPT,
    SCRATCH_MANIFEST,
    TARGET_TIME,
    PointInTimeDrill,
    PointInTimeDrillArgs,
    drill_names,
)
from components.postgres_backups import BARMAN_PLUGIN, SCRIPTS_DIR
from tests.support.crd_schemas import validate_custom_resource
from tests.support.runtime import synth

ROLE_ARN = "arn:aws:iam::123456789012:role/ai-platform-prod-platform-pitr-drill"
ARGS = PointInTimeDrillArgs(
    namespace="platform-v2-stable",
    cluster="platform-db",
    object_store="platform-db-store",
    database="platform",
    owner="platform_user",
    credentials_secret="platform-db-owner-credentials",
    role_arn=ROLE_ARN,
    image_name="ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie",
    storage_size="50Gi",
    storage_class="gp3",
    part_of="platform",
)


def _declare(check, args: PointInTimeDrillArgs = ARGS):
    """CHECK the drill's objects by (kind, name) once every one of them is registered."""
    check(synth(lambda: PointInTimeDrill("platform-db-pitr-drill", args)).objects)


def _scratch(objects) -> dict:
    return json.loads(objects["ConfigMap", "platform-db-pitr-drill"].inputs["data"][SCRATCH_MANIFEST])


def test_the_scratch_cluster_recovers_the_source_to_the_target_time_and_archives_nothing():
    def check(objects):
        cluster = _scratch(objects)
        assert cluster["metadata"] == {
            "name": "platform-db-pitr",
            "namespace": "platform-v2-stable",
            "labels": cluster["metadata"]["labels"],
        }
        spec = cluster["spec"]
        recovery = spec["bootstrap"]["recovery"]
        assert recovery["recoveryTarget"] == {"targetTime": TARGET_TIME}
        assert (recovery["source"], recovery["database"], recovery["owner"]) == ("origin", "platform", "platform_user")
        assert recovery["secret"] == {"name": "platform-db-owner-credentials"}
        (origin,) = spec["externalClusters"]
        assert origin == {
            "name": "origin",
            "plugin": {
                "name": BARMAN_PLUGIN,
                "parameters": {"barmanObjectName": "platform-db-store", "serverName": "platform-db"},
            },
        }
        assert "plugins" not in spec and "backup" not in spec, "the scratch cluster must never write to the store"
        assert spec["serviceAccountTemplate"]["metadata"]["annotations"] == {IRSA_ANNOTATION: ROLE_ARN}
        assert spec["certificates"] == {"serverCASecret": "platform-db-ca"}, "verified with the source's CA"
        assert spec["storage"] == {"size": "50Gi", "storageClass": "gp3"}
        assert spec["instances"] == 1 and spec["enableSuperuserAccess"] is False
        assert spec["postgresql"]["pg_hba"] == ["hostssl all all all scram-sha-256", "hostnossl all all all reject"]

    _declare(check)


def test_the_scratch_cluster_validates_against_the_cloudnative_pg_crd(crd_schemas):
    directory = crd_schemas["prod"]

    def check(objects):
        text = objects["ConfigMap", "platform-db-pitr-drill"].inputs["data"][SCRATCH_MANIFEST]
        cluster = json.loads(text.replace(TARGET_TIME, "2026-11-20 09:30:00.123456+00"))
        assert validate_custom_resource(cluster, directory) == []
        broken = json.loads(text)
        broken["spec"]["bootstrap"]["recovery"]["recoveryTarget"]["targetTme"] = "typo"
        assert validate_custom_resource(broken, directory), "the CRD schema must catch a misspelt field"

    _declare(check)


def test_the_drill_may_create_and_remove_only_its_scratch_cluster():
    def check(objects):
        role = objects["Role", "platform-db-pitr-drill"].inputs
        create, named = role["rules"]
        assert create == {"apiGroups": ["postgresql.cnpg.io"], "resources": ["clusters"], "verbs": ["create"]}
        assert named["resourceNames"] == ["platform-db-pitr"]
        assert set(named["verbs"]) == {"get", "list", "watch", "delete"}
        assert all(rule["apiGroups"] == ["postgresql.cnpg.io"] for rule in role["rules"]), "no Secrets, nothing else"
        binding = objects["RoleBinding", "platform-db-pitr-drill"].inputs
        assert binding["roleRef"]["name"] == "platform-db-pitr-drill"
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "platform-db-pitr-drill", "namespace": "platform-v2-stable"}
        ]
        # RBAC cannot limit `create` by name: the admission policy does.
        policy = objects["ValidatingAdmissionPolicy", "platform-v2-stable.platform-db-pitr-drill"].inputs["spec"]
        (condition,) = policy["matchConditions"]
        assert condition["expression"] == (
            'request.userInfo.username == "system:serviceaccount:platform-v2-stable:platform-db-pitr-drill"'
        )
        (rule,) = policy["matchConstraints"]["resourceRules"]
        assert rule["resources"] == ["clusters"] and set(rule["operations"]) == {"CREATE", "UPDATE"}
        expressions = [v["expression"] for v in policy["validations"]]
        assert 'object.metadata.name == "platform-db-pitr"' in expressions
        assert any("bootstrap.recovery" in e for e in expressions) and any("isWALArchiver" in e for e in expressions)
        assert policy["failurePolicy"] == "Fail"
        binding = objects["ValidatingAdmissionPolicyBinding", "platform-v2-stable.platform-db-pitr-drill"].inputs
        assert binding["spec"]["policyName"] == "platform-v2-stable.platform-db-pitr-drill"
        assert binding["spec"]["validationActions"] == ["Deny"]
        selector = binding["spec"]["matchResources"]["namespaceSelector"]
        assert selector == {"matchLabels": {"kubernetes.io/metadata.name": "platform-v2-stable"}}

    _declare(check)


def test_the_cronjob_runs_the_script_weekly_once_with_kubectl_and_the_owners_credentials():
    def check(objects):
        cronjob = objects["CronJob", "platform-db-pitr-drill"].inputs
        assert cronjob["spec"]["schedule"] == "0 4 * * 6" and cronjob["spec"]["concurrencyPolicy"] == "Forbid"
        job = cronjob["spec"]["jobTemplate"]["spec"]
        assert job["backoffLimit"] == 0 and job["activeDeadlineSeconds"] == 3 * 3600
        pod = job["template"]["spec"]
        assert pod["serviceAccountName"] == "platform-db-pitr-drill" and pod["automountServiceAccountToken"] is True
        (copy,) = pod["initContainers"]
        assert copy["image"] == "registry.k8s.io/kubectl:v1.33.9"
        assert copy["command"] == ["cp", "/bin/kubectl", "/work/kubectl"]
        (drill,) = pod["containers"]
        assert drill["command"] == ["bash", f"/opt/pitr-drill/{DRILL_SCRIPT}"]
        env = {item["name"]: item["value"] for item in drill["env"]}
        assert env["KUBECTL"] == "/work/kubectl" and env["SCRATCH_CLUSTER"] == "platform-db-pitr"
        assert env["PGHOST"] == "platform-db-rw.platform-v2-stable.svc"
        assert env["SCRATCH_HOST"] == "platform-db-pitr-rw.platform-v2-stable.svc"
        assert (env["PGUSER"], env["PGDATABASE"], env["PGSSLMODE"]) == ("platform_user", "platform", "verify-full")
        assert env["CLUSTER_MANIFEST"] == f"/opt/pitr-drill/{SCRATCH_MANIFEST}"
        assert int(env["ARCHIVE_TIMEOUT_SECONDS"]) + int(env["RECOVERY_TIMEOUT_SECONDS"]) < job["activeDeadlineSeconds"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["credentials"]["secret"]["secretName"] == "platform-db-owner-credentials"
        assert volumes["server-ca"]["secret"]["secretName"] == "platform-db-ca"
        assert volumes["server-ca"]["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
        files = objects["ConfigMap", "platform-db-pitr-drill"].inputs["data"]
        assert files[DRILL_SCRIPT] == (SCRIPTS_DIR / DRILL_SCRIPT).read_text()
        assert objects["ServiceAccount", "platform-db-pitr-drill"].inputs["automountServiceAccountToken"] is False

    _declare(check)


def test_names_are_known_before_the_drill_exists():
    assert drill_names("platform-db") == drill_names("platform-db").__class__(
        "platform-db-pitr-drill", "platform-db-pitr"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"schedule": "0 4 * *"}, "five cron fields"),
        ({"cluster": "x" * 45}, "too long"),
        ({"recovery_timeout_seconds": 3 * 3600}, "deadline must leave time"),
    ],
)
def test_bad_args_fail_before_anything_is_declared(overrides, message):
    with pytest.raises(ValueError, match=message):
        replace(ARGS, **overrides)
