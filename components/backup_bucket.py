"""BackupBucket: one private, encrypted, versioned S3 bucket for a stack's backups, and who may use it.

Owns a customer-managed KMS key (SSE-KMS with bucket keys) whose policy names who administers it and who
uses it, the bucket's versioning, lifecycle, public access block, ownership controls and TLS-only policy, a
separate access-log bucket, optional object lock (switched on in place, see components/bucket_hardening.py),
and one IAM role per access grant, assumed through IRSA (no users, no access keys; the grants and their
policies: components/backup_access.py).

Key layout: `<retention class>/<owner>/...` (see `backup_prefix`), because S3 lifecycle rules
select objects by key prefix: `daily/` and `hourly/` expire by lifecycle; `managed/` is left to
the writing tool's own retention (barman-cloud's `retentionPolicy`), since expiring a base backup's
WAL files behind barman's back breaks point-in-time recovery.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.backup_access import AccessGrant, grant_policy, irsa_trust_policy
from components.backup_replica import BackupReplica, BackupReplicaArgs, replicate, replication_role
from components.bucket_hardening import (
    ObjectLock,
    bucket_policy,
    guarded_bucket_policy,
    harden,
    key_policy,
    kms_encryption,
    lifecycle,
    object_lock,
    sse_s3_encryption,
    tls_only_statement,
)
from components.kube import IRSA_ANNOTATION

RetentionClass = Literal["daily", "hourly", "managed"]
DAILY: RetentionClass = "daily"
HOURLY: RetentionClass = "hourly"
MANAGED: RetentionClass = "managed"

ACCESS_LOG_PREFIX = "s3-access-logs/"
BACKUP_WINDOW_DAYS = 30
"""How far back the backups reach (X-09): daily dumps, base backups and WAL are kept this many days."""

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def backup_prefix(retention_class: RetentionClass, owner: str) -> str:
    """Key prefix for OWNER's backups of RETENTION_CLASS, e.g. `daily/<owner>/`."""
    if retention_class not in (DAILY, HOURLY, MANAGED):
        raise ValueError(f"retention class must be one of daily, hourly, managed, got {retention_class!r}")
    if not owner.strip("/"):
        raise ValueError("owner must not be empty")
    return f"{retention_class}/{owner.strip('/')}/"


@dataclass(frozen=True)
class ReplicaTarget:
    """A copy of the bucket in another region (`<bucket_name>-replica`)."""

    region: str
    """The replica's region."""
    provider: pulumi.ProviderResource
    """AWS provider of that region."""
    role_name: str
    """Name of the IAM role S3 replicates with (unique in the account)."""


@dataclass(frozen=True)
class BackupBucketArgs:
    """The bucket, its retention, and who may reach it."""

    bucket_name: str
    """Globally unique S3 bucket name."""
    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider (from the cluster stack)."""
    oidc_issuer_url: pulumi.Input[str]
    """The cluster's OIDC issuer URL, `https://oidc.eks.<region>.amazonaws.com/id/<id>`."""
    grants: Sequence[AccessGrant] = ()
    """One IAM role per grant."""
    daily_retention_days: int = BACKUP_WINDOW_DAYS
    """Objects under `daily/` expire after this many days."""
    hourly_retention_days: int = 7
    """Objects under `hourly/` (incremental backups) expire after this many days."""
    noncurrent_version_days: int = 30
    """Overwritten or deleted versions are kept this long: the undo window for a bad delete."""
    abort_multipart_days: int = 7
    """Incomplete multipart uploads are aborted after this many days."""
    log_bucket_name: str | None = None
    """Access-log bucket name; defaults to `<bucket_name>-logs`."""
    log_retention_days: int = 365
    """Access logs (the audit trail of reads and writes) expire after this many days."""
    object_lock: ObjectLock | None = None
    """Object lock (WORM) as the default retention of every new version; at least `daily_retention_days`."""
    operator_role_arn: pulumi.Input[str] | None = None
    """The only principal allowed to delete object versions or the bucket (break-glass), and a reader of the
    key (manual restores); None: nobody."""
    replica: ReplicaTarget | None = None
    """Cross-region replication of every new version, with the same guards and lock; None: no copy."""
    protect: bool = True
    """Protect the buckets and the KMS key against `pulumi destroy` and replacement."""
    retain_on_delete: bool = True
    """Keep the buckets and the KMS key in AWS when they leave the program."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags (the provider's default tags apply too)."""

    def __post_init__(self) -> None:
        derived = [self.resolved_log_bucket_name] + ([self.replica_bucket_name] if self.replica else [])
        for bucket in (self.bucket_name, *derived):
            if not _BUCKET_NAME.match(bucket) or ".." in bucket:
                raise ValueError(f"{bucket!r} is not a valid S3 bucket name (3-63 of a-z 0-9 . -)")
        days = {
            "daily_retention_days": self.daily_retention_days,
            "hourly_retention_days": self.hourly_retention_days,
            "noncurrent_version_days": self.noncurrent_version_days,
            "abort_multipart_days": self.abort_multipart_days,
            "log_retention_days": self.log_retention_days,
        }
        too_small = {key: value for key, value in days.items() if value < 1}
        if too_small:
            raise ValueError(f"retention days must be >= 1: {too_small}")
        if self.object_lock and self.object_lock.days < self.daily_retention_days:
            raise ValueError(
                f"object lock of {self.object_lock.days} days is shorter than the {self.daily_retention_days}-day "
                "backup window: backups would become deletable before they expire"
            )
        names = [grant.role_name for grant in self.grants]
        if len(names) != len(set(names)):
            raise ValueError(f"grant role names must be unique, got {names}")

    @property
    def resolved_log_bucket_name(self) -> str:
        return self.log_bucket_name or f"{self.bucket_name}-logs"

    @property
    def replica_bucket_name(self) -> str:
        return f"{self.bucket_name}-replica"

    def expiring_classes(self) -> dict[RetentionClass, int]:
        """Retention class -> days after which lifecycle expires its objects (`managed` is absent)."""
        return {DAILY: self.daily_retention_days, HOURLY: self.hourly_retention_days}


class BackupBucket(pulumi.ComponentResource):
    """A private SSE-KMS backup bucket with lifecycle retention, access logs and IRSA roles."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    log_bucket_name: pulumi.Output[str]
    role_arns: dict[str, pulumi.Output[str]]
    """Grant role name -> IAM role ARN."""
    bucket: aws.s3.Bucket
    """The bucket resource, for `depends_on`."""
    replica_bucket_name: pulumi.Output[str] | None = None
    """The cross-region copy; None without replication."""

    def __init__(self, name: str, args: BackupBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:backup_bucket:BackupBucket", name, None, opts)
        # The key, both buckets and every setting that guards the data (encryption, versioning, public access
        # block, ownership, lifecycle, policy, object lock): a rename or refactor must never delete them.
        self._stateful = pulumi.ResourceOptions(
            parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete
        )

        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        # Roles first: the key policy names them, and their own policies name the key.
        roles = {grant.role_name: self._irsa_role(f"{name}-{grant.role_name}", args, grant) for grant in args.grants}
        writers = [roles[g.role_name].arn for g in args.grants if g.access == "write"]
        readers = [roles[g.role_name].arn for g in args.grants if g.access == "read"]
        if args.operator_role_arn is not None:
            readers.append(pulumi.Output.from_input(args.operator_role_arn))
        # No `object_lock_enabled` here: it would force a new bucket; `object_lock` below enables it in place.
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket", bucket=args.bucket_name, tags=_tags(args, args.bucket_name), opts=self._stateful
        )
        replication = None
        if args.replica:
            replication = replication_role(
                f"{name}-replication-role",
                args.replica.role_name,
                identity.account_id,
                self.bucket.arn,
                pulumi.ResourceOptions(parent=self),
            )
            readers.append(replication.arn)  # S3 decrypts the source's versions as this role
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the backups in s3://{args.bucket_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=_key_policy(identity, region, writers, readers),
            tags=_tags(args, f"{args.bucket_name}-key"),
            opts=self._stateful,
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{args.bucket_name}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        log_bucket = aws.s3.Bucket(
            f"{name}-logs",
            bucket=args.resolved_log_bucket_name,
            tags=_tags(args, args.resolved_log_bucket_name),
            opts=self._stateful,
        )

        versioning, public_access_block = harden(f"{name}-bucket", self.bucket, kms_encryption(key.arn), self._stateful)
        lifecycle(f"{name}-lifecycle", self.bucket, _backup_lifecycle_rules(args), versioning, self._stateful)
        policy = pulumi.Output.all(self.bucket.arn, args.operator_role_arn).apply(
            lambda values: guarded_bucket_policy(*values)
        )
        bucket_policy(f"{name}-policy", self.bucket, policy, public_access_block, self._stateful)
        if args.object_lock:
            object_lock(f"{name}-object-lock", self.bucket, args.object_lock, versioning, self._stateful)
        if args.replica and replication:
            self._replicate(name, args, args.replica, replication, region, key.arn, versioning)

        # S3 server access logging can only deliver to a bucket encrypted with SSE-S3.
        log_versioning, log_public_access_block = harden(
            f"{name}-logs", log_bucket, sse_s3_encryption(), self._stateful
        )
        lifecycle(f"{name}-logs-lifecycle", log_bucket, [_log_lifecycle_rule(args)], log_versioning, self._stateful)
        log_policy = bucket_policy(
            f"{name}-logs-policy",
            log_bucket,
            _log_bucket_policy(log_bucket.arn, self.bucket.arn, identity.account_id),
            log_public_access_block,
            self._stateful,
        )
        aws.s3.BucketLogging(
            f"{name}-logging",
            bucket=self.bucket.id,
            target_bucket=log_bucket.id,
            target_prefix=ACCESS_LOG_PREFIX,
            opts=pulumi.ResourceOptions.merge(self._stateful, pulumi.ResourceOptions(depends_on=[log_policy])),
        )

        for grant in args.grants:
            self._grant_access(f"{name}-{grant.role_name}", grant, roles[grant.role_name], key.arn)
        self.role_arns = {role_name: role.arn for role_name, role in roles.items()}
        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.kms_key_arn = key.arn
        self.log_bucket_name = log_bucket.bucket
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "kmsKeyArn": self.kms_key_arn,
                "logBucketName": self.log_bucket_name,
                "roleArns": self.role_arns,
            }
        )

    def service_account_annotations(self, role_name: str) -> dict[str, pulumi.Output[str]]:
        """Annotations binding a ServiceAccount to the IRSA role of grant ROLE_NAME."""
        return {IRSA_ANNOTATION: self.role_arns[role_name]}

    def s3_url(self, prefix: str) -> pulumi.Output[str]:
        """`s3://<bucket>/<prefix>`, e.g. a barman-cloud `destinationPath`."""
        return pulumi.Output.concat("s3://", self.bucket_name, "/", prefix)

    def _replicate(
        self,
        name: str,
        args: BackupBucketArgs,
        target: ReplicaTarget,
        role: aws.iam.Role,
        region: pulumi.Output[str],
        key_arn: pulumi.Output[str],
        versioning: aws.s3.BucketVersioning,
    ) -> None:
        replica_args = BackupReplicaArgs(
            source_bucket_arn=self.bucket.arn,
            source_key_arn=key_arn,
            source_region=region,
            bucket_name=args.replica_bucket_name,
            region=target.region,
            replication_role_arn=role.arn,
            lifecycle_rules=_backup_lifecycle_rules(args),
            object_lock=args.object_lock,
            operator_role_arn=args.operator_role_arn,
            protect=args.protect,
            retain_on_delete=args.retain_on_delete,
            tags=args.tags,
        )
        replica = BackupReplica(
            f"{name}-replica", replica_args, pulumi.ResourceOptions(parent=self, provider=target.provider)
        )
        self.replica_bucket_name = replica.bucket_name
        replicate(f"{name}-replication", self.bucket, key_arn, versioning, role, replica, replica_args, self._stateful)

    def _irsa_role(self, name: str, args: BackupBucketArgs, grant: AccessGrant) -> aws.iam.Role:
        trust = pulumi.Output.all(
            args.oidc_provider_arn, args.oidc_issuer_url, grant.namespace, grant.service_account
        ).apply(lambda values: json.dumps(irsa_trust_policy(*values)))
        return aws.iam.Role(
            name,
            name=grant.role_name,
            description=f"IRSA: {grant.access} access to {', '.join(grant.prefixes)} in {args.bucket_name}",
            assume_role_policy=trust,
            tags=_tags(args, grant.role_name),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _grant_access(self, name: str, grant: AccessGrant, role: aws.iam.Role, key_arn: pulumi.Output[str]) -> None:
        policy = pulumi.Output.all(self.bucket.arn, key_arn).apply(lambda arns: json.dumps(grant_policy(grant, *arns)))
        aws.iam.RolePolicy(f"{name}-access", role=role.id, policy=policy, opts=pulumi.ResourceOptions(parent=self))


def _tags(args: BackupBucketArgs, name: str) -> dict[str, str]:
    return {**args.tags, "Name": name}


def _backup_lifecycle_rules(args: BackupBucketArgs) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        {
            "id": f"expire-{retention_class}",
            "status": "Enabled",
            "filter": {"prefix": f"{retention_class}/"},
            "expiration": {"days": days},
        }
        for retention_class, days in args.expiring_classes().items()
    ]
    rules.append(
        {
            "id": "noncurrent-versions-and-incomplete-uploads",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": args.abort_multipart_days},
            # Once every version is gone, its lone delete marker would only clutter listings.
            "expiration": {"expired_object_delete_marker": True},
        }
    )
    return rules


def _key_policy(
    identity: pulumi.Output[Any], region: pulumi.Output[str], writers: list[pulumi.Output[str]], readers: list[Any]
) -> pulumi.Output[str]:
    partition = identity.arn.apply(lambda arn: arn.split(":")[1])
    account_root = pulumi.Output.concat("arn:", partition, ":iam::", identity.account_id, ":root")
    return pulumi.Output.all(account_root, region, pulumi.Output.all(*writers), pulumi.Output.all(*readers)).apply(
        lambda values: json.dumps(key_policy(*values))
    )


def _log_lifecycle_rule(args: BackupBucketArgs) -> dict[str, Any]:
    return {
        "id": "expire-access-logs",
        "status": "Enabled",
        "filter": {"prefix": ""},
        "expiration": {"days": args.log_retention_days},
        "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_days},
        "abort_incomplete_multipart_upload": {"days_after_initiation": args.abort_multipart_days},
    }


def _log_bucket_policy(
    log_bucket_arn: pulumi.Output[str], source_bucket_arn: pulumi.Output[str], account_id: pulumi.Output[str]
) -> pulumi.Output[dict[str, Any]]:
    return pulumi.Output.all(log_bucket_arn, source_bucket_arn, account_id).apply(
        lambda values: _log_policy_document(*values)
    )


def _log_policy_document(log_bucket_arn: str, source_bucket_arn: str, account_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            tls_only_statement(log_bucket_arn),
            {
                "Sid": "S3ServerAccessLogsDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{log_bucket_arn}/{ACCESS_LOG_PREFIX}*",
                "Condition": {
                    "ArnLike": {"aws:SourceArn": source_bucket_arn},
                    "StringEquals": {"aws:SourceAccount": account_id},
                },
            },
        ],
    }
