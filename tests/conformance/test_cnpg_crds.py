"""Every CloudNativePG / Barman Cloud / Prometheus Operator resource that PostgresCluster declares is valid
against the upstream CRD schema (X-09, S1-07, S3-04, S4-05)."""

import pulumi
import pytest

from components.postgres_cluster import BaseBackups, LogicalDumps, PostgresCluster, PostgresClusterArgs
from tests.conftest import when_registered
from tests.crd_schemas import require_crd_dir, validate_custom_resource
from tools.render import manifest

CUSTOM_GROUPS = ("postgresql.cnpg.io/", "barmancloud.cnpg.io/", "monitoring.coreos.com/")
EXPECTED_KINDS = {"Cluster", "ObjectStore", "ScheduledBackup", "PodMonitor"}


def _prod_args() -> PostgresClusterArgs:
    return PostgresClusterArgs(
        namespace="platform-v2-stable",
        database="platform",
        owner="platform_user",
        app_secret_name="database-secret",
        backup_bucket="ai-platform-prod-backups",
        aws_region="eu-west-1",
        base_backups=BaseBackups("cnpg/platform", "arn:aws:iam::123456789012:role/platform-db-backup"),
        dumps=LogicalDumps(
            "daily/platform/dumps",
            "arn:aws:iam::123456789012:role/platform-dump-writer",
            "arn:aws:iam::123456789012:role/platform-dump-reader",
            schemas=("production", "experiments_v1", "quarantine", "audit"),
        ),
        instances=3,
        storage_class="gp3",
        storage_size="100Gi",
        wal_storage_size="20Gi",
        parameters={"max_connections": "200", "shared_buffers": "1GB"},
        pg_stat_statements=True,
        schemas=("production", "experiments_v1", "quarantine", "audit"),
        extensions=("pgcrypto",),
        kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/0000-1111",
        monitor_labels={"release": "monitoring"},
        part_of="platform",
        protect=True,
    )


def _staging_args() -> PostgresClusterArgs:
    return PostgresClusterArgs(
        namespace="agent-skeptic-bench",
        database="skeptic_bench",
        owner="skeptic",
        app_secret_name="database-secret",
        backup_bucket="ai-platform-staging-backups",
        aws_region="eu-west-1",
        base_backups=BaseBackups("cnpg/skeptic", "arn:aws:iam::123456789012:role/skeptic-db-backup"),
    )


def _custom_resources(registrations) -> list[dict]:
    return [
        manifest(r) for r in registrations if r.custom and r.type.removeprefix("kubernetes:").startswith(CUSTOM_GROUPS)
    ]


@pytest.mark.parametrize("make_args", [_prod_args, _staging_args], ids=["prod", "staging"])
@pulumi.runtime.test
def test_custom_resources_match_crd_schemas(mock_runtime, make_args):
    directory = require_crd_dir()
    db = PostgresCluster("db", make_args())

    def check(registrations):
        docs = _custom_resources(registrations)
        assert {d["kind"] for d in docs} == EXPECTED_KINDS
        errors = [error for doc in docs for error in validate_custom_resource(doc, directory)]
        assert errors == []

    return when_registered(mock_runtime, [db.cluster, db.object_store, db.scheduled_backup, db.pod_monitor], check)


def test_validator_reports_unknown_fields_bad_enums_and_missing_required():
    """The helper is not a rubber stamp: a typo, a bad enum and a missing required field are reported."""
    directory = require_crd_dir()
    broken_backup = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "ScheduledBackup",
        "metadata": {"name": "broken"},
        "spec": {"cluster": {"name": "db"}, "method": "s3", "shedule": "0 0 2 * * *"},
    }
    errors = validate_custom_resource(broken_backup, directory)
    assert any("spec.method" in e and "'s3' is not one of" in e for e in errors), errors
    assert any("'shedule' was unexpected" in e for e in errors), errors
    assert any("'schedule' is a required property" in e for e in errors), errors
    assert validate_custom_resource({"apiVersion": "example.com/v1", "kind": "Nope"}, directory) == [
        "Nope/?: no CRD schema for example.com/v1 Nope"
    ]
    bad_retention = {
        "apiVersion": "barmancloud.cnpg.io/v1",
        "kind": "ObjectStore",
        "metadata": {"name": "store"},
        "spec": {"retentionPolicy": "30 days", "configuration": {"destinationPath": "s3://b/p"}},
    }
    assert any("spec.retentionPolicy" in e for e in validate_custom_resource(bad_retention, directory))
