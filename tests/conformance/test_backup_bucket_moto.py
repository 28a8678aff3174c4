"""BackupBucket settings replayed into a local moto S3/IAM/KMS server and read back.

The bucket controls are taken from what the component registered (camelCase Pulumi inputs turned
into boto3 calls), so a control the component stops declaring, or declares wrongly, fails here.
Moto stores and returns settings but validates little, so each control's semantics is asserted
on what moto returns. Moto applies bucket-policy Deny statements but ignores their Conditions:
object operations run before the TLS-only policy is applied, and the IAM checks use a bucket
without it. Moto enforces identity-policy actions and resources for assumed-role credentials, not
Conditions (and has no policy simulator): prefix and trust conditions are evaluated in Python.

The CI deploy role (.github/iam/deploy-permissions.json) is replayed too, against a bucket whose versions are
locked in COMPLIANCE mode: it cannot delete a version (with or without bypassing governance) or an object,
while it still manages the bucket. Moto authorizes PutObjectLockConfiguration as CreateBucket (its action map
has no `object-lock`), so that Deny, and the conditional Deny on the key policy's lockout check, are asserted
on the document (tests/conformance/test_ci_roles.py); what the lock itself refuses, moto shows.

Requirements: X-08, X-09, S1-09 (retention), X-12 (no static credentials), X-16 (encryption,
TLS, access logs, least privilege); AWS FSBP S3.1/S3.8 (public access block), S3.5 (TLS only),
S3.9 (access logging), S3.12 (ACLs disabled), S3.13 (lifecycle), S3.14 (versioning),
S3.15 (object lock), S3.17 (KMS at rest).
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatchcase

import pulumi
import pytest
import requests
from botocore.exceptions import ClientError

from components.backup_bucket import ACCESS_LOG_PREFIX, BackupBucket, BackupBucketArgs, ObjectLock
from tests.support.aws import MOTO_REGION, moto_client
from tests.support.backups import DUMP_WRITER, ISSUER_HOST, RESTORE_READER, WAL_ARCHIVER
from tests.support.runtime import ROOT, one
from tools.mock_runtime import CLUSTER_STACK_OUTPUTS, RecordingMonitor

BUCKET = "ai-platform-prod-backups"
LOG_BUCKET = f"{BUCKET}-logs"
GRANTS = (WAL_ARCHIVER, DUMP_WRITER, RESTORE_READER)

S3 = "aws:s3/"
BUCKET_TYPE = "aws:s3/bucket:Bucket"
POLICY_TYPE = "aws:s3/bucketPolicy:BucketPolicy"
LOGGING_TYPE = "aws:s3/bucketLogging:BucketLogging"
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
# boto3 names that are not the camelCase input name with its first letter raised.
BOTO_NAMES = {"id": "ID", "kmsMasterKeyId": "KMSMasterKeyID", "sseAlgorithm": "SSEAlgorithm"}


def to_boto(value):
    """Pulumi inputs (camelCase, numbers as floats) -> boto3 parameters (PascalCase, ints)."""
    if isinstance(value, dict):
        return {BOTO_NAMES.get(k, k[:1].upper() + k[1:]): to_boto(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_boto(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# One boto3 call per bucket-settings resource; the policy and logging are applied separately, last.
SETTINGS_CALLS = {
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": lambda s3, b, i: (
        s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": to_boto(i["rules"])})
    ),
    "aws:s3/bucketVersioning:BucketVersioning": lambda s3, b, i: s3.put_bucket_versioning(
        Bucket=b, VersioningConfiguration=to_boto(i["versioningConfiguration"])
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": lambda s3, b, i: s3.put_public_access_block(
        Bucket=b, PublicAccessBlockConfiguration=to_boto({flag: i[flag] for flag in PUBLIC_ACCESS_FLAGS})
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": lambda s3, b, i: s3.put_bucket_ownership_controls(
        Bucket=b, OwnershipControls={"Rules": [to_boto(i["rule"])]}
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": lambda s3, b, i: (
        s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": to_boto(i["rules"])})
    ),
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": lambda s3, b, i: (
        s3.put_object_lock_configuration(
            Bucket=b, ObjectLockConfiguration={"ObjectLockEnabled": i["objectLockEnabled"], "Rule": to_boto(i["rule"])}
        )
    ),
}


# --- moto server (the `moto` fixture) ---------------------------------------------------------


@contextmanager
def iam_enforced(endpoint: str) -> Iterator[None]:
    """Make moto check every request against the caller's IAM policies, then switch back."""
    previous = requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).json()
    try:
        yield
    finally:
        restore = previous["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
        requests.post(f"{endpoint}/moto-api/reset-auth", data=restore.encode(), timeout=10)


def denied(call) -> bool:
    try:
        call()
    except ClientError as error:
        if error.response["Error"]["Code"] == "AccessDenied":
            return True
        raise
    return False


# --- what the component registered -----------------------------------------------------------


def register(monitor: RecordingMonitor, **overrides) -> RecordingMonitor:
    """Declare the component under the mock runtime; MONITOR once every child is registered."""
    cluster = pulumi.StackReference("acme/cluster/prod")
    args = BackupBucketArgs(
        bucket_name=BUCKET,
        oidc_provider_arn=cluster.get_output("oidcProviderArn"),
        oidc_issuer_url=cluster.get_output("oidcIssuerUrl"),
        grants=GRANTS,
        **overrides,
    )

    @pulumi.runtime.test
    def declare():
        return BackupBucket("backups", args).bucket_arn

    declare()
    return monitor


def of_bucket(monitor: RecordingMonitor, bucket: str) -> dict[str, dict]:
    """Type -> inputs of each S3 resource that configures BUCKET."""
    found: dict[str, dict] = {}
    for registration in monitor.registrations:
        if registration.type.startswith(S3) and registration.inputs.get("bucket") == bucket:
            assert registration.type not in found, f"two {registration.type} for {bucket}"
            found[registration.type] = registration.inputs
    return found


def replay_kms_key(endpoint: str, monitor: RecordingMonitor) -> tuple[str, str]:
    """Create the registered KMS key and alias in moto; returns (ARN the mocks gave it, ARN in moto)."""
    key = one(monitor, "aws:kms/key:Key")
    kms = moto_client(endpoint, "kms")
    arn = kms.create_key(Description=key.inputs["description"])["KeyMetadata"]["Arn"]
    if key.inputs["enableKeyRotation"]:
        kms.enable_key_rotation(KeyId=arn)
    kms.create_alias(AliasName=one(monitor, "aws:kms/alias:Alias").inputs["name"], TargetKeyId=arn)
    return key.state["arn"], arn


def replay_bucket(
    s3, monitor: RecordingMonitor, bucket: str, key_arns: tuple[str, str] | None = None
) -> dict[str, dict]:
    """Create BUCKET and apply its settings, policy excluded; returns its registered settings."""
    settings = of_bucket(monitor, bucket)
    if key_arns:  # the mock runtime's key ARN -> the key created in moto
        settings = json.loads(json.dumps(settings).replace(*key_arns))
    created = settings.pop(BUCKET_TYPE)
    s3.create_bucket(
        Bucket=bucket,
        CreateBucketConfiguration={"LocationConstraint": MOTO_REGION},
        ObjectLockEnabledForBucket=bool(created.get("objectLockEnabled")),
    )
    unknown = set(settings) - set(SETTINGS_CALLS) - {POLICY_TYPE, LOGGING_TYPE}
    assert not unknown, f"settings this test does not replay yet: {unknown}"
    for type_, call in SETTINGS_CALLS.items():
        if type_ in settings:
            call(s3, bucket, settings[type_])
    settings[BUCKET_TYPE] = created
    return settings


def enable_access_logging(s3, settings: dict[str, dict], log_settings: dict[str, dict]) -> None:
    """Point the backup bucket's access logs at the log bucket, whose registered policy ends up in place.

    S3 (and moto) check the log bucket's delivery grant at PutBucketLogging. Moto 5 crashes on a
    string `"Principal": "*"` while looking for that grant, so it is shown the grant alone first.
    """
    policy = json.loads(log_settings[POLICY_TYPE]["policy"])
    grant_only = {**policy, "Statement": [s for s in policy["Statement"] if s["Effect"] == "Allow"]}
    s3.put_bucket_policy(Bucket=LOG_BUCKET, Policy=json.dumps(grant_only))
    logging_inputs = settings[LOGGING_TYPE]
    enabled = {"TargetBucket": logging_inputs["targetBucket"], "TargetPrefix": logging_inputs["targetPrefix"]}
    s3.put_bucket_logging(Bucket=BUCKET, BucketLoggingStatus={"LoggingEnabled": enabled})
    s3.put_bucket_policy(Bucket=LOG_BUCKET, Policy=log_settings[POLICY_TYPE]["policy"])


def replay_all(endpoint: str, monitor: RecordingMonitor) -> tuple:
    """Both buckets as the component declares them, except the backup bucket's policy (see each test)."""
    s3 = moto_client(endpoint, "s3")
    key_arns = replay_kms_key(endpoint, monitor)
    log_settings = replay_bucket(s3, monitor, LOG_BUCKET)
    assert LOGGING_TYPE not in log_settings, "the log bucket must not log into itself"
    settings = replay_bucket(s3, monitor, BUCKET, key_arns)
    enable_access_logging(s3, settings, log_settings)
    return s3, settings, key_arns[1]


# --- bucket controls -------------------------------------------------------------------------


@pytest.mark.parametrize("object_lock", [None, ObjectLock("GOVERNANCE", 30)], ids=["no-lock", "governance-lock"])
def test_bucket_controls_round_trip(mock_runtime, moto, object_lock):
    """Every registered control is accepted by the S3 API and reads back with the intended meaning."""
    s3, settings, key_arn = replay_all(moto, register(mock_runtime, object_lock=object_lock))

    # Objects first: moto would refuse them once the TLS-only Deny is in place (it ignores Conditions).
    s3.put_object(Bucket=BUCKET, Key="daily/db/dump.sql.gz", Body=b"v1")
    s3.put_object(Bucket=BUCKET, Key="daily/db/dump.sql.gz", Body=b"v2")
    head = s3.head_object(Bucket=BUCKET, Key="daily/db/dump.sql.gz")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"], head["BucketKeyEnabled"]) == ("aws:kms", key_arn, True)
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix="daily/db/")["Versions"]
    assert len(versions) == 2, "an overwrite must keep the previous version"
    if object_lock:
        assert head["ObjectLockMode"] == "GOVERNANCE", "new versions get the default retention"

    s3.put_bucket_policy(Bucket=BUCKET, Policy=settings[POLICY_TYPE]["policy"])

    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    (sse,) = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert sse["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert sse["BucketKeyEnabled"] is True
    kms = moto_client(moto, "kms")
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
    assert kms.describe_key(KeyId=f"alias/{BUCKET}")["KeyMetadata"]["Arn"] == key_arn

    rules = {rule["ID"]: rule for rule in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert all(rule["Status"] == "Enabled" for rule in rules.values())
    expiry_by_prefix = {r["Filter"]["Prefix"]: r["Expiration"].get("Days") for r in rules.values() if "Expiration" in r}
    assert expiry_by_prefix == {"daily/": 30, "hourly/": 7, "": None}, "daily 30 d, hourly 7 d, managed/ left to barman"
    cleanup = rules["noncurrent-versions-and-incomplete-uploads"]
    assert cleanup["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert cleanup["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert cleanup["Expiration"] == {"ExpiredObjectDeleteMarker": True}

    logging_status = s3.get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"]
    assert logging_status == {"TargetBucket": LOG_BUCKET, "TargetPrefix": ACCESS_LOG_PREFIX}

    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    tls = [s for s in policy["Statement"] if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool")]
    assert tls and tls[0]["Condition"]["Bool"] == {"aws:SecureTransport": "false"}
    assert tls[0]["Action"] == "s3:*" and tls[0]["Principal"] == "*"
    assert set(tls[0]["Resource"]) == {f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"}
    assert s3.get_bucket_policy_status(Bucket=BUCKET)["PolicyStatus"]["IsPublic"] is False

    if object_lock:
        lock = s3.get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]
        retention = lock["Rule"]["DefaultRetention"]
        assert lock["ObjectLockEnabled"] == "Enabled"
        assert (retention["Mode"], retention["Days"], retention.get("Years", 0)) == ("GOVERNANCE", 30, 0)
    else:
        with pytest.raises(ClientError, match="ObjectLockConfigurationNotFound"):
            s3.get_object_lock_configuration(Bucket=BUCKET)


def test_log_bucket_is_hardened_and_grants_only_log_delivery(mock_runtime, moto):
    """X-16: the audit trail bucket is private, versioned, SSE-S3 (what S3 logging supports), TLS-only."""
    s3, _, _ = replay_all(moto, register(mock_runtime))

    assert s3.get_public_access_block(Bucket=LOG_BUCKET)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3.get_bucket_versioning(Bucket=LOG_BUCKET)["Status"] == "Enabled"
    (sse,) = s3.get_bucket_encryption(Bucket=LOG_BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    ownership = s3.get_bucket_ownership_controls(Bucket=LOG_BUCKET)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=LOG_BUCKET)["Rules"]
    assert rule["Expiration"] == {"Days": 365} and rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30

    statements = json.loads(s3.get_bucket_policy(Bucket=LOG_BUCKET)["Policy"])["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allows] == [{"Service": "logging.s3.amazonaws.com"}]
    assert allows[0]["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:s3:::{BUCKET}"}
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    assert s3.get_bucket_policy_status(Bucket=LOG_BUCKET)["PolicyStatus"]["IsPublic"] is False


# --- IAM: IRSA roles -------------------------------------------------------------------------


def replay_roles(endpoint: str, monitor: RecordingMonitor) -> dict[str, dict[str, str]]:
    """Create the OIDC provider and every registered role with its inline policy; role name -> credentials."""
    iam, sts = moto_client(endpoint, "iam"), moto_client(endpoint, "sts")
    provider = iam.create_open_id_connect_provider(
        Url=CLUSTER_STACK_OUTPUTS["oidcIssuerUrl"], ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0" * 40]
    )
    assert provider["OpenIDConnectProviderArn"] == CLUSTER_STACK_OUTPUTS["oidcProviderArn"]
    # A RolePolicy's `role` is the role's id, which is its name.
    policies = {
        r.inputs["role"]: r.inputs["policy"] for r in monitor.registrations if r.type == "aws:iam/rolePolicy:RolePolicy"
    }
    credentials = {}
    for role in (r for r in monitor.registrations if r.type == "aws:iam/role:Role"):
        name = role.inputs["name"]
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=role.inputs["assumeRolePolicy"])["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="backup-access", PolicyDocument=policies[name])
        issued = sts.assume_role_with_web_identity(
            RoleArn=arn, RoleSessionName=f"{name}-session", WebIdentityToken="projected-service-account-token"
        )["Credentials"]
        credentials[name] = {
            "aws_access_key_id": issued["AccessKeyId"],
            "aws_secret_access_key": issued["SecretAccessKey"],
            "aws_session_token": issued["SessionToken"],
        }
    assert not iam.list_users()["Users"], "no IAM users: IRSA only"
    return credentials


def test_roles_reach_only_their_prefixes_and_never_destroy(mock_runtime, moto):
    """X-12, X-16: each IRSA role works on its own prefixes only; only the WAL archiver prunes, never versions."""
    monitor = register(mock_runtime)
    # The backup bucket's policy stays off: moto would apply its Deny statements without their Conditions.
    s3, _, _ = replay_all(moto, monitor)
    credentials = replay_roles(moto, monitor)
    for key in ("daily/db/seed", "daily/other/seed", "managed/db/seed", "managed/other/seed"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"seed")
    seed_version = s3.head_object(Bucket=BUCKET, Key="managed/db/seed")["VersionId"]
    writer = moto_client(moto, "s3", credentials[DUMP_WRITER.role_name])
    reader = moto_client(moto, "s3", credentials[RESTORE_READER.role_name])
    archiver = moto_client(moto, "s3", credentials[WAL_ARCHIVER.role_name])

    with iam_enforced(moto):
        for key in ("daily/db/new", "hourly/db/new"):
            assert not denied(lambda key=key: writer.put_object(Bucket=BUCKET, Key=key, Body=b"x"))
        assert not denied(lambda: writer.get_object(Bucket=BUCKET, Key="daily/db/seed"))
        assert not denied(lambda: writer.list_objects_v2(Bucket=BUCKET, Prefix="daily/db/"))
        assert denied(lambda: writer.put_object(Bucket=BUCKET, Key="daily/other/new", Body=b"x"))
        assert denied(lambda: writer.put_object(Bucket=BUCKET, Key="managed/db/new", Body=b"x"))
        assert denied(lambda: writer.get_object(Bucket=BUCKET, Key="daily/other/seed"))
        assert denied(lambda: writer.delete_object(Bucket=BUCKET, Key="daily/db/seed"))

        assert not denied(lambda: reader.get_object(Bucket=BUCKET, Key="daily/db/seed"))
        assert denied(lambda: reader.get_object(Bucket=BUCKET, Key="daily/other/seed"))
        assert denied(lambda: reader.put_object(Bucket=BUCKET, Key="daily/db/new2", Body=b"x"))
        assert denied(lambda: reader.delete_object(Bucket=BUCKET, Key="daily/db/seed"))

        assert not denied(lambda: archiver.put_object(Bucket=BUCKET, Key="managed/db/wal/000001", Body=b"x"))
        assert not denied(lambda: archiver.get_object(Bucket=BUCKET, Key="managed/db/wal/000001"))
        assert not denied(lambda: archiver.delete_object(Bucket=BUCKET, Key="managed/db/seed"))
        assert denied(lambda: archiver.delete_object(Bucket=BUCKET, Key="managed/other/seed"))
        assert denied(lambda: archiver.delete_object(Bucket=BUCKET, Key="managed/db/seed", VersionId=seed_version))
        assert denied(lambda: archiver.put_object(Bucket=BUCKET, Key="daily/db/new3", Body=b"x"))

    # The archiver's delete only hid the object: its data is still there as a noncurrent version.
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix="managed/db/seed")
    assert [v["VersionId"] for v in versions["Versions"]] == [seed_version]
    assert len(versions["DeleteMarkers"]) == 1


def _statement_allowing(policy: dict, action: str) -> list[dict]:
    def actions(statement):
        return {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])

    return [s for s in policy["Statement"] if s["Effect"] == "Allow" and action in actions(s)]


def _may_list(policy: dict, prefix: str | None) -> bool:
    """IAM semantics of ListBucket with an optional `s3:prefix` StringLike condition (absent key: no match)."""
    for statement in _statement_allowing(policy, "s3:ListBucket"):
        patterns = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        if patterns is None or (prefix is not None and any(fnmatchcase(prefix, p) for p in patterns)):
            return True
    return False


def _trusts(trust: dict, claims: dict[str, str]) -> bool:
    """IAM semantics of the web-identity trust: every StringEquals key must equal the token's claim."""
    (statement,) = trust["Statement"]
    expected = statement["Condition"]["StringEquals"]
    return statement["Action"] == "sts:AssumeRoleWithWebIdentity" and all(
        claims.get(key.removeprefix(f"{ISSUER_HOST}:")) == value for key, value in expected.items()
    )


def test_condition_semantics_moto_does_not_evaluate(mock_runtime):
    """X-16: listing is prefix-scoped (except barman's documented HeadBucket need); trust is per ServiceAccount."""
    registrations = register(mock_runtime).registrations
    policies = {
        r.name.removeprefix("backups-").removesuffix("-access"): json.loads(r.inputs["policy"])
        for r in registrations
        if r.type == "aws:iam/rolePolicy:RolePolicy"
    }
    writer = policies[DUMP_WRITER.role_name]
    assert _may_list(writer, "daily/db/2026-11-22/") and _may_list(writer, "hourly/db/")
    assert not _may_list(writer, "daily/other/") and not _may_list(writer, "") and not _may_list(writer, None)
    reader = policies[RESTORE_READER.role_name]
    assert _may_list(reader, "daily/db/") and not _may_list(reader, "hourly/db/")
    assert _may_list(policies[WAL_ARCHIVER.role_name], None), "barman-cloud's HeadBucket needs unscoped ListBucket"

    trusts = {
        r.inputs["name"]: json.loads(r.inputs["assumeRolePolicy"])
        for r in registrations
        if r.type == "aws:iam/role:Role"
    }
    for grant in GRANTS:
        own = {"sub": f"system:serviceaccount:{grant.namespace}:{grant.service_account}", "aud": "sts.amazonaws.com"}
        assert _trusts(trusts[grant.role_name], own)
        assert not _trusts(trusts[grant.role_name], {**own, "sub": "system:serviceaccount:db:default"})
        assert not _trusts(trusts[grant.role_name], {**own, "aud": "https://kubernetes.default.svc"})


# --- the CI deploy role against locked backups ----------------------------------------------------------------


def deploy_role_credentials(endpoint: str) -> dict[str, str]:
    """The deploy role as .github/iam defines it (placeholders filled as `envsubst` would), assumed in moto.

    Moto ignores Conditions, so a conditional Deny would act as an unconditional one: those stay out here."""
    text = string.Template((ROOT / ".github" / "iam" / "deploy-permissions.json").read_text()).substitute(
        AWS_ACCOUNT_ID="123456789012", AWS_REGION=MOTO_REGION, STACK="prod", BACKUP_BUCKET=BUCKET, EKS_CLUSTER="eks"
    )
    document = json.loads(text)
    document["Statement"] = [s for s in document["Statement"] if not (s["Effect"] == "Deny" and "Condition" in s)]
    iam, sts = moto_client(endpoint, "iam"), moto_client(endpoint, "sts")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}],
    }
    arn = iam.create_role(RoleName="ai-platform-prod-deploy", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="ai-platform-prod-deploy", PolicyName="deploy", PolicyDocument=json.dumps(document))
    # What a compromised role could grant itself by rewriting the bucket policy (it may PutBucketPolicy). Moto
    # evaluates identity policies only, so the grant sits here; IAM weighs an Allow from either side the same,
    # and an explicit Deny beats both.
    grab = {"Effect": "Allow", "Action": ["s3:DeleteObject*", "s3:GetObject*"], "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    iam.put_role_policy(
        RoleName="ai-platform-prod-deploy",
        PolicyName="as-if-granted-by-a-bucket-policy",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [grab]}),
    )
    issued = sts.assume_role(RoleArn=arn, RoleSessionName="github-actions")["Credentials"]
    return {
        "aws_access_key_id": issued["AccessKeyId"],
        "aws_secret_access_key": issued["SecretAccessKey"],
        "aws_session_token": issued["SessionToken"],
    }


def test_the_deploy_role_cannot_remove_locked_backups(mock_runtime, moto):
    """X-09, X-12: a compromised deploy role manages the bucket but deletes no backup; the lock holds for all."""
    s3, _, _ = replay_all(moto, register(mock_runtime, object_lock=ObjectLock("COMPLIANCE", 30)))
    key = "daily/db/2026-11-20T02:30:00Z/db.dump"
    version = s3.put_object(Bucket=BUCKET, Key=key, Body=b"dump")["VersionId"]
    assert s3.head_object(Bucket=BUCKET, Key=key)["ObjectLockMode"] == "COMPLIANCE"
    deployer = moto_client(moto, "s3", deploy_role_credentials(moto))

    with iam_enforced(moto):
        assert denied(lambda: deployer.delete_object(Bucket=BUCKET, Key=key, VersionId=version))
        assert denied(
            lambda: deployer.delete_object(Bucket=BUCKET, Key=key, VersionId=version, BypassGovernanceRetention=True)
        )
        assert denied(lambda: deployer.delete_object(Bucket=BUCKET, Key=key))
        # What the program needs still works, an aggressive lifecycle included: it cannot touch locked versions.
        assert not denied(
            lambda: deployer.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        )
        expire_now = {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}
        assert not denied(
            lambda: deployer.put_bucket_lifecycle_configuration(
                Bucket=BUCKET, LifecycleConfiguration={"Rules": [expire_now]}
            )
        )

    # Not even the account's administrator removes a version inside its COMPLIANCE retention.
    assert denied(lambda: s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version, BypassGovernanceRetention=True))
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]] == [version]
