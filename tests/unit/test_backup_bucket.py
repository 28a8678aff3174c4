"""BackupBucket: encrypted, versioned, private, TLS-only S3 with lifecycle retention and IRSA roles.

Requirements: X-08 (encrypted, versioned, private, TLS-only, daily 30 d / hourly 7 d), X-09 and
S1-09 (daily Postgres backups to S3, 30-day retention), X-12 (no static credentials), X-16
(encryption at rest and in transit, access audit trail, least privilege), S3-11 (WAL archive for RPO 1 h).
"""

import json
from typing import Any, cast

import pulumi
import pytest

from components.backup_access import AccessGrant, grant_policy
from components.backup_bucket import (
    ACCESS_LOG_PREFIX,
    IRSA_ANNOTATION,
    BackupBucket,
    BackupBucketArgs,
    ObjectLock,
    ReplicaTarget,
    backup_prefix,
)
from tests.support.backups import DUMP_WRITER, ISSUER_HOST, RESTORE_READER, WAL_ARCHIVER
from tests.support.runtime import one
from tools.mock_runtime import CLUSTER_STACK_OUTPUTS

DELETES = {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:*"}


def _args(**overrides: Any) -> BackupBucketArgs:
    # The OIDC values come from the cluster stack, as in the program.
    cluster = pulumi.StackReference("acme/cluster/prod")
    base: dict[str, Any] = dict(
        bucket_name="ai-platform-prod-backups",
        oidc_provider_arn=cluster.get_output("oidcProviderArn"),
        oidc_issuer_url=cluster.get_output("oidcIssuerUrl"),
        grants=(WAL_ARCHIVER, DUMP_WRITER, RESTORE_READER),
    )
    base.update(overrides)
    return BackupBucketArgs(**base)


def _build(**overrides) -> BackupBucket:
    """Declare a BackupBucket and wait until every child is registered."""
    built = {}

    @pulumi.runtime.test
    def declare():
        built["bucket"] = BackupBucket("backups", _args(**overrides))
        return built["bucket"].bucket_arn

    declare()
    return built["bucket"]


def _state(monitor, type_, name, key):
    return one(monitor, type_, name).state[key]


def _statements(policy: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(policy)["Statement"]}


def _actions(statement: dict) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_bucket_is_encrypted_with_its_own_rotating_key(mock_runtime):
    """X-08, X-16: SSE-KMS with a customer-managed, rotated key and S3 bucket keys."""
    _build()
    key = one(mock_runtime, "aws:kms/key:Key", "backups-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    alias = one(mock_runtime, "aws:kms/alias:Alias", "backups-key-alias")
    assert alias.inputs["name"] == "alias/ai-platform-prod-backups"
    assert alias.inputs["targetKeyId"] == key.state["keyId"]

    sse = one(
        mock_runtime,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "backups-bucket-encryption",
    )
    assert sse.inputs["bucket"] == "ai-platform-prod-backups"
    (rule,) = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.state["arn"]}
    assert rule["bucketKeyEnabled"] is True


@pytest.mark.parametrize(
    ("prefix", "bucket"),
    [("backups-bucket", "ai-platform-prod-backups"), ("backups-logs", "ai-platform-prod-backups-logs")],
)
def test_both_buckets_are_versioned_private_and_owner_enforced(mock_runtime, prefix, bucket):
    """X-08: versioning on, all four public-access-block flags, ACLs disabled."""
    _build()
    versioning = one(mock_runtime, "aws:s3/bucketVersioning:BucketVersioning", f"{prefix}-versioning")
    assert versioning.inputs == {"bucket": bucket, "versioningConfiguration": {"status": "Enabled"}}
    block = one(mock_runtime, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{prefix}-public-access-block")
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert {flag: block.inputs[flag] for flag in flags} == dict.fromkeys(flags, True)
    ownership = one(mock_runtime, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", f"{prefix}-ownership")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_policy_denies_insecure_transport_and_version_deletion(mock_runtime):
    """X-08, X-16: TLS-only; nobody may delete versions or the bucket without an operator role."""
    _build()
    policy = one(mock_runtime, "aws:s3/bucketPolicy:BucketPolicy", "backups-policy")
    block = one(
        mock_runtime, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "backups-bucket-public-access-block"
    )
    assert block.urn in policy.dependencies, "the policy must wait for the public access block"
    statements = _statements(policy.inputs["policy"])
    arn = "arn:aws:s3:::ai-platform-prod-backups"

    tls = statements["DenyInsecureTransport"]
    assert (tls["Effect"], tls["Principal"], tls["Action"]) == ("Deny", "*", "s3:*")
    assert set(tls["Resource"]) == {arn, f"{arn}/*"}
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    destruction = statements["DenyVersionAndBucketDeletion"]
    assert destruction["Effect"] == "Deny" and "Condition" not in destruction
    assert _actions(destruction) == {"s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:DeleteBucket"}
    non_kms = statements["DenyNonKmsUploads"]
    # Another algorithm is refused; no header at all gets the bucket's default, the KMS key (S2-05: Elasticsearch's
    # S3 repository cannot send `aws:kms`).
    assert non_kms["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        "Null": {"s3:x-amz-server-side-encryption": "false"},
    }
    assert "OperatorMayDelete" not in statements


def test_operator_role_is_the_only_principal_exempt_from_deletion_deny(mock_runtime):
    """X-16: break-glass deletion is limited to one named operator role."""
    operator = "arn:aws:iam::123456789012:role/backup-operator"
    _build(operator_role_arn=operator)
    statements = _statements(one(mock_runtime, "aws:s3/bucketPolicy:BucketPolicy", "backups-policy").inputs["policy"])
    assert statements["DenyVersionAndBucketDeletion"]["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": operator}}
    allow = statements["OperatorMayDelete"]
    assert allow["Principal"] == {"AWS": operator}
    assert _actions(allow) == {"s3:DeleteObject", "s3:DeleteObjectVersion"}


def test_access_logs_go_to_a_separate_hardened_bucket(mock_runtime):
    """X-16: server access logs (audit trail) land in their own SSE-S3, versioned, TLS-only bucket."""
    _build()
    logging = one(mock_runtime, "aws:s3/bucketLogging:BucketLogging", "backups-logging")
    assert logging.inputs["bucket"] == "ai-platform-prod-backups"
    assert logging.inputs["targetBucket"] == "ai-platform-prod-backups-logs"
    assert logging.inputs["targetPrefix"] == ACCESS_LOG_PREFIX

    sse = one(
        mock_runtime,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "backups-logs-encryption",
    )
    assert sse.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]

    log_policy = one(mock_runtime, "aws:s3/bucketPolicy:BucketPolicy", "backups-logs-policy")
    assert log_policy.urn in logging.dependencies, "logging must wait for the delivery grant"
    statements = _statements(log_policy.inputs["policy"])
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    delivery = statements["S3ServerAccessLogsDelivery"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Resource"] == f"arn:aws:s3:::ai-platform-prod-backups-logs/{ACCESS_LOG_PREFIX}*"
    assert delivery["Condition"] == {
        "ArnLike": {"aws:SourceArn": "arn:aws:s3:::ai-platform-prod-backups"},
        "StringEquals": {"aws:SourceAccount": "123456789012"},
    }
    (rule,) = one(
        mock_runtime, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups-logs-lifecycle"
    ).inputs["rules"]
    assert rule["expiration"] == {"days": 365}
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 30}


def test_lifecycle_expires_daily_after_30_and_hourly_after_7_days(mock_runtime):
    """X-08, X-09, S1-09: daily full 30 days, hourly incremental 7 days; noncurrent versions and uploads cleaned."""
    _build()
    lifecycle = one(
        mock_runtime, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups-lifecycle"
    )
    versioning = one(mock_runtime, "aws:s3/bucketVersioning:BucketVersioning", "backups-bucket-versioning")
    assert versioning.urn in lifecycle.dependencies
    rules = {rule["id"]: rule for rule in lifecycle.inputs["rules"]}
    assert all(rule["status"] == "Enabled" for rule in rules.values())
    assert rules["expire-daily"]["filter"] == {"prefix": "daily/"}
    assert rules["expire-daily"]["expiration"] == {"days": 30}
    assert rules["expire-hourly"]["filter"] == {"prefix": "hourly/"}
    assert rules["expire-hourly"]["expiration"] == {"days": 7}
    cleanup = rules["noncurrent-versions-and-incomplete-uploads"]
    assert cleanup["filter"] == {"prefix": ""}
    assert cleanup["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert cleanup["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert not any(rule["filter"]["prefix"].startswith("managed") for rule in rules.values()), (
        "barman's own retention owns managed/: lifecycle must not expire its WAL"
    )


def test_lifecycle_days_follow_the_args(mock_runtime):
    """X-08: retention is configuration, not code."""
    _build(daily_retention_days=35, hourly_retention_days=2, noncurrent_version_days=14)
    lifecycle = one(
        mock_runtime, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups-lifecycle"
    )
    rules = {rule["id"]: rule for rule in lifecycle.inputs["rules"]}
    assert rules["expire-daily"]["expiration"] == {"days": 35}
    assert rules["expire-hourly"]["expiration"] == {"days": 2}
    assert rules["noncurrent-versions-and-incomplete-uploads"]["noncurrentVersionExpiration"] == {"noncurrentDays": 14}


def test_object_lock_is_switched_on_in_place_when_asked(mock_runtime):
    """X-08, X-12: WORM retention by PutObjectLockConfiguration after versioning, never by the bucket's
    force-new `objectLockEnabled`: a deployed bucket gains its lock without being replaced."""
    _build(object_lock=ObjectLock("COMPLIANCE", 30))
    bucket = one(mock_runtime, "aws:s3/bucket:Bucket", "backups-bucket")
    assert "objectLockEnabled" not in bucket.inputs
    lock = one(
        mock_runtime, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "backups-object-lock"
    )
    assert lock.inputs["bucket"] == "ai-platform-prod-backups"
    assert lock.inputs["objectLockEnabled"] == "Enabled"
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": "COMPLIANCE", "days": 30}}
    versioning = one(mock_runtime, "aws:s3/bucketVersioning:BucketVersioning", "backups-bucket-versioning")
    assert versioning.urn in lock.dependencies, "S3 enables object lock on an existing bucket only once versioned"
    assert (lock.protect, lock.retain_on_delete) == (True, True)


def test_the_bucket_inputs_do_not_change_when_object_lock_is_added(mock_runtime):
    """X-12: the protected prod bucket is never replaced to gain object lock."""
    _build()
    before = one(mock_runtime, "aws:s3/bucket:Bucket", "backups-bucket").inputs
    mock_runtime.registrations.clear()
    _build(object_lock=ObjectLock("COMPLIANCE", 30))
    assert one(mock_runtime, "aws:s3/bucket:Bucket", "backups-bucket").inputs == before


def test_no_object_lock_unless_asked(mock_runtime):
    _build()
    assert "objectLockEnabled" not in one(mock_runtime, "aws:s3/bucket:Bucket", "backups-bucket").inputs
    assert not [r for r in mock_runtime.registrations if "ObjectLock" in r.type]


@pytest.mark.parametrize("flag", [True, False])
def test_stateful_children_carry_protect_and_retain(mock_runtime, flag):
    """X-08: the bucket, its audit log bucket and the key survive `pulumi destroy` when asked."""
    _build(protect=flag, retain_on_delete=flag)
    for type_, name in [
        ("aws:s3/bucket:Bucket", "backups-bucket"),
        ("aws:s3/bucket:Bucket", "backups-logs"),
        ("aws:kms/key:Key", "backups-key"),
    ]:
        registration = one(mock_runtime, type_, name)
        assert (registration.protect, registration.retain_on_delete) == (flag, flag), name
    component = one(mock_runtime, "ai-platform:backup_bucket:BackupBucket", "backups")
    assert component.protect is False, "protect belongs on the stateful children, not the component"


def test_roles_trust_only_their_service_account_through_irsa(mock_runtime):
    """X-12, X-16: web identity from the cluster's OIDC provider, pinned to one ServiceAccount."""
    _build()
    for grant in (WAL_ARCHIVER, DUMP_WRITER, RESTORE_READER):
        role = one(mock_runtime, "aws:iam/role:Role", f"backups-{grant.role_name}")
        assert role.inputs["name"] == grant.role_name
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"Federated": CLUSTER_STACK_OUTPUTS["oidcProviderArn"]}
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Condition"] == {
            "StringEquals": {
                f"{ISSUER_HOST}:sub": f"system:serviceaccount:db:{grant.service_account}",
                f"{ISSUER_HOST}:aud": "sts.amazonaws.com",
            }
        }


def _grant_statements(monitor, grant: AccessGrant) -> dict[str, dict]:
    return _statements(
        one(monitor, "aws:iam/rolePolicy:RolePolicy", f"backups-{grant.role_name}-access").inputs["policy"]
    )


def test_writers_and_readers_cannot_delete(mock_runtime):
    """X-16: least privilege; only the WAL archiver prunes, and only its own prefix, never versions."""
    _build()
    bucket = "arn:aws:s3:::ai-platform-prod-backups"
    key_arn = _state(mock_runtime, "aws:kms/key:Key", "backups-key", "arn")

    writer = _grant_statements(mock_runtime, DUMP_WRITER)
    assert all(not _actions(s) & DELETES for s in writer.values())
    assert _actions(writer["UseOwnPrefixes"]) == {"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"}
    assert writer["UseOwnPrefixes"]["Resource"] == [f"{bucket}/daily/db/*", f"{bucket}/hourly/db/*"]
    assert writer["ListOwnPrefixes"]["Resource"] == bucket
    assert writer["ListOwnPrefixes"]["Condition"] == {"StringLike": {"s3:prefix": ["daily/db/*", "hourly/db/*"]}}
    assert _actions(writer["UseBucketKey"]) == {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"}
    assert writer["UseBucketKey"]["Resource"] == key_arn

    reader = _grant_statements(mock_runtime, RESTORE_READER)
    assert all(not _actions(s) & DELETES for s in reader.values())
    assert _actions(reader["UseOwnPrefixes"]) == {"s3:GetObject"}
    assert _actions(reader["UseBucketKey"]) == {"kms:Decrypt"}

    archiver = _grant_statements(mock_runtime, WAL_ARCHIVER)
    deleting = [s for s in archiver.values() if _actions(s) & DELETES]
    assert deleting == [archiver["PruneOwnPrefixes"]]
    assert _actions(archiver["PruneOwnPrefixes"]) == {"s3:DeleteObject"}
    assert archiver["PruneOwnPrefixes"]["Resource"] == [f"{bucket}/managed/db/*"]
    assert "Condition" not in archiver["ListBucketForHeadBucket"], "barman's HeadBucket needs an unscoped ListBucket"
    assert all(s["Effect"] == "Allow" and s["Resource"] != "*" for s in archiver.values())


def test_a_snapshot_writer_lists_its_own_multipart_uploads_only():
    """S2-05: Elasticsearch's S3 repository lists the uploads a failed snapshot left behind, under its prefix."""
    bucket, key = "arn:aws:s3:::b", "arn:aws:kms:eu-west-1:123456789012:key/k"
    grant = AccessGrant("snapshots", "logging", "elasticsearch", ("managed/logging/",), "write", multipart_listing=True)
    statements = _statements(json.dumps(grant_policy(grant, bucket, key)))
    uploads = statements["ListOwnMultipartUploads"]
    assert (_actions(uploads), uploads["Resource"]) == ({"s3:ListBucketMultipartUploads"}, bucket)
    assert uploads["Condition"] == {"StringLike": {"s3:prefix": ["managed/logging/*"]}}
    assert "s3:ListMultipartUploadParts" in _actions(statements["UseOwnPrefixes"])
    plain = _statements(json.dumps(grant_policy(DUMP_WRITER, bucket, key)))
    assert "ListOwnMultipartUploads" not in plain
    assert "s3:ListMultipartUploadParts" not in _actions(plain["UseOwnPrefixes"])


def test_no_static_credentials(mock_runtime):
    """X-12: IRSA only; no IAM users, no access keys."""
    _build()
    types = {r.type for r in mock_runtime.registrations}
    assert not types & {"aws:iam/accessKey:AccessKey", "aws:iam/user:User", "aws:iam/userPolicy:UserPolicy"}
    assert len([t for t in mock_runtime.registrations if t.type == "aws:iam/role:Role"]) == 3


@pulumi.runtime.test
def test_role_arns_and_service_account_annotation(mock_runtime):
    """X-12: callers bind ServiceAccounts to the roles by annotation."""
    bucket = BackupBucket("backups", _args())
    assert set(bucket.role_arns) == {"prod-db-wal", "prod-db-dump", "prod-db-restore-check"}
    annotations = bucket.service_account_annotations("prod-db-wal")
    assert set(annotations) == {IRSA_ANNOTATION}

    def check(values):
        annotation, arn, url, name, log_name = values
        assert annotation == arn == _state(mock_runtime, "aws:iam/role:Role", "backups-prod-db-wal", "arn")
        assert url == "s3://ai-platform-prod-backups/managed/db/"
        assert (name, log_name) == ("ai-platform-prod-backups", "ai-platform-prod-backups-logs")

    return pulumi.Output.all(
        annotations[IRSA_ANNOTATION],
        bucket.role_arns["prod-db-wal"],
        bucket.s3_url(backup_prefix("managed", "db")),
        bucket.bucket_name,
        bucket.log_bucket_name,
    ).apply(check)


# `cast(Any, ...)`: values the type checker refuses, to prove the checks at run time refuse them too.
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: backup_prefix(cast(Any, "weekly"), "db"), "retention class"),
        (lambda: backup_prefix("daily", "/"), "owner must not be empty"),
        (lambda: AccessGrant("r", "ns", "sa", ("/daily/db/",), "write"), "prefixes must look like"),
        (lambda: AccessGrant("r", "ns", "sa", ("daily/db",), "write"), "prefixes must look like"),
        (lambda: AccessGrant("r", "ns", "sa", (), "read"), "at least one prefix"),
        (lambda: AccessGrant("r", "ns", "sa", ("daily/db/",), "read", delete_own_objects=True), "needs access=write"),
        (lambda: AccessGrant("r", "ns", "sa", ("daily/db/",), "read", multipart_listing=True), "needs access=write"),
        (lambda: ObjectLock(cast(Any, "LEGAL"), 30), "GOVERNANCE or COMPLIANCE"),
        (lambda: BackupBucketArgs("Bad_Name", "arn", "https://x", ()), "not a valid S3 bucket name"),
        (lambda: BackupBucketArgs("b" * 60, "arn", "https://x", ()), "not a valid S3 bucket name"),
        (
            # No provider: the replica's name is refused before one would be used.
            lambda: BackupBucketArgs(
                "b" * 56, "arn", "https://x", (), replica=ReplicaTarget("eu-central-1", cast(Any, None), "r")
            ),
            f"{'b' * 56}-replica' is not a valid S3 bucket name",
        ),
        (lambda: BackupBucketArgs("ok-bucket", "arn", "https://x", (), hourly_retention_days=0), "retention days"),
        (lambda: BackupBucketArgs("ok-bucket", "arn", "https://x", (DUMP_WRITER, DUMP_WRITER)), "unique"),
        (
            lambda: BackupBucketArgs("ok-bucket", "arn", "https://x", (), object_lock=ObjectLock("COMPLIANCE", 29)),
            "shorter than the 30-day backup window",
        ),
    ],
)
def test_bad_args_fail_before_anything_is_declared(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --- the key policy -------------------------------------------------------------------------------------------

DATA_ACTIONS = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:CreateGrant"}


def _key_policy(monitor) -> dict[str, dict]:
    return _statements(one(monitor, "aws:kms/key:Key", "backups-key").inputs["policy"])


def _principals(statement: dict) -> set[str]:
    principal = statement["Principal"]["AWS"]
    return {principal} if isinstance(principal, str) else set(principal)


def test_the_account_administers_the_key_but_never_uses_it(mock_runtime):
    """X-12, X-16: administration apart from use; no grant, so no way for an administrator to decrypt."""
    _build()
    admin = _key_policy(mock_runtime)["AccountAdministersNeverUses"]
    assert _principals(admin) == {"arn:aws:iam::123456789012:root"}
    actions = _actions(admin)
    assert {"kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:DescribeKey", "kms:TagResource"} <= actions
    assert not actions & DATA_ACTIONS and not any(a.startswith("kms:GenerateDataKey") for a in actions)
    assert not any("*" in a for a in actions), "a wildcard would hide a data action"


def test_only_the_named_writers_and_readers_use_the_key_and_only_through_s3(mock_runtime):
    """X-12, X-16: the IRSA roles of the grants, by their access; the operator role reads (manual restores)."""
    operator = "arn:aws:iam::123456789012:role/backup-operator"
    _build(operator_role_arn=operator)
    statements = _key_policy(mock_runtime)
    arn = "arn:aws:iam::123456789012:role/{}".format
    users = [s for s in statements.values() if _actions(s) & DATA_ACTIONS]
    assert {s["Sid"] for s in users} == {"WritersEncryptThroughS3", "ReadersDecryptThroughS3"}
    writers, readers = statements["WritersEncryptThroughS3"], statements["ReadersDecryptThroughS3"]
    assert _principals(writers) == {arn(WAL_ARCHIVER.role_name), arn(DUMP_WRITER.role_name)}
    assert _actions(writers) == {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"}
    assert _principals(readers) == {arn(RESTORE_READER.role_name), operator}
    assert _actions(readers) == {"kms:Decrypt"}
    for statement in (writers, readers):
        assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    key = one(mock_runtime, "aws:kms/key:Key", "backups-key")
    roles = [one(mock_runtime, "aws:iam/role:Role", f"backups-{g.role_name}") for g in (WAL_ARCHIVER, RESTORE_READER)]
    assert all(role.urn in key.dependencies for role in roles), "the roles must exist before the key names them"


# --- cross-region replication ---------------------------------------------------------------------------------

REPLICA = "ai-platform-prod-backups-replica"
REPLICATION_ROLE = "ai-platform-prod-backups-replication"


def _with_replica(**overrides) -> None:
    import pulumi_aws as aws

    provider = aws.Provider("aws-backups-eu-central-1", region="eu-central-1")
    _build(replica=ReplicaTarget("eu-central-1", provider, REPLICATION_ROLE), **overrides)


def test_the_replica_is_guarded_like_the_bucket_in_its_own_region_with_its_own_key(mock_runtime):
    """X-08, S3-11: another region, versioned, private, SSE-KMS with its own key, the same lifecycle and lock."""
    _with_replica(object_lock=ObjectLock("COMPLIANCE", 30))
    bucket = one(mock_runtime, "aws:s3/bucket:Bucket", "backups-replica-bucket")
    assert bucket.inputs["bucket"] == REPLICA and "objectLockEnabled" not in bucket.inputs
    assert bucket.provider.startswith(one(mock_runtime, "pulumi:providers:aws", "aws-backups-eu-central-1").urn)
    key = one(mock_runtime, "aws:kms/key:Key", "backups-replica-key")
    assert key.provider == bucket.provider and key.inputs["enableKeyRotation"] is True
    sse = one(
        mock_runtime,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "backups-replica-bucket-encryption",
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == key.state["arn"]
    versioning = one(mock_runtime, "aws:s3/bucketVersioning:BucketVersioning", "backups-replica-bucket-versioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    lifecycle_type = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    source_rules = one(mock_runtime, lifecycle_type, "backups-lifecycle").inputs["rules"]
    assert one(mock_runtime, lifecycle_type, "backups-replica-lifecycle").inputs["rules"] == source_rules
    lock = one(
        mock_runtime,
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "backups-replica-object-lock",
    )
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": "COMPLIANCE", "days": 30}}
    policy = _statements(
        one(mock_runtime, "aws:s3/bucketPolicy:BucketPolicy", "backups-replica-policy").inputs["policy"]
    )
    assert {"DenyInsecureTransport", "DenyVersionAndBucketDeletion"} <= set(policy)
    for type_, name in [
        ("aws:s3/bucket:Bucket", "backups-replica-bucket"),
        ("aws:kms/key:Key", "backups-replica-key"),
        ("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "backups-replication"),
    ]:
        registration = one(mock_runtime, type_, name)
        assert (registration.protect, registration.retain_on_delete) == (True, True), name


def test_the_source_replicates_every_version_and_delete_marker_into_the_replica(mock_runtime):
    _with_replica(object_lock=ObjectLock("COMPLIANCE", 30))
    config = one(mock_runtime, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "backups-replication")
    role = one(mock_runtime, "aws:iam/role:Role", "backups-replication-role")
    replica_key = one(mock_runtime, "aws:kms/key:Key", "backups-replica-key")
    assert config.inputs["bucket"] == "ai-platform-prod-backups" and config.inputs["role"] == role.state["arn"]
    (rule,) = config.inputs["rules"]
    assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}
    assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
    assert rule["destination"]["bucket"] == f"arn:aws:s3:::{REPLICA}"
    assert rule["destination"]["encryptionConfiguration"] == {"replicaKmsKeyId": replica_key.state["arn"]}
    for name in ("backups-bucket-versioning", "backups-replica-bucket-versioning"):
        assert one(mock_runtime, "aws:s3/bucketVersioning:BucketVersioning", name).urn in config.dependencies
    lock_type = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
    assert one(mock_runtime, lock_type, "backups-replica-object-lock").urn in config.dependencies


def test_the_replication_role_does_only_what_replication_needs(mock_runtime):
    """X-16: S3 alone assumes it, for this bucket; it reads versions here, writes replicas there, each key via S3."""
    _with_replica()
    role = one(mock_runtime, "aws:iam/role:Role", "backups-replication-role")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:s3:::ai-platform-prod-backups"},
    }
    policy = _statements(
        one(mock_runtime, "aws:iam/rolePolicy:RolePolicy", "backups-replication-role-access").inputs["policy"]
    )
    source, replica = "arn:aws:s3:::ai-platform-prod-backups", f"arn:aws:s3:::{REPLICA}"
    assert policy["ReadSourceVersions"]["Resource"] == f"{source}/*"
    assert not any(a.startswith("s3:Delete") or a == "s3:PutObject" for s in policy.values() for a in _actions(s))
    assert _actions(policy["WriteReplicas"]) == {"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"}
    assert policy["WriteReplicas"]["Resource"] == f"{replica}/*"
    source_key = one(mock_runtime, "aws:kms/key:Key", "backups-key").state["arn"]
    replica_key = one(mock_runtime, "aws:kms/key:Key", "backups-replica-key").state["arn"]
    assert (policy["DecryptSource"]["Resource"], _actions(policy["DecryptSource"])) == (source_key, {"kms:Decrypt"})
    assert policy["DecryptSource"]["Condition"]["StringEquals"] == {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    assert policy["EncryptReplicas"]["Resource"] == replica_key
    assert policy["EncryptReplicas"]["Condition"]["StringEquals"] == {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}
    # Each key names the role: the source key lets it decrypt, the replica key lets it (alone) encrypt.
    assert role.state["arn"] in _principals(_key_policy(mock_runtime)["ReadersDecryptThroughS3"])
    replica_policy = _statements(one(mock_runtime, "aws:kms/key:Key", "backups-replica-key").inputs["policy"])
    assert _principals(replica_policy["WritersEncryptThroughS3"]) == {role.state["arn"]}
    viaservice = replica_policy["WritersEncryptThroughS3"]["Condition"]["StringEquals"]["kms:ViaService"]
    assert viaservice == "s3.eu-central-1.amazonaws.com"
