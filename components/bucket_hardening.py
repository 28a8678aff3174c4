"""What every backup bucket carries (the stack's bucket and its cross-region replica), and the policy documents.

Each bucket gets default encryption, versioning, all four public access blocks, owner-enforced ownership
(ACLs off), a lifecycle, a bucket policy (after the public access block: S3 rejects concurrent changes of the
two) and, when asked, object lock. Every one of them guards the data, so callers pass options that protect
and retain them in prod (X-08, X-12).

Object lock is switched on by `BucketObjectLockConfiguration` (PutObjectLockConfiguration) alone, never by the
bucket's `objectLockEnabled` input, which forces a new bucket: S3 enables object lock on an existing bucket
once versioning is on, and pulumi-aws v7 documents the resource for new and existing buckets. Adding a lock
to a deployed bucket therefore changes no input of the bucket.

The customer-managed key's policy keeps administration and use apart: the account (its root principal, so
IAM policies may delegate these actions, e.g. to the deploy role) may administer the key but never encrypt,
decrypt or grant; only the named writers and readers use it, and only through S3.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

# Everything an administrator needs, nothing that touches data: no Encrypt/Decrypt/ReEncrypt/GenerateDataKey,
# and no CreateGrant (a grant would let an administrator hand itself decryption).
KEY_ADMIN_ACTIONS = (
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:ListKeyRotations",
    "kms:RotateKeyOnDemand",
    "kms:ListResourceTags",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ListGrants",
    "kms:RevokeGrant",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:UpdateKeyDescription",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
)
KEY_WRITE_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")
KEY_READ_ACTIONS = ("kms:Decrypt",)


@dataclass(frozen=True)
class ObjectLock:
    """Default object-lock retention for new object versions (WORM)."""

    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    """GOVERNANCE can be bypassed with s3:BypassGovernanceRetention; COMPLIANCE cannot, not even by root."""
    days: int
    """How long each new object version stays locked."""

    def __post_init__(self) -> None:
        if self.mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise ValueError(f"object lock mode must be GOVERNANCE or COMPLIANCE, got {self.mode!r}")
        if self.days < 1:
            raise ValueError(f"object lock days must be >= 1, got {self.days}")


# --- resources ---------------------------------------------------------------------------------------------


def harden(
    name: str, bucket: aws.s3.Bucket, encryption: list[dict[str, Any]], opts: pulumi.ResourceOptions
) -> tuple[aws.s3.BucketVersioning, aws.s3.BucketPublicAccessBlock]:
    """Default encryption, versioning, public access block and owner-enforced ownership (ACLs off)."""
    aws.s3.BucketServerSideEncryptionConfiguration(f"{name}-encryption", bucket=bucket.id, rules=encryption, opts=opts)
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=opts
    )
    public_access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
    )
    return versioning, public_access_block


def lifecycle(
    name: str,
    bucket: aws.s3.Bucket,
    rules: Sequence[Mapping[str, Any]],
    versioning: aws.s3.BucketVersioning,
    opts: pulumi.ResourceOptions,
) -> aws.s3.BucketLifecycleConfiguration:
    # Noncurrent-version rules only mean something once versioning is on.
    return aws.s3.BucketLifecycleConfiguration(
        name, bucket=bucket.id, rules=list(rules), opts=pulumi.ResourceOptions.merge(opts, _after(versioning))
    )


def bucket_policy(
    name: str,
    bucket: aws.s3.Bucket,
    document: pulumi.Output[dict[str, Any]],
    public_access_block: aws.s3.BucketPublicAccessBlock,
    opts: pulumi.ResourceOptions,
) -> aws.s3.BucketPolicy:
    return aws.s3.BucketPolicy(
        name,
        bucket=bucket.id,
        policy=document.apply(json.dumps),
        opts=pulumi.ResourceOptions.merge(opts, _after(public_access_block)),
    )


def object_lock(
    name: str,
    bucket: aws.s3.Bucket,
    lock: ObjectLock,
    versioning: aws.s3.BucketVersioning,
    opts: pulumi.ResourceOptions,
) -> aws.s3.BucketObjectLockConfiguration:
    """Object lock with LOCK as the default retention; on an existing bucket S3 needs versioning on first."""
    return aws.s3.BucketObjectLockConfiguration(
        name,
        bucket=bucket.id,
        object_lock_enabled="Enabled",
        rule={"default_retention": {"mode": lock.mode, "days": lock.days}},
        opts=pulumi.ResourceOptions.merge(opts, _after(versioning)),
    )


def _after(resource: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(depends_on=[resource])


# --- documents ---------------------------------------------------------------------------------------------


def kms_encryption(key_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    # Bucket keys cut KMS requests (and cost) by caching a bucket-level data key.
    return [
        {
            "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key_arn},
            "bucket_key_enabled": True,
        }
    ]


def sse_s3_encryption() -> list[dict[str, Any]]:
    return [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]


def tls_only_statement(bucket_arn: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def guarded_bucket_policy(bucket_arn: str, operator_role_arn: str | None) -> dict[str, Any]:
    """TLS only, KMS uploads only, and nobody but the operator role deletes versions or the bucket."""
    statements = [tls_only_statement(bucket_arn), _deny_non_kms_uploads(bucket_arn)]
    statements.append(_deny_destruction(bucket_arn, operator_role_arn))
    if operator_role_arn:
        statements.append(
            {
                "Sid": "OperatorMayDelete",
                "Effect": "Allow",
                "Principal": {"AWS": operator_role_arn},
                "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
                "Resource": f"{bucket_arn}/*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _deny_destruction(bucket_arn: str, operator_role_arn: str | None) -> dict[str, Any]:
    # Losing a backup takes deleting its versions, bypassing a GOVERNANCE lock, or deleting the bucket: only
    # the operator role may. A plain delete only adds a delete marker; the data stays as a noncurrent version.
    statement: dict[str, Any] = {
        "Sid": "DenyVersionAndBucketDeletion",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:DeleteBucket"],
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
    }
    if operator_role_arn:
        statement["Condition"] = {"ArnNotEquals": {"aws:PrincipalArn": operator_role_arn}}
    return statement


def _deny_non_kms_uploads(bucket_arn: str) -> dict[str, Any]:
    # Uploads that name another algorithm (e.g. SSE-S3) would bypass the customer-managed key. An upload that
    # names none gets the bucket's default encryption, this key: Elasticsearch's S3 repository cannot send
    # `aws:kms` (its only choice is AES256), so header-less uploads stay allowed (S2-05).
    return {
        "Sid": "DenyNonKmsUploads",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": {
            "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
            "Null": {"s3:x-amz-server-side-encryption": "false"},
        },
    }


def key_policy(account_root: str, region: str, writers: Sequence[str], readers: Sequence[str]) -> dict[str, Any]:
    """A key that ACCOUNT_ROOT administers and only WRITERS and READERS use, through S3 in REGION."""
    through_s3 = {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministersNeverUses",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": list(KEY_ADMIN_ACTIONS),
            "Resource": "*",
        }
    ]
    for sid, principals, actions in (
        ("WritersEncryptThroughS3", writers, KEY_WRITE_ACTIONS),
        ("ReadersDecryptThroughS3", readers, KEY_READ_ACTIONS),
    ):
        if principals:
            statements.append(
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"AWS": sorted(set(principals))},
                    "Action": list(actions),
                    "Resource": "*",
                    "Condition": through_s3,
                }
            )
    return {"Version": "2012-10-17", "Statement": statements}
