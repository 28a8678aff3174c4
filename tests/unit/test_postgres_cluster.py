"""PostgresCluster: CNPG Cluster, Barman Cloud backups, PodMonitor, credentials, logical dumps and the
restore check (X-09, X-12, S0-03, S1-07, S1-09, S1-10, S3-04, S3-11, S4-05)."""

import json
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import rpc

from components.postgres_backups import BackupServiceAccounts, BaseBackups, LogicalDumps, backup_service_accounts
from components.postgres_cluster import PostgresCluster, PostgresClusterArgs
from tests.support.runtime import ROOT, inputs_of, is_secret, one, synth, value_of

SCHEMAS = ("production", "experiments_v1", "quarantine", "audit")
# What the mock runtime returns as `result` of the RandomPassword `db-owner-password`.
GENERATED_PASSWORD = "generated-db-owner-password"
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/0000-1111"
CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster"
SECRET = "kubernetes:core/v1:Secret"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"


def _args(**overrides: Any) -> PostgresClusterArgs:
    base: dict[str, Any] = dict(
        namespace="platform-v2-stable",
        database="platform",
        owner="platform_user",
        app_secret_name="database-secret",
        backup_bucket="ai-platform-prod-backups",
        aws_region="eu-west-1",
        base_backups=BaseBackups("cnpg/platform", "arn:aws:iam::123456789012:role/db-backup"),
        dumps=LogicalDumps(
            "daily/platform/dumps",
            "arn:aws:iam::123456789012:role/dump-writer",
            "arn:aws:iam::123456789012:role/dump-reader",
            schemas=SCHEMAS,
        ),
        instances=3,
        storage_class="gp3",
        storage_size="100Gi",
        parameters={"max_connections": "200", "shared_buffers": "1GB"},
        pg_stat_statements=True,
        schemas=SCHEMAS,
        extensions=("pgcrypto",),
        kms_key_arn=KMS_KEY,
        monitor_labels={"release": "monitoring"},
        protect=True,
    )
    base.update(overrides)
    return PostgresClusterArgs(**base)


@pulumi.runtime.test
def test_prod_cluster_spec(mock_runtime):
    operator = k8s.core.v1.Namespace("cnpg-system", metadata={"name": "cnpg-system"})
    db = PostgresCluster("db", _args(), pulumi.ResourceOptions(depends_on=[operator]))

    def check(urns):
        operator_urn, store_urn = urns
        cluster = one(mock_runtime, CLUSTER, "db-cluster")
        spec = cluster.inputs["spec"]
        assert cluster.protect is True
        assert operator_urn in cluster.dependencies and store_urn in cluster.dependencies
        assert spec["instances"] == 3
        assert spec["imageName"].startswith("ghcr.io/cloudnative-pg/postgresql:")
        assert spec["enableSuperuserAccess"] is False
        assert spec["enablePDB"] is True
        assert spec["storage"] == {"size": "100Gi", "storageClass": "gp3"}
        params = spec["postgresql"]["parameters"]
        assert params["max_connections"] == "200" and params["shared_buffers"] == "1GB"
        assert "pg_stat_statements.track" in params  # CNPG then preloads and creates the extension
        assert "shared_preload_libraries" not in params  # a fixed parameter the webhook rejects
        assert spec["postgresql"]["pg_hba"] == ["hostssl all all all scram-sha-256", "hostnossl all all all reject"]
        # `kubectl exec <instance> -c postgres -- psql -U <login>`: the instance's OS user as each app login (S4-07).
        logins = ["platform_user", *(role["name"] for role in spec.get("managed", {}).get("roles", []))]
        assert spec["postgresql"]["pg_ident"] == [f"local postgres {login}" for login in logins]
        initdb = spec["bootstrap"]["initdb"]
        assert (initdb["database"], initdb["owner"]) == ("platform", "platform_user")
        assert initdb["secret"] == {"name": "db-owner-credentials"}
        assert 'CREATE SCHEMA IF NOT EXISTS "audit" AUTHORIZATION "platform_user"' in initdb["postInitApplicationSQL"]
        assert 'CREATE EXTENSION IF NOT EXISTS "pgcrypto"' in initdb["postInitApplicationSQL"]
        assert spec["plugins"] == [
            {
                "name": "barman-cloud.cloudnative-pg.io",
                "isWALArchiver": True,
                "parameters": {"barmanObjectName": "db-store"},
            }
        ]
        assert spec["serviceAccountTemplate"]["metadata"]["annotations"] == {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/db-backup"
        }
        zone = spec["topologySpreadConstraints"][0]
        assert zone["topologyKey"] == "topology.kubernetes.io/zone" and zone["whenUnsatisfiable"] == "DoNotSchedule"
        assert zone["labelSelector"]["matchLabels"]["cnpg.io/cluster"] == "db"
        assert spec["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}
        assert "monitoring" not in spec  # the deprecated enablePodMonitor is replaced by our PodMonitor
        assert cluster.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"

    return pulumi.Output.all(operator.urn, db.object_store.urn, db.cluster.urn).apply(lambda u: check(u[:2]))


@pulumi.runtime.test
def test_staging_single_instance_has_no_spread_no_pdb_and_is_unprotected(mock_runtime):
    db = PostgresCluster("db", _args(instances=1, protect=False, dumps=None, pg_stat_statements=False, parameters={}))
    assert db.dump_cronjob is None and db.restore_check_cronjob is None

    def check(inputs):
        spec = inputs["spec"]
        assert spec["instances"] == 1
        assert spec["enablePDB"] is False
        assert "topologySpreadConstraints" not in spec and "affinity" not in spec
        assert spec["postgresql"]["parameters"] == {}
        assert one(mock_runtime, CLUSTER, "db-cluster").protect is False
        assert not [r for r in mock_runtime.registrations if r.type.endswith(":CronJob")]

    return inputs_of(mock_runtime, db.cluster, check)


@pulumi.runtime.test
def test_object_store_and_scheduled_backup(mock_runtime):
    db = PostgresCluster("db", _args())

    def check_store(inputs):
        assert inputs["metadata"]["name"] == "db-store"
        assert inputs["spec"]["retentionPolicy"] == "30d"
        config = inputs["spec"]["configuration"]
        assert config["destinationPath"] == "s3://ai-platform-prod-backups/cnpg/platform"
        assert config["s3Credentials"] == {"inheritFromIAMRole": True}
        for section, args_key in (("wal", "archiveAdditionalCommandArgs"), ("data", "additionalCommandArgs")):
            assert config[section]["compression"] == "gzip"
            assert config[section]["encryption"] == "aws:kms"
            assert config[section][args_key] == [f"--sse-kms-key-id={KMS_KEY}"]

    def check_backup(inputs):
        spec = inputs["spec"]
        assert spec["cluster"] == {"name": "db"}
        assert spec["method"] == "plugin"
        assert spec["pluginConfiguration"] == {"name": "barman-cloud.cloudnative-pg.io"}
        assert len(spec["schedule"].split()) == 6
        assert spec["backupOwnerReference"] == "self"
        assert spec["immediate"] is True

    return pulumi.Output.all(
        inputs_of(mock_runtime, db.object_store, check_store),
        inputs_of(mock_runtime, db.scheduled_backup, check_backup),
    )


@pulumi.runtime.test
def test_object_store_without_kms_key_uses_bucket_default_encryption(mock_runtime):
    db = PostgresCluster("db", _args(kms_key_arn=None))

    def check(inputs):
        config = inputs["spec"]["configuration"]
        assert "encryption" not in config["wal"] and "encryption" not in config["data"]
        assert "additionalCommandArgs" not in config["data"]

    return inputs_of(mock_runtime, db.object_store, check)


@pulumi.runtime.test
def test_pod_monitor_scrapes_metrics_port_as_job_postgres(mock_runtime):
    db = PostgresCluster("db", _args())

    def check(inputs):
        assert inputs["metadata"]["labels"]["release"] == "monitoring"
        spec = inputs["spec"]
        assert spec["selector"]["matchLabels"] == {"cnpg.io/cluster": "db", "cnpg.io/podRole": "instance"}
        endpoint = spec["podMetricsEndpoints"][0]
        assert endpoint["port"] == "metrics"
        assert {"action": "replace", "targetLabel": "job", "replacement": "postgres"} in endpoint["relabelings"]

    return inputs_of(mock_runtime, db.pod_monitor, check)


def test_credentials_are_secret_and_never_plain():
    built = synth(lambda: PostgresCluster("db", _args()))
    db = built.component
    assert is_secret(db.url) and is_secret(db.password), "url and password outputs must be secret"
    app = one(built, SECRET, "db-app-secret")
    assert app.inputs["metadata"]["name"] == "database-secret"
    assert rpc.is_rpc_secret(app.inputs["stringData"])
    assert app.inputs["stringData"]["value"]["url"] == (
        f"postgresql://platform_user:{GENERATED_PASSWORD}@db-rw.platform-v2-stable.svc.cluster.local:5432/"
        "platform?sslmode=require"
    )
    owner = one(built, SECRET, "db-owner-credentials")
    assert owner.inputs["type"] == "kubernetes.io/basic-auth"
    assert rpc.is_rpc_secret(owner.inputs["stringData"])
    assert owner.inputs["stringData"]["value"] == {"username": "platform_user", "password": GENERATED_PASSWORD}
    # Outside secret-wrapped values the password appears nowhere: not in the Cluster, jobs or ConfigMap.
    for registration in built.registrations:
        plain = {k: v for k, v in registration.inputs.items() if not rpc.is_rpc_secret(v)}
        assert GENERATED_PASSWORD not in json.dumps(plain, default=str), registration.name


def test_hosts_and_names():
    built = synth(lambda: PostgresCluster("db", _args()))
    db = built.component
    assert db.cluster_name == "db" and db.app_secret_name == "database-secret"
    assert (db.dump_cronjob_name, db.restore_check_cronjob_name) == ("db-logical-dump", "db-restore-check")
    assert value_of(db.rw_host) == "db-rw.platform-v2-stable.svc.cluster.local"
    assert value_of(db.ro_host) == "db-ro.platform-v2-stable.svc.cluster.local"
    # The IRSA trust policies are written for these names before the component exists.
    accounts = backup_service_accounts("db")
    assert accounts == BackupServiceAccounts("db", "db-logical-dump", "db-restore-check")
    declared = {r.inputs["metadata"]["name"] for r in built.registrations if r.type.endswith(":ServiceAccount")}
    assert declared == {accounts.dump_writer, accounts.restore_reader}
    cluster = one(built, CLUSTER, "db-cluster").inputs
    assert cluster["metadata"]["name"] == accounts.wal_archiver and "serviceAccountName" not in cluster["spec"]


@pulumi.runtime.test
def test_logical_dump_cronjob(mock_runtime):
    db = PostgresCluster("db", _args())

    def check(inputs):
        assert inputs["metadata"]["name"] == "db-logical-dump"
        annotations = inputs["metadata"]["annotations"]
        assert "postgres user" in annotations["ai-platform/run-as-user-reason"]
        skips = {v.split("=", 1)[0] for k, v in annotations.items() if k.startswith("checkov.io/skip")}
        assert skips == {"CKV_K8S_40", "CKV_K8S_43"}, "uid 999 and tag-pinned images are accepted with reasons"
        spec = inputs["spec"]
        assert spec["schedule"] == "30 2 * * *" and spec["timeZone"] == "Etc/UTC"
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
        job = spec["jobTemplate"]["spec"]
        assert job["backoffLimit"] == 2 and job["activeDeadlineSeconds"] == 3600
        pod = job["template"]["spec"]
        assert pod["serviceAccountName"] == "db-logical-dump"
        assert pod["automountServiceAccountToken"] is False and pod["restartPolicy"] == "Never"
        assert pod["securityContext"]["runAsUser"] == 999 and pod["securityContext"]["runAsNonRoot"] is True
        (dump,), (upload,) = pod["initContainers"], pod["containers"]
        assert dump["image"].startswith("postgres:") and upload["image"].startswith("amazon/aws-cli:")
        assert dump["command"] == ["bash", "/opt/backup-scripts/dump.sh"]
        assert upload["command"] == ["bash", "/opt/backup-scripts/upload_dump.sh"]
        for container in (dump, upload):
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            assert set(container["resources"]) == {"requests", "limits"}
        dump_env = {e["name"]: e["value"] for e in dump["env"]}
        assert dump_env["DUMP_DATABASES"] == "platform" and dump_env["DUMP_SCHEMAS"] == " ".join(SCHEMAS)
        assert dump_env["PGHOST"] == "db-rw.platform-v2-stable.svc" and dump_env["PGSSLMODE"] == "verify-full"
        assert "PGPASSWORD" not in dump_env  # the password is a mounted file, never an env value
        upload_env = {e["name"]: e["value"] for e in upload["env"]}
        assert upload_env["BUCKET"] == "ai-platform-prod-backups" and upload_env["PREFIX"] == "daily/platform/dumps"
        assert upload_env["SSE_KMS_KEY_ID"] == KMS_KEY
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["credentials"]["secret"]["secretName"] == "db-owner-credentials"
        assert volumes["server-ca"]["secret"]["secretName"] == "db-ca"
        assert all(v["emptyDir"]["sizeLimit"] for v in volumes.values() if "emptyDir" in v)
        scripts_mount = next(m for m in dump["volumeMounts"] if m["name"] == "scripts")
        assert scripts_mount["readOnly"] is True

    def check_account(inputs):
        assert inputs["metadata"]["annotations"] == {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/dump-writer"
        }

    return pulumi.Output.all(
        inputs_of(mock_runtime, db.dump_cronjob, check),
        db.dump_cronjob.urn.apply(
            lambda _: check_account(one(mock_runtime, SERVICE_ACCOUNT, "db-logical-dump-sa").inputs)
        ),
    )


@pulumi.runtime.test
def test_restore_check_cronjob_and_scripts_config_map(mock_runtime):
    db = PostgresCluster("db", _args())

    def check(inputs):
        spec = inputs["spec"]
        assert inputs["metadata"]["name"] == "db-restore-check"
        assert spec["schedule"] == "0 5 * * 0" and spec["concurrencyPolicy"] == "Forbid"
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
        (fetch,), (restore,) = pod["initContainers"], pod["containers"]
        assert fetch["command"] == ["bash", "/opt/backup-scripts/fetch_latest_dump.sh"]
        assert restore["command"] == ["bash", "/opt/backup-scripts/restore_check.sh"]
        restore_env = {e["name"]: e["value"] for e in restore["env"]}
        assert restore_env["MAX_AGE_HOURS"] == "48" and restore_env["SCRATCH_DIR"].startswith("/work/")
        assert "credentials" not in {v["name"] for v in pod["volumes"]}  # never touches the live database
        account = one(mock_runtime, SERVICE_ACCOUNT, "db-restore-check-sa")
        assert account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("dump-reader")
        scripts = one(mock_runtime, "kubernetes:core/v1:ConfigMap", "db-backup-scripts").inputs["data"]
        on_disk = {p.name: p.read_text() for p in (ROOT / "scripts" / "postgres").glob("*.sh")}
        on_disk.pop("pitr_drill.sh")  # the point-in-time drill's own ConfigMap carries it (PointInTimeDrill)
        assert scripts == on_disk

    return inputs_of(mock_runtime, db.restore_check_cronjob, check)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"base_backups": BaseBackups("p", "arn", schedule="0 2 * * *")}, "six fields"),
        ({"base_backups": BaseBackups("p", "arn", retention="30 days")}, "retention"),
        ({"schemas": ("Production; DROP",)}, "SQL identifier"),
        ({"instances": 0}, "instances"),
        (
            {
                "image_name": "ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie",
                "dumps": LogicalDumps("p", "w", "r", tools_image="postgres:17"),
            },
            "older than the server",
        ),
    ],
)
def test_invalid_args_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        replace(_args(), **overrides)
