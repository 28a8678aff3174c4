"""Wiring of the data tier: the stack's backup bucket, each service's Postgres and Redis.

Each service namespace gets `database-secret` and `redis-secret` (key `url`) for its apps; only the
service's own apps are allowed to reach its stores (NetworkPolicies in services/isolation.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.backup_bucket import AccessGrant, BackupBucket, BackupBucketArgs, ObjectLock, backup_prefix
from components.redis_cache import RedisCache, RedisCacheArgs
from providers import Providers
from services.common import CACHE_HOST, CACHE_URL
from settings import ServiceSettings, Settings

BACKUPS_OWNER = "backups"
"""Value of the `service` tag on the shared backup bucket and its roles."""


@dataclass(frozen=True)
class BackupIdentities:
    """ServiceAccounts that write or read a service's backups (IRSA subjects)."""

    namespace: str
    wal_archiver: str
    dump_writer: str
    restore_reader: str


def deploy_backups(settings: Settings, providers: Providers, identities: dict[str, BackupIdentities]) -> BackupBucket:
    """One bucket per stack; each service writes under its own prefixes through its own roles."""
    if providers.oidc_provider_arn is None or providers.oidc_issuer_url is None:
        raise ValueError("IRSA needs the cluster's OIDC provider: use cluster.stack or set cluster.oidcProviderArn")
    grants = []
    for service, who in identities.items():
        grants += [
            # Barman owns its prefix: it enforces the 30-day retention itself, so it may delete there.
            AccessGrant(
                role_name=_role(settings, service, "wal"),
                namespace=who.namespace,
                service_account=who.wal_archiver,
                prefixes=(backup_prefix("managed", service),),
                access="write",
                delete_own_objects=True,
                head_bucket=True,
            ),
            AccessGrant(
                role_name=_role(settings, service, "dump"),
                namespace=who.namespace,
                service_account=who.dump_writer,
                prefixes=(backup_prefix("daily", service),),
                access="write",
            ),
            AccessGrant(
                role_name=_role(settings, service, "restore-check"),
                namespace=who.namespace,
                service_account=who.restore_reader,
                prefixes=(backup_prefix("daily", service),),
                access="read",
            ),
        ]
    backup = settings.backup
    return BackupBucket(
        "backups",
        BackupBucketArgs(
            bucket_name=backup.bucketName,
            oidc_provider_arn=providers.oidc_provider_arn,
            oidc_issuer_url=providers.oidc_issuer_url,
            grants=tuple(grants),
            object_lock=ObjectLock(backup.objectLock.mode, backup.objectLock.days) if backup.objectLock else None,
            operator_role_arn=backup.operatorRoleArn,
            protect=settings.protect_data,
            retain_on_delete=settings.protect_data,
        ),
        pulumi.ResourceOptions(provider=providers.aws(BACKUPS_OWNER)),
    )


def _role(settings: Settings, service: str, purpose: str) -> str:
    # IAM role names are account-wide: the stack keeps staging and prod apart.
    return f"ai-platform-{settings.stack}-{service}-{purpose}"


def deploy_cache(
    service: ServiceSettings, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> RedisCache | None:
    cache = service.cache
    if cache is None:
        return None
    return RedisCache(
        f"{cache.spec.namespace}-redis",
        RedisCacheArgs(
            namespace=namespace,
            kubernetes_name=CACHE_HOST,
            maxmemory=cache.spec.maxmemory,
            maxmemory_policy=cache.spec.policy,
            resources=cache.spec.resources,
            storage_size=cache.storage_size,
            storage_class=cache.storage_class,
            replicas=cache.replicas,
            url_secret_name=CACHE_URL.secret,
            url_secret_key=CACHE_URL.key,
            part_of=service.spec.name,
        ),
        opts,
    )
