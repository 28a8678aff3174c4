"""Who may use the backup bucket (X-12, X-16): one IAM role per `AccessGrant`, assumed through IRSA by one
Kubernetes ServiceAccount (no users, no access keys), and allowed only its own key prefixes.

A `write` grant may put, read back, list and abort uploads under its prefixes; a `read` grant may get and
list. Neither may delete, except a writer that enforces its own retention (`delete_own_objects`, barman-cloud),
and only as a delete marker on the versioned bucket. Each grant uses the bucket's key only as its access needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$")


@dataclass(frozen=True)
class AccessGrant:
    """An IAM role for one Kubernetes ServiceAccount (IRSA), scoped to key prefixes of the bucket."""

    role_name: str
    """IAM role name; unique in the account (include the stack), also the key of `role_arns`."""
    namespace: pulumi.Input[str]
    """Namespace of the ServiceAccount allowed to assume the role."""
    service_account: pulumi.Input[str]
    """Name of that ServiceAccount."""
    prefixes: Sequence[str]
    """Key prefixes the role may use, each ending in `/` (see `backup_bucket.backup_prefix`)."""
    access: Literal["write", "read"]
    """`write`: put, read back, list and abort uploads; `read`: get and list. Neither may delete."""
    delete_own_objects: bool = False
    """s3:DeleteObject on its prefixes, for tools that enforce their own retention (barman-cloud)."""
    multipart_listing: bool = False
    """List in-progress multipart uploads under its prefixes and their parts (Elasticsearch's S3 repository does,
    to clean up uploads a failed snapshot left behind)."""
    head_bucket: bool = False
    """Allow HeadBucket (barman-cloud calls it before every upload and restore); IAM authorises it as an
    unscoped s3:ListBucket, so the role can also list key names (not read objects) outside its prefixes."""

    def __post_init__(self) -> None:
        if not 1 <= len(self.role_name) <= 64:
            raise ValueError(f"role name must have 1-64 characters, got {self.role_name!r}")
        if self.access not in ("write", "read"):
            raise ValueError(f"{self.role_name}: access must be write or read, got {self.access!r}")
        if not self.prefixes:
            raise ValueError(f"{self.role_name}: at least one prefix is needed (never the whole bucket)")
        bad = [p for p in self.prefixes if not _PREFIX.match(p)]
        if bad:
            raise ValueError(f"{self.role_name}: prefixes must look like `daily/owner/` (no leading `/`), got {bad}")
        for flag in ("delete_own_objects", "multipart_listing"):
            if getattr(self, flag) and self.access != "write":
                raise ValueError(f"{self.role_name}: {flag} needs access=write")


def irsa_trust_policy(provider_arn: str, issuer_url: str, namespace: str, service_account: str) -> dict[str, Any]:
    """Trust policy letting ServiceAccount NAMESPACE/SERVICE_ACCOUNT of the cluster's OIDC issuer assume a role."""
    issuer = issuer_url.removeprefix("https://").rstrip("/")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def grant_policy(grant: AccessGrant, bucket_arn: str, key_arn: str) -> dict[str, Any]:
    """GRANT's permissions: its prefixes of BUCKET_ARN, and the bucket's key KEY_ARN as its access needs."""
    objects = [f"{bucket_arn}/{prefix}*" for prefix in grant.prefixes]
    statements: list[dict[str, Any]] = [_list_statement(grant, bucket_arn)]
    if grant.access == "write":
        # Reading back is part of writing for WAL archivers (barman checks what it uploaded).
        s3_actions = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]
        kms_actions = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    else:
        s3_actions = ["s3:GetObject"]
        kms_actions = ["kms:Decrypt"]
    if grant.multipart_listing:
        s3_actions.append("s3:ListMultipartUploadParts")
        statements.append(
            {
                "Sid": "ListOwnMultipartUploads",
                "Effect": "Allow",
                "Action": "s3:ListBucketMultipartUploads",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in grant.prefixes]}},
            }
        )
    statements.append({"Sid": "UseOwnPrefixes", "Effect": "Allow", "Action": s3_actions, "Resource": objects})
    if grant.delete_own_objects:
        # barman-cloud enforces its retentionPolicy by deleting expired backups and WAL, so it needs
        # DeleteObject on its own prefixes. On a versioned bucket that only adds a delete marker: the
        # data stays restorable for `noncurrent_version_days`, and DeleteObjectVersion is never granted.
        statements.append(
            {"Sid": "PruneOwnPrefixes", "Effect": "Allow", "Action": "s3:DeleteObject", "Resource": objects}
        )
    statements.append({"Sid": "UseBucketKey", "Effect": "Allow", "Action": kms_actions, "Resource": key_arn})
    return {"Version": "2012-10-17", "Statement": statements}


def _list_statement(grant: AccessGrant, bucket_arn: str) -> dict[str, Any]:
    if grant.head_bucket:
        return {"Sid": "ListBucketForHeadBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn}
    return {
        "Sid": "ListOwnPrefixes",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": bucket_arn,
        "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in grant.prefixes]}},
    }
