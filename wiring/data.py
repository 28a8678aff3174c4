"""Wiring of the data tier: the stack's backup bucket, each service's Postgres and Redis.

Each service namespace gets `database-secret` and `redis-secret` (key `url`) for its apps; only the
service's own apps are allowed to reach its stores (NetworkPolicies in wiring/isolation.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pulumi

from components.app_secret import AppSecret, AppSecretArgs
from components.backup_access import AccessGrant
from components.backup_bucket import BackupBucket, BackupBucketArgs, ObjectLock, ReplicaTarget, backup_prefix
from components.log_stack import ELASTICSEARCH
from components.metrics_copy import prometheus_service_account
from components.monitoring_stack import CHART as MONITORING_RELEASE
from components.pitr_drill import PointInTimeDrill, PointInTimeDrillArgs, drill_names
from components.postgres_backups import BaseBackups, LogicalDumps, backup_service_accounts
from components.postgres_cluster import PostgresCluster, PostgresClusterArgs
from components.postgres_pooler import PostgresPooler, PostgresPoolerArgs, pooler_name
from components.redis_cache import RedisCache, RedisCacheArgs
from providers import Providers
from services.conventions import (
    CACHE_HOST,
    CACHE_URL,
    DATABASE_URL,
    LOGGING_NAMESPACE,
    MONITORING_NAMESPACE,
    database_cluster,
)
from settings import CacheSettings, DatabaseSettings, Settings
from settings.footprint import database_clients
from settings.models import BACKUPS_OWNER, METRICS_OWNER, SNAPSHOTS_OWNER, BackupRole, iam_role_name
from versions import (
    AWS_CLI_IMAGE,
    KUBECTL_IMAGE,
    POSTGRES_IMAGE,
    POSTGRES_TOOLS_IMAGE,
    REDIS_EXPORTER_IMAGE,
    REDIS_IMAGE,
)
from wiring.context import ServiceContext

# PgBouncer accepts more app connections than the budget counts, for clients that reconnect before the old
# connection is gone.
CLIENT_HEADROOM = 1.25


def prometheus_copy_role(settings: Settings) -> str:
    """The IAM role Prometheus uploads its blocks with."""
    return _role(settings, METRICS_OWNER, BackupRole.METRICS_COPY)


def deploy_backups(settings: Settings, providers: Providers) -> BackupBucket:
    """One bucket per stack; each service with a database, the log stack's snapshots and Prometheus' blocks (when this
    program runs Prometheus) write under their own prefixes with their own roles."""
    grants = []
    if settings.monitoring is not None:
        grants.append(
            AccessGrant(
                role_name=prometheus_copy_role(settings),
                namespace=MONITORING_NAMESPACE,
                service_account=prometheus_service_account(MONITORING_RELEASE),
                prefixes=(backup_prefix("daily", METRICS_OWNER),),
                access="write",
            )
        )
    for enabled in settings.enabled_services:
        if enabled.database is None:
            continue
        service, namespace = enabled.spec.name, enabled.database.spec.namespace
        who = backup_service_accounts(database_cluster(service))
        grants += [
            # Barman owns its prefix: it enforces the 30-day retention itself, so it may delete there.
            AccessGrant(
                role_name=_role(settings, service, BackupRole.WAL),
                namespace=namespace,
                service_account=who.wal_archiver,
                prefixes=(backup_prefix("managed", service),),
                access="write",
                delete_own_objects=True,
                head_bucket=True,
            ),
            AccessGrant(
                role_name=_role(settings, service, BackupRole.DUMP),
                namespace=namespace,
                service_account=who.dump_writer,
                prefixes=(backup_prefix("daily", service),),
                access="write",
            ),
            AccessGrant(
                role_name=_role(settings, service, BackupRole.RESTORE_CHECK),
                namespace=namespace,
                service_account=who.restore_reader,
                prefixes=(backup_prefix("daily", service),),
                access="read",
            ),
            # The point-in-time drill's scratch cluster reads base backups and WAL, and writes nothing.
            AccessGrant(
                role_name=_role(settings, service, BackupRole.PITR_DRILL),
                namespace=namespace,
                service_account=drill_names(database_cluster(service)).scratch_cluster,
                prefixes=(backup_prefix("managed", service),),
                access="read",
                head_bucket=True,
            ),
        ]
    grants += _snapshot_grants(settings)
    backup = settings.backup
    return BackupBucket(
        "backups",
        BackupBucketArgs(
            bucket_name=backup.bucket_name,
            oidc_provider_arn=providers.oidc_provider_arn,
            oidc_issuer_url=providers.oidc_issuer_url,
            grants=tuple(grants),
            object_lock=ObjectLock(backup.object_lock.mode, backup.object_lock.days) if backup.object_lock else None,
            operator_role_arn=backup.operator_role_arn,
            replica=ReplicaTarget(
                backup.replication.region,
                providers.aws(BACKUPS_OWNER, backup.replication.region),
                _role(settings, BACKUPS_OWNER, BackupRole.REPLICATION),
            )
            if backup.replication
            else None,
            protect=settings.protect_data,
            retain_on_delete=settings.protect_data,
        ),
        pulumi.ResourceOptions(provider=providers.aws(BACKUPS_OWNER)),
    )


def snapshot_prefix() -> str:
    """Where the log stack's snapshot repository lives in the bucket (S2-05); Elasticsearch enforces its retention."""
    return backup_prefix("managed", SNAPSHOTS_OWNER)


def snapshot_role(settings: Settings) -> str:
    """The IRSA role the Elasticsearch nodes write snapshots with."""
    return _role(settings, SNAPSHOTS_OWNER, BackupRole.SNAPSHOTS)


def _snapshot_grants(settings: Settings) -> list[AccessGrant]:
    if settings.logging is None:
        return []
    return [
        AccessGrant(
            role_name=snapshot_role(settings),
            namespace=LOGGING_NAMESPACE,
            service_account=ELASTICSEARCH,
            prefixes=(snapshot_prefix(),),
            access="write",
            # Snapshot retention deletes what no kept snapshot references; failed uploads are cleaned up.
            delete_own_objects=True,
            multipart_listing=True,
        )
    ]


@dataclass(frozen=True)
class Stores:
    """A service's data stores, as deployed."""

    cache: RedisCache | None
    database: PostgresCluster | None
    pooler: PostgresPooler | None
    """PgBouncer in front of the database, when the apps connect through it (S0-03)."""
    drill: PointInTimeDrill | None
    """The database's point-in-time restore drill."""
    outputs: dict[str, Any]
    """Stack outputs `redis` and `database` (hosts and Secret names, never values; null when absent)."""


def deploy_stores(ctx: ServiceContext) -> Stores:
    """The service's Redis and Postgres."""
    bucket, service = ctx.platform.bucket, ctx.service
    cache = _deploy_cache(ctx, service.cache) if service.cache is not None else None
    database = drill = pooler = None
    outputs: dict[str, Any] = {"redis": None, "database": None}
    if cache is not None:
        outputs["redis"] = {"host": cache.host, "secretName": cache.url_secret_name}
    if service.database is not None and bucket is not None:
        database = _deploy_database(ctx, service.database, bucket)
        pooler = _deploy_pooler(ctx, service.database, database)
        drill = _deploy_drill(ctx, service.database, bucket, database)
        _share_database_secret(ctx, service.database, database)
        outputs["database"] = {
            "cluster": database.cluster_name,
            "host": database.rw_host,
            "readOnlyHost": database.ro_host,
            "secretName": database.app_secret_name,
            "backupRoleArns": backup_role_arns(ctx.settings, bucket, ctx.name),
        }
    return Stores(cache, database, pooler, drill, outputs)


def _deploy_database(ctx: ServiceContext, database: DatabaseSettings, bucket: BackupBucket) -> PostgresCluster:
    """The service's CloudNativePG cluster with WAL archiving, base backups, dumps and restore checks."""
    settings, pin, spec, name = ctx.settings, ctx.platform.pin, database.spec, ctx.name
    return PostgresCluster(
        database_cluster(name),
        PostgresClusterArgs(
            namespace=ctx.namespace_ref(spec.namespace),
            database=spec.database,
            owner=spec.owner,
            app_secret_name=DATABASE_URL.secret,
            app_service=pooler_name(database_cluster(name)) if spec.pooler else None,
            backup_bucket=bucket.bucket_name,
            aws_region=settings.region,
            kms_key_arn=bucket.kms_key_arn,
            base_backups=BaseBackups(
                backup_prefix("managed", name), bucket.role_arns[_role(settings, name, BackupRole.WAL)]
            ),
            dumps=LogicalDumps(
                prefix=f"{backup_prefix('daily', name)}dumps",
                writer_role_arn=bucket.role_arns[_role(settings, name, BackupRole.DUMP)],
                reader_role_arn=bucket.role_arns[_role(settings, name, BackupRole.RESTORE_CHECK)],
                schemas=spec.schemas,
                tools_image=pin(POSTGRES_TOOLS_IMAGE),
                aws_cli_image=pin(AWS_CLI_IMAGE),
            ),
            instances=database.instances,
            storage_size=database.storage_size,
            storage_class=database.storage_class,
            parameters=spec.parameters,
            pg_stat_statements=spec.pg_stat_statements,
            schemas=spec.schemas,
            schema_roles={reader.role: reader.schema for reader in spec.reader_roles.values()},
            resources=database.resources,
            image_name=pin(POSTGRES_IMAGE),
            part_of=name,
            protect=settings.protect_data,
        ),
        ctx.after_operators,
    )


def _deploy_pooler(ctx: ServiceContext, database: DatabaseSettings, cluster: PostgresCluster) -> PostgresPooler | None:
    """PgBouncer between the apps and the database, sized to accept every app connection at their peak."""
    pooler = database.spec.pooler
    if pooler is None:
        return None
    return PostgresPooler(
        pooler_name(cluster.cluster_name),
        PostgresPoolerArgs(
            namespace=ctx.namespace_ref(database.spec.namespace),
            cluster=cluster.cluster_name,
            server_connections=pooler.server_connections,
            client_connections=math.ceil(database_clients(ctx.service) * CLIENT_HEADROOM),
            instances=pooler.instances,
            labels=ctx.labels,
        ),
        # A Pooler's operator integration (its login, its certificates) needs the cluster.
        pulumi.ResourceOptions.merge(ctx.after_operators, pulumi.ResourceOptions(depends_on=[cluster.cluster])),
    )


def _deploy_drill(
    ctx: ServiceContext, database: DatabaseSettings, bucket: BackupBucket, cluster: PostgresCluster
) -> PointInTimeDrill:
    """A weekly point-in-time restore of the database into a scratch cluster, checked and removed (X-09, S3-11)."""
    settings, pin, spec, name = ctx.settings, ctx.platform.pin, database.spec, ctx.name
    return PointInTimeDrill(
        drill_names(cluster.cluster_name).job,
        PointInTimeDrillArgs(
            namespace=ctx.namespace_ref(spec.namespace),
            cluster=cluster.cluster_name,
            object_store=cluster.object_store_name,
            database=spec.database,
            owner=spec.owner,
            credentials_secret=cluster.credentials_secret_name,
            role_arn=bucket.role_arns[_role(settings, name, BackupRole.PITR_DRILL)],
            image_name=pin(POSTGRES_IMAGE),
            storage_size=database.storage_size,
            storage_class=database.storage_class,
            resources=database.resources,
            tools_image=pin(POSTGRES_TOOLS_IMAGE),
            kubectl_image=pin(KUBECTL_IMAGE),
            part_of=name,
        ),
        # The drill reads the cluster's Secrets and object store, which exist once the cluster does.
        pulumi.ResourceOptions.merge(ctx.after_operators, pulumi.ResourceOptions(depends_on=[cluster.cluster])),
    )


def _share_database_secret(ctx: ServiceContext, settings: DatabaseSettings, database: PostgresCluster) -> None:
    """The service's other namespaces connect to the same database, each as its own role."""
    for namespace, reader in settings.spec.reader_roles.items():
        AppSecret(
            f"{namespace}-{DATABASE_URL.secret}",
            AppSecretArgs(
                namespace=ctx.namespace_ref(namespace),
                secret_name=DATABASE_URL.secret,
                values={DATABASE_URL.key: database.role_urls[reader.role]},
                labels=ctx.labels,
            ),
            ctx.kubernetes,
        )


def backup_role_arns(settings: Settings, bucket: BackupBucket, service: str) -> dict[str, pulumi.Output[str]]:
    """The IRSA roles of SERVICE's backups, for other teams' key and bucket policies (X-13)."""
    return {
        "walArchiver": bucket.role_arns[_role(settings, service, BackupRole.WAL)],
        "dumpWriter": bucket.role_arns[_role(settings, service, BackupRole.DUMP)],
        "restoreChecker": bucket.role_arns[_role(settings, service, BackupRole.RESTORE_CHECK)],
    }


def _role(settings: Settings, owner: str, role: BackupRole) -> str:
    return iam_role_name(settings.stack, owner, role)


def _deploy_cache(ctx: ServiceContext, cache: CacheSettings) -> RedisCache:
    pin = ctx.platform.pin
    return RedisCache(
        f"{cache.spec.namespace}-redis",
        RedisCacheArgs(
            namespace=ctx.namespace_ref(cache.spec.namespace),
            kubernetes_name=CACHE_HOST,
            maxmemory=cache.spec.maxmemory,
            maxmemory_policy=cache.spec.policy,
            resources=cache.spec.resources,
            storage_size=cache.storage_size,
            storage_class=cache.storage_class,
            replicas=cache.replicas,
            url_secret_name=CACHE_URL.secret,
            url_secret_key=CACHE_URL.key,
            image=pin(REDIS_IMAGE),
            exporter_image=pin(REDIS_EXPORTER_IMAGE),
            part_of=ctx.name,
            protect=ctx.settings.protect_data,
        ),
        ctx.after_operators,
    )
