"""BackupReplica: a copy of the backup bucket in another region, guarded like the original (X-08, X-09, S3-11).

Owns, in the replica's region (the AWS provider the caller gives it): its own customer-managed KMS key and
the bucket `<source>-replica` with the same encryption, versioning, public access block, ownership, lifecycle,
guarded policy and object lock as the source. The replication role and rule belong to the source bucket (S3
assumes the role on the source's behalf, and the source key names it as a reader): BackupBucket declares them
with `replication_role` and `replicate` below.

The replication role may read object versions (with their retention and legal holds) from the source, write
replicas into this bucket, decrypt with the source key and encrypt with the replica key, each through S3 only,
and nothing else. Delete markers are replicated (barman's pruning of `managed/` is mirrored as markers), never
version deletions: a version deleted or expired in the source stays here until its own lifecycle and lock
allow it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.bucket_hardening import (
    ObjectLock,
    bucket_policy,
    guarded_bucket_policy,
    harden,
    key_policy,
    kms_encryption,
    lifecycle,
    object_lock,
)


@dataclass(frozen=True)
class BackupReplicaArgs:
    """Where the copy goes and how it is kept."""

    source_bucket_arn: pulumi.Input[str]
    source_key_arn: pulumi.Input[str]
    source_region: pulumi.Input[str]
    bucket_name: str
    """The replica bucket's name (globally unique)."""
    region: str
    """The replica's region; must differ from the source's (and be the provider's)."""
    replication_role_arn: pulumi.Input[str]
    """The role S3 replicates with: the only writer of the replica key."""
    lifecycle_rules: Sequence[Mapping[str, Any]]
    """The replica's lifecycle: the source's rules (S3 replicates no lifecycle expiry)."""
    object_lock: ObjectLock | None = None
    """The source's object lock, matched here (S3 replicates retention only into a locked bucket)."""
    operator_role_arn: pulumi.Input[str] | None = None
    """Break-glass role: the only one that may delete versions here, and a reader of the replica key."""
    protect: bool = True
    retain_on_delete: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.source_region, str) and self.region == self.source_region:
            raise ValueError(f"BackupReplicaArgs: the replica must be in another region than {self.source_region}")


class BackupReplica(pulumi.ComponentResource):
    """The replica bucket and its key."""

    bucket_arn: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    dependencies: list[pulumi.Resource]
    """What the source's replication rule must wait for (S3 checks versioning and the lock of the destination)."""

    def __init__(self, name: str, args: BackupReplicaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:backup_replica:BackupReplica", name, None, opts)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))

        readers = [args.operator_role_arn] if args.operator_role_arn is not None else []
        partition = identity.arn.apply(lambda arn: arn.split(":")[1])
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the backup replicas in s3://{args.bucket_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(
                pulumi.Output.concat("arn:", partition, ":iam::", identity.account_id, ":root"),
                args.replication_role_arn,
                pulumi.Output.all(*readers),
            ).apply(lambda values: json.dumps(key_policy(values[0], args.region, [values[1]], values[2]))),
            tags={**args.tags, "Name": f"{args.bucket_name}-key"},
            opts=stateful,
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{args.bucket_name}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        bucket = aws.s3.Bucket(
            f"{name}-bucket", bucket=args.bucket_name, tags={**args.tags, "Name": args.bucket_name}, opts=stateful
        )
        versioning, public_access_block = harden(f"{name}-bucket", bucket, kms_encryption(key.arn), stateful)
        lifecycle(f"{name}-lifecycle", bucket, args.lifecycle_rules, versioning, stateful)
        policy = pulumi.Output.all(bucket.arn, args.operator_role_arn).apply(
            lambda values: guarded_bucket_policy(*values)
        )
        bucket_policy(f"{name}-policy", bucket, policy, public_access_block, stateful)
        self.dependencies = [versioning]
        if args.object_lock:
            self.dependencies.append(object_lock(f"{name}-object-lock", bucket, args.object_lock, versioning, stateful))

        self.bucket_arn, self.bucket_name = bucket.arn, bucket.bucket
        self.kms_key_arn = key.arn
        self.register_outputs({"bucketName": self.bucket_name, "kmsKeyArn": self.kms_key_arn})


def replication_role(
    name: str,
    role_name: str,
    account_id: pulumi.Input[str],
    source_bucket_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.iam.Role:
    """The role S3 assumes to replicate SOURCE_BUCKET_ARN (its permissions come with `replicate`)."""
    return aws.iam.Role(
        name,
        name=role_name,
        description="S3 replication of the backups into another region",
        assume_role_policy=pulumi.Output.all(account_id, source_bucket_arn).apply(
            lambda values: json.dumps(_replication_trust(*values))
        ),
        opts=opts,
    )


def replicate(
    name: str,
    source: aws.s3.Bucket,
    source_key_arn: pulumi.Input[str],
    source_versioning: aws.s3.BucketVersioning,
    role: aws.iam.Role,
    replica: BackupReplica,
    args: BackupReplicaArgs,
    opts: pulumi.ResourceOptions,
) -> aws.s3.BucketReplicationConfig:
    """The replication role's permissions and the source's rule: every new version, delete markers included."""
    role_policy = aws.iam.RolePolicy(
        f"{name}-role-access",
        role=role.id,
        policy=pulumi.Output.all(
            source_bucket_arn=source.arn,
            source_key_arn=source_key_arn,
            replica_bucket_arn=replica.bucket_arn,
            replica_key_arn=replica.kms_key_arn,
            source_region=args.source_region,
        ).apply(lambda arns: json.dumps(replication_policy(**arns, replica_region=args.region))),
        opts=pulumi.ResourceOptions(parent=opts.parent),
    )
    return aws.s3.BucketReplicationConfig(
        name,
        bucket=source.id,
        role=role.arn,
        rules=[
            {
                "id": "backups-to-another-region",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "delete_marker_replication": {"status": "Enabled"},
                "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                "destination": {
                    "bucket": replica.bucket_arn,
                    "storage_class": "STANDARD",
                    "encryption_configuration": {"replica_kms_key_id": replica.kms_key_arn},
                },
            }
        ],
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[source_versioning, role_policy, *replica.dependencies])
        ),
    )


def _replication_trust(account_id: str, source_bucket_arn: str) -> dict[str, Any]:
    # Only S3, and only on behalf of the source bucket of this account (no confused deputy).
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": source_bucket_arn},
                },
            }
        ],
    }


def replication_policy(
    source_bucket_arn: str,
    source_key_arn: str,
    replica_bucket_arn: str,
    replica_key_arn: str,
    source_region: str,
    replica_region: str,
) -> dict[str, Any]:
    """Least privilege of S3 replication between two SSE-KMS buckets with bucket keys and object lock."""

    def through_s3(region: str, bucket_arn: str) -> dict[str, Any]:
        # With bucket keys, S3 asks KMS with the bucket's ARN as encryption context (objects' ARNs without).
        return {
            "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
            "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, f"{bucket_arn}/*"]},
        }

    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSourceConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": source_bucket_arn,
            },
            {
                "Sid": "ReadSourceVersions",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                    "s3:GetObjectRetention",
                    "s3:GetObjectLegalHold",
                ],
                "Resource": f"{source_bucket_arn}/*",
            },
            {
                "Sid": "WriteReplicas",
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                "Resource": f"{replica_bucket_arn}/*",
            },
            {
                "Sid": "DecryptSource",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": source_key_arn,
                "Condition": through_s3(source_region, source_bucket_arn),
            },
            {
                "Sid": "EncryptReplicas",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": replica_key_arn,
                "Condition": through_s3(replica_region, replica_bucket_arn),
            },
        ],
    }
