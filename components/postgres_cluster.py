"""PostgresCluster: one CloudNativePG cluster with continuous backup, logical dumps and a restore check.

Owns (all in the cluster's namespace; `<name>` is the component name, which is also the CNPG cluster name):
- `Cluster` `<name>`: TLS-only `pg_hba` with SCRAM, no superuser access, app database and owner from
  `bootstrap.initdb` with our own generated password, extra schemas/extensions after initdb, zone spread.
- Barman Cloud `ObjectStore` `<name>-store` and the cluster's WAL-archiver plugin entry: base backups and
  WAL go to `s3://<bucket>/<prefix>` with IRSA (no static keys), compressed, retention from args (30d).
- `ScheduledBackup` `<name>-daily` (`method: plugin`, six-field cron). WAL is archived continuously
  (CNPG's `archive_timeout` is 5 min), which gives the hourly RPO of the manuals (S3-11).
- `PodMonitor` `<name>`: scrapes the instances' `metrics` port (9187) with `job="postgres"`, so the
  manuals' `up{job="postgres"}` works. It replaces the deprecated `spec.monitoring.enablePodMonitor`.
- Secrets: `<name>-owner-credentials` (`kubernetes.io/basic-auth`, read by CNPG through
  `bootstrap.initdb.secret`) and the app Secret `args.app_secret_name` with key `url`.
- Logical dumps: CronJob `<name>-logical-dump` (daily `pg_dump -Fc` per database and per schema to
  `s3://<bucket>/<dumps.prefix>/<UTC stamp>/`) and CronJob `<name>-restore-check` (weekly restore of the
  newest set into a throwaway server in the pod). Their scripts live in `scripts/postgres/` and are
  mounted from ConfigMap `<name>-backup-scripts`.

Services: CNPG itself creates `<name>-rw` (primary), `<name>-ro` (replicas only; no endpoints while
`instances == 1`) and `<name>-r` (any instance). The app Secret points at `-rw`, so no extra Service is
declared: a stable alias would only add a second name for the same endpoints. `rw_host` / `ro_host`
expose the names.

Alerting signals for the monitoring rules (kube-state-metrics and the CNPG exporter):
- dump stale: `time() - kube_cronjob_status_last_successful_time{cronjob="<name>-logical-dump"} > 26 * 3600`
- restore check stale: the same metric for `cronjob="<name>-restore-check"`, older than 8 days
- a failed run: `kube_job_status_failed{job_name=~"<name>-(logical-dump|restore-check)-.*"} > 0`
- WAL archiving (RPO): `cnpg_pg_stat_archiver_seconds_since_last_archival > 3600`,
  `increase(cnpg_pg_stat_archiver_failed_count[1h]) > 0`
No success marker is written to S3: the restore check runs with a read-only role on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

import versions
from components import kube
from components.kube import Resources

BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
POSTGRES_PORT = 5432
METRICS_PORT = 9187
METRICS_PORT_NAME = "metrics"  # CNPG's name for the exporter port 9187 of every instance
STATUS_PORT = 8000
SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts" / "postgres"
SCRIPT_FILES = ("dump.sh", "upload_dump.sh", "fetch_latest_dump.sh", "restore_check.sh")
SCRIPTS_MOUNT = "/opt/backup-scripts"
WORK_MOUNT = "/work"
PASSWORD_MOUNT = "/var/run/secrets/postgres"
SERVER_CA_MOUNT = "/var/run/secrets/postgres-ca"

# The official postgres image runs initdb/postgres as its `postgres` user; both refuse root and need the
# uid to exist in the image's /etc/passwd. The aws CLI container shares the same uid for the scratch dir.
TOOLS_UID = 999
TOOLS_UID_REASON = "uid 999 is the postgres user of the official postgres image; initdb/pg_ctl need it"

# First match wins: TLS + SCRAM for every TCP client, plain-text TCP refused. CNPG's fixed rules (local peer,
# replication by certificate) stay in front of these.
PG_HBA = ("hostssl all all all scram-sha-256", "hostnossl all all all reject")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class BackupServiceAccounts:
    """ServiceAccounts (in the cluster's namespace) that assume the backup roles: the IRSA trust subjects."""

    wal_archiver: str
    """The instances' ServiceAccount, which CNPG names after the cluster; barman-cloud runs under it."""
    dump_writer: str
    """The logical-dump CronJob's ServiceAccount (writes dumps)."""
    restore_reader: str
    """The restore-check CronJob's ServiceAccount (reads dumps)."""


def backup_service_accounts(cluster_name: str) -> BackupServiceAccounts:
    """The ServiceAccount names PostgresCluster `cluster_name` uses, known before the roles are created."""
    return BackupServiceAccounts(cluster_name, f"{cluster_name}-logical-dump", f"{cluster_name}-restore-check")


@dataclass(frozen=True)
class BaseBackups:
    """Physical backups by the Barman Cloud plugin: continuous WAL archive plus scheduled base backups."""

    prefix: str
    """Path inside the bucket, e.g. `cnpg/<service>`; barman adds `<cluster>/base` and `<cluster>/wals`."""
    role_arn: pulumi.Input[str]
    """IRSA role of the instances' ServiceAccount (read/write on the prefix)."""
    retention: str = "30d"
    """Barman retention policy (`<n>d|w|m`); the bucket lifecycle must not expire the prefix earlier."""
    schedule: str = "0 0 2 * * *"
    """Base-backup schedule: six-field cron, seconds first (CNPG's format)."""


@dataclass(frozen=True)
class LogicalDumps:
    """Daily `pg_dump` archives in S3 and a weekly proof that the newest set restores."""

    prefix: str
    """Path inside the bucket, e.g. `daily/<service>/dumps` (under the bucket's daily lifecycle rule)."""
    writer_role_arn: pulumi.Input[str]
    """IRSA role of the dump job (put objects under the prefix)."""
    reader_role_arn: pulumi.Input[str]
    """IRSA role of the restore check (list/get under the prefix only)."""
    schemas: Sequence[str] = ()
    """Schemas also dumped on their own (restorable one at a time)."""
    schedule: str = "30 2 * * *"
    """Dump schedule (five-field cron, UTC)."""
    restore_check_schedule: str = "0 5 * * 0"
    """Restore-check schedule (five-field cron, UTC): weekly, as the manuals test restores."""
    max_age_hours: int = 48
    """The restore check fails when the newest dump set is older than this."""
    min_tables: int = 1
    """The restore check fails when a restored database holds fewer tables."""
    scratch_size: str = "20Gi"
    """emptyDir for archives and the throwaway server (restore needs a few times the dump size)."""
    tools_image: pulumi.Input[str] = versions.POSTGRES_TOOLS_IMAGE
    """Official postgres image for pg_dump/pg_restore/initdb; its major must be >= the server's."""
    aws_cli_image: pulumi.Input[str] = versions.AWS_CLI_IMAGE
    """Official AWS CLI v2 image for the S3 transfers."""
    tools_resources: Resources = field(
        default_factory=lambda: Resources({"cpu": "250m", "memory": "512Mi"}, {"cpu": "1", "memory": "2Gi"})
    )
    """Requests/limits of the pg_dump and restore-check containers."""
    aws_cli_resources: Resources = field(
        default_factory=lambda: Resources({"cpu": "100m", "memory": "128Mi"}, {"cpu": "500m", "memory": "512Mi"})
    )
    """Requests/limits of the upload and fetch containers."""
    dump_deadline_seconds: int = 3600
    """A dump run still going after this long is stopped and counts as failed."""
    restore_check_deadline_seconds: int = 7200
    """A restore check still going after this long is stopped and counts as failed."""
    backoff_limit: int = 2
    """Retries of a failed dump or restore-check run before the Job fails."""


@dataclass(frozen=True)
class PostgresClusterArgs:
    """Everything one service's database needs."""

    namespace: pulumi.Input[str]
    """Namespace of the cluster and its jobs."""
    database: str
    """Application database created by initdb."""
    owner: str
    """Owner role of the application database (the app connects as it)."""
    app_secret_name: str
    """Name of the app's connection Secret (key `url`), e.g. `database-secret`."""
    backup_bucket: pulumi.Input[str]
    """S3 bucket for base backups, WAL and logical dumps."""
    aws_region: pulumi.Input[str]
    """Region of the bucket (the jobs' AWS CLI needs it)."""
    base_backups: BaseBackups
    """Continuous backup settings."""
    dumps: LogicalDumps | None = None
    """Logical dumps and restore check; None declares neither."""
    instances: int = 1
    """PostgreSQL instances: one primary, the rest streaming replicas behind `<name>-ro`."""
    image_name: pulumi.Input[str] = versions.POSTGRES_IMAGE
    """Official CloudNativePG PostgreSQL image."""
    storage_size: str = "10Gi"
    """Size of each instance's data volume."""
    storage_class: str | None = None
    """StorageClass of the data volumes; None uses the cluster default."""
    wal_storage_size: str | None = None
    """A separate WAL volume of this size; None keeps WAL on the data volume."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """postgresql.conf parameters, e.g. `max_connections: "200"` (CNPG wants strings)."""
    pg_stat_statements: bool = False
    """Let CNPG preload pg_stat_statements and create it in every database (via `pg_stat_statements.*`)."""
    schemas: Sequence[str] = ()
    """Schemas created in the app database after initdb, owned by `owner` unless `schema_roles` names another."""
    schema_roles: Mapping[str, str] = field(default_factory=dict)
    """Login role -> the one schema it owns; such a role gets no access to the owner's schemas."""
    extensions: Sequence[str] = ()
    """Extensions created in the app database after initdb (must ship in the image)."""
    resources: Resources = field(
        default_factory=lambda: Resources({"cpu": "500m", "memory": "1Gi"}, {"cpu": "1", "memory": "2Gi"})
    )
    """Requests/limits of each PostgreSQL instance."""
    kms_key_arn: pulumi.Input[str] | None = None
    """KMS key for SSE-KMS of backups and dumps; None relies on the bucket's default encryption."""
    monitor_labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on the PodMonitor (e.g. the Prometheus release selector)."""
    part_of: str | None = None
    """Value of `app.kubernetes.io/part-of`."""
    protect: bool = False
    """Protect the Cluster custom resource (and so its volumes) from deletion, and keep it in the cluster when
    it leaves the program (CloudNativePG deletes a Cluster's volumes with it)."""

    def __post_init__(self) -> None:
        problems = [
            f"{what} {value!r} is not a plain lowercase SQL identifier"
            for what, value in self._identifiers()
            if not _IDENTIFIER.match(value)
        ]
        if self.instances < 1:
            problems.append(f"instances must be >= 1, got {self.instances}")
        for role, schema in self.schema_roles.items():
            if schema not in self.schemas:
                problems.append(f"schema role {role!r} owns {schema!r}, which is not among the schemas")
            if role == self.owner:
                problems.append(f"schema role {role!r} is the database owner")
        if len(self.base_backups.schedule.split()) != 6:
            problems.append(f"base_backups.schedule needs six fields (seconds first): {self.base_backups.schedule!r}")
        if not re.fullmatch(r"[1-9][0-9]*[dwm]", self.base_backups.retention):
            problems.append(f"base_backups.retention must look like 30d/4w/1m: {self.base_backups.retention!r}")
        if self.dumps is not None:
            for what in ("schedule", "restore_check_schedule"):
                if len(getattr(self.dumps, what).split()) != 5:
                    problems.append(f"dumps.{what} needs five cron fields: {getattr(self.dumps, what)!r}")
            tools, server = _major(self.dumps.tools_image), _major(self.image_name)
            if tools is not None and server is not None and tools < server:
                problems.append(f"dumps.tools_image major {tools} is older than the server's {server}: pg_dump refuses")
        if problems:
            raise ValueError("PostgresClusterArgs: " + "; ".join(problems))

    def _identifiers(self) -> list[tuple[str, str]]:
        names = [("database", self.database), ("owner", self.owner)]
        names += [("schema", s) for s in self.schemas] + [("extension", e) for e in self.extensions]
        names += [("schema role", r) for r in self.schema_roles]
        names += [("dump schema", s) for s in (self.dumps.schemas if self.dumps else ())]
        return names


class PostgresCluster(pulumi.ComponentResource):
    """A CloudNativePG cluster with backups to S3, metrics, credentials and verified logical dumps."""

    cluster_name: str
    """Name of the CNPG Cluster (the component name)."""
    app_secret_name: str
    """Secret with key `url` for the app (`sslmode=require`)."""
    credentials_secret_name: str
    """basic-auth Secret (`username`, `password`) CNPG bootstraps the owner from."""
    password: pulumi.Output[str]
    """Owner password (secret Output)."""
    url: pulumi.Output[str]
    """App connection URL (secret Output)."""
    role_urls: dict[str, pulumi.Output[str]]
    """Connection URL of each schema role (secret Outputs)."""
    rw_host: pulumi.Output[str]
    """In-cluster DNS name of the primary (`<name>-rw`)."""
    ro_host: pulumi.Output[str]
    """In-cluster DNS name of the replicas (`<name>-ro`; no endpoints with one instance)."""
    object_store_name: str
    """Barman Cloud ObjectStore (`<name>-store`)."""
    dump_cronjob_name: str | None
    """`<name>-logical-dump`, for the staleness/failure alerts; None without dumps."""
    restore_check_cronjob_name: str | None
    """`<name>-restore-check`, for the staleness/failure alerts; None without dumps."""
    labels: dict[str, str]
    """Labels on every object the component declares."""
    selector: dict[str, str]
    """Selects the instances' pods (CloudNativePG labels them with the cluster name), for NetworkPolicies."""
    port: int
    """PostgreSQL's port."""
    metrics_port: int
    """The instances' metrics exporter."""
    status_port: int
    """The instance manager's status endpoint: the operator polls it, instances query each other."""
    job_selectors: dict[str, dict[str, str]]
    """CronJob name -> selector of its pods (the dump and restore-check jobs), for NetworkPolicies."""
    cluster: k8s.apiextensions.CustomResource
    object_store: k8s.apiextensions.CustomResource
    scheduled_backup: k8s.apiextensions.CustomResource
    pod_monitor: k8s.apiextensions.CustomResource
    dump_cronjob: k8s.batch.v1.CronJob | None
    restore_check_cronjob: k8s.batch.v1.CronJob | None

    def __init__(self, name: str, args: PostgresClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:postgres_cluster:PostgresCluster", name, None, opts)
        child = kube.child_options(self, opts)
        self.labels = kube.app_labels(name, args.part_of, component="database")
        self.selector = {"cnpg.io/cluster": name}
        self.port, self.metrics_port, self.status_port = POSTGRES_PORT, METRICS_PORT, STATUS_PORT
        self.cluster_name = name
        self.app_secret_name = args.app_secret_name
        self.credentials_secret_name = _credentials_secret(name, "owner")
        self.object_store_name = f"{name}-store"
        self.rw_host = kube.service_host(f"{name}-rw", args.namespace)
        self.ro_host = kube.service_host(f"{name}-ro", args.namespace)

        self.password, self.url, credentials = self._login("owner", args.owner, args, child)
        self.role_urls = {}
        role_credentials = []
        for role in args.schema_roles:
            _, self.role_urls[role], secret = self._login(_dns(role), role, args, child)
            role_credentials.append(secret)
        self._secret("app-secret", args.app_secret_name, args, {"url": self.url}, child)

        self.object_store = self._object_store(name, args, child)
        self.cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="postgresql.cnpg.io/v1",
            kind="Cluster",
            metadata=kube.metadata(
                name,
                args.namespace,
                self.labels,
                {
                    # Let `pulumi up` finish only when CNPG reports the cluster ready.
                    "pulumi.com/waitFor": "condition=Ready",
                    "pulumi.com/timeoutSeconds": "1800",
                },
            ),
            spec=self._cluster_spec(name, args),
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    protect=args.protect,
                    retain_on_delete=args.protect,
                    depends_on=[credentials, *role_credentials, self.object_store],
                ),
            ),
        )
        self.scheduled_backup = self._scheduled_backup(name, args, child)
        self.pod_monitor = self._pod_monitor(name, args, child)

        self.dump_cronjob = self.restore_check_cronjob = None
        self.dump_cronjob_name = self.restore_check_cronjob_name = None
        self.job_selectors = {}
        if args.dumps is not None:
            # The jobs mount `<name>-ca`, which CNPG creates with the cluster.
            after_cluster = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.cluster]))
            self._logical_dumps(name, args, args.dumps, after_cluster)

        self.register_outputs(
            {
                "clusterName": name,
                "appSecretName": args.app_secret_name,
                "rwHost": self.rw_host,
                "roHost": self.ro_host,
                "dumpCronJob": self.dump_cronjob_name,
                "restoreCheckCronJob": self.restore_check_cronjob_name,
            }
        )

    # --- credentials -------------------------------------------------------------------------------

    def _login(
        self, role: str, user: str, args: PostgresClusterArgs, opts: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[str], pulumi.Output[str], k8s.core.v1.Secret]:
        """A generated password for USER, its basic-auth Secret for CNPG, and its connection URL."""
        password = random.RandomPassword(
            f"{self.cluster_name}-{role}-password",
            length=40,
            special=False,  # keeps the URL free of characters that need percent-encoding
            opts=pulumi.ResourceOptions(parent=self),
        )
        secret_password = pulumi.Output.secret(password.result)
        url = pulumi.Output.secret(
            pulumi.Output.concat(
                "postgresql://",
                user,
                ":",
                secret_password,
                "@",
                self.rw_host,
                f":{POSTGRES_PORT}/",
                args.database,
                "?sslmode=require",
            )
        )
        credentials = self._secret(
            f"{role}-credentials",
            _credentials_secret(self.cluster_name, role),
            args,
            {"username": user, "password": secret_password},
            opts,
            secret_type="kubernetes.io/basic-auth",
        )
        return secret_password, url, credentials

    def _secret(
        self,
        role: str,
        secret_name: str,
        args: PostgresClusterArgs,
        values: Mapping[str, pulumi.Input[str]],
        opts: pulumi.ResourceOptions,
        secret_type: str = "Opaque",
    ) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(
            f"{self.cluster_name}-{role}",
            metadata=kube.metadata(secret_name, args.namespace, self.labels),
            type=secret_type,
            string_data={key: pulumi.Output.secret(value) for key, value in values.items()},
            opts=opts,
        )

    # --- CloudNativePG ----------------------------------------------------------------------------

    def _cluster_spec(self, name: str, args: PostgresClusterArgs) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "instances": args.instances,
            "imageName": args.image_name,
            "enableSuperuserAccess": False,
            # A PDB on a single instance only blocks node drains; with replicas it protects the primary.
            "enablePDB": args.instances > 1,
            "postgresql": {
                "parameters": _parameters(args),
                "pg_hba": list(PG_HBA),
            },
            "bootstrap": {"initdb": self._initdb(args)},
            "storage": _storage(args.storage_size, args.storage_class),
            "resources": kube.resources(args.resources),
            "serviceAccountTemplate": {"metadata": {"annotations": {kube.IRSA_ANNOTATION: args.base_backups.role_arn}}},
            "plugins": [
                {
                    "name": BARMAN_PLUGIN,
                    "isWALArchiver": True,
                    "parameters": {"barmanObjectName": self.object_store_name},
                }
            ],
        }
        if args.part_of:
            # Only part-of: CNPG sets its own app.kubernetes.io/* labels on the instance pods.
            spec["inheritedMetadata"] = {"labels": {"app.kubernetes.io/part-of": args.part_of}}
        if args.schema_roles:
            spec["managed"] = {"roles": [_managed_role(self.cluster_name, role) for role in args.schema_roles]}
        if args.wal_storage_size:
            spec["walStorage"] = _storage(args.wal_storage_size, args.storage_class)
        if args.instances > 1:
            spec["affinity"] = {"enablePodAntiAffinity": True, "topologyKey": "kubernetes.io/hostname"}
            # Stricter than kube.zone_spread: a volume pins its instance to a zone for life, so the
            # first placement must already spread the instances over zones.
            spec["topologySpreadConstraints"] = [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"}},
                }
            ]
        return spec

    def _initdb(self, args: PostgresClusterArgs) -> dict[str, Any]:
        initdb: dict[str, Any] = {
            "database": args.database,
            "owner": args.owner,
            "secret": {"name": self.credentials_secret_name},
            "dataChecksums": True,
        }
        # Runs once, as superuser, right after initdb; later schemas belong in the app's migrations.
        # Schema roles exist (without login) before their schemas; CNPG's managed roles then give them a
        # password and login. They own their schema and are granted nothing in the owner's; the owner is
        # a member of each, so the nightly pg_dump (which runs as the owner) reads their schemas too.
        owners = {schema: role for role, schema in args.schema_roles.items()}
        statements = [f'CREATE ROLE "{role}" NOLOGIN' for role in args.schema_roles]
        statements += [f'GRANT "{role}" TO "{args.owner}"' for role in args.schema_roles]
        statements += [
            f'CREATE SCHEMA IF NOT EXISTS "{s}" AUTHORIZATION "{owners.get(s, args.owner)}"' for s in args.schemas
        ]
        statements += [f'CREATE EXTENSION IF NOT EXISTS "{e}"' for e in args.extensions]
        if statements:
            initdb["postInitApplicationSQL"] = statements
        return initdb

    def _object_store(self, name: str, args: PostgresClusterArgs, opts: pulumi.ResourceOptions):
        wal: dict[str, Any] = {"compression": "gzip", "maxParallel": 4}
        data: dict[str, Any] = {"compression": "gzip", "jobs": 2}
        if args.kms_key_arn is not None:
            # Without an explicit key id, `aws:kms` would use the account's aws/s3 key, not the bucket's CMK.
            key = pulumi.Output.concat("--sse-kms-key-id=", args.kms_key_arn)
            wal.update(encryption="aws:kms", archiveAdditionalCommandArgs=[key])
            data.update(encryption="aws:kms", additionalCommandArgs=[key])
        return k8s.apiextensions.CustomResource(
            f"{name}-object-store",
            api_version="barmancloud.cnpg.io/v1",
            kind="ObjectStore",
            metadata=kube.metadata(self.object_store_name, args.namespace, self.labels),
            spec={
                "retentionPolicy": args.base_backups.retention,
                "configuration": {
                    "destinationPath": pulumi.Output.concat(
                        "s3://", args.backup_bucket, "/", args.base_backups.prefix.strip("/")
                    ),
                    "s3Credentials": {"inheritFromIAMRole": True},
                    "wal": wal,
                    "data": data,
                },
            },
            opts=opts,
        )

    def _scheduled_backup(self, name: str, args: PostgresClusterArgs, opts: pulumi.ResourceOptions):
        return k8s.apiextensions.CustomResource(
            f"{name}-scheduled-backup",
            api_version="postgresql.cnpg.io/v1",
            kind="ScheduledBackup",
            metadata=kube.metadata(f"{name}-daily", args.namespace, self.labels),
            spec={
                "cluster": {"name": name},
                "schedule": args.base_backups.schedule,
                "method": "plugin",
                "pluginConfiguration": {"name": BARMAN_PLUGIN},
                "backupOwnerReference": "self",
                "immediate": True,
            },
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.cluster])),
        )

    def _pod_monitor(self, name: str, args: PostgresClusterArgs, opts: pulumi.ResourceOptions):
        return k8s.apiextensions.CustomResource(
            f"{name}-pod-monitor",
            api_version="monitoring.coreos.com/v1",
            kind="PodMonitor",
            metadata=kube.metadata(name, args.namespace, {**self.labels, **args.monitor_labels}),
            spec={
                "selector": {"matchLabels": {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"}},
                "podTargetLabels": ["cnpg.io/cluster"],
                "podMetricsEndpoints": [kube.scrape_endpoint(METRICS_PORT_NAME, job="postgres")],
            },
            opts=opts,
        )

    # --- logical dumps and restore check ----------------------------------------------------------

    def _logical_dumps(
        self, name: str, args: PostgresClusterArgs, dumps: LogicalDumps, opts: pulumi.ResourceOptions
    ) -> None:
        scripts = k8s.core.v1.ConfigMap(
            f"{name}-backup-scripts",
            metadata=kube.metadata(f"{name}-backup-scripts", args.namespace, self.labels),
            data={file: (SCRIPTS_DIR / file).read_text() for file in SCRIPT_FILES},
            opts=opts,
        )
        s3_env = {
            "BUCKET": args.backup_bucket,
            "PREFIX": dumps.prefix.strip("/"),
            "AWS_REGION": args.aws_region,
            "AWS_DEFAULT_REGION": args.aws_region,
            "AWS_PAGER": "",
        }
        dump_schemas = " ".join(dumps.schemas)

        accounts = backup_service_accounts(name)
        if len(accounts.restore_reader) > 52:  # Kubernetes' limit for CronJob names
            raise ValueError(f"PostgresCluster {name!r}: name too long for CronJob {accounts.restore_reader!r}")
        self.dump_cronjob_name = accounts.dump_writer
        upload_env = dict(s3_env)
        if args.kms_key_arn is not None:
            upload_env["SSE_KMS_KEY_ID"] = args.kms_key_arn
        self.dump_cronjob = self._cronjob(
            accounts.dump_writer,
            args,
            dumps,
            dumps.schedule,
            dumps.dump_deadline_seconds,
            dumps.writer_role_arn,
            init=self._container(
                "dump",
                dumps.tools_image,
                "dump.sh",
                dumps.tools_resources,
                {
                    **self._libpq_env(args),
                    "DUMP_DATABASES": args.database,
                    "DUMP_SCHEMAS": dump_schemas,
                },
                with_credentials=True,
            ),
            main=self._container("upload", dumps.aws_cli_image, "upload_dump.sh", dumps.aws_cli_resources, upload_env),
            scripts=scripts,
            opts=opts,
        )

        self.restore_check_cronjob_name = accounts.restore_reader
        self.restore_check_cronjob = self._cronjob(
            accounts.restore_reader,
            args,
            dumps,
            dumps.restore_check_schedule,
            dumps.restore_check_deadline_seconds,
            dumps.reader_role_arn,
            init=self._container("fetch", dumps.aws_cli_image, "fetch_latest_dump.sh", dumps.aws_cli_resources, s3_env),
            main=self._container(
                "restore-check",
                dumps.tools_image,
                "restore_check.sh",
                dumps.tools_resources,
                {
                    "SCRATCH_DIR": f"{WORK_MOUNT}/restore",
                    "MAX_AGE_HOURS": str(dumps.max_age_hours),
                    "MIN_TABLES": str(dumps.min_tables),
                },
            ),
            scripts=scripts,
            opts=opts,
        )

    def _libpq_env(self, args: PostgresClusterArgs) -> dict[str, pulumi.Input[str]]:
        # `<name>-rw.<ns>.svc` is among the DNS names of CNPG's server certificate, so verify-full works
        # against the cluster's own CA (Secret `<name>-ca`).
        return {
            "PGHOST": pulumi.Output.concat(self.cluster_name, "-rw.", args.namespace, ".svc"),
            "PGPORT": str(POSTGRES_PORT),
            "PGUSER": args.owner,
            "PGPASSWORD_FILE": f"{PASSWORD_MOUNT}/password",
            "PGSSLMODE": "verify-full",
            "PGSSLROOTCERT": f"{SERVER_CA_MOUNT}/ca.crt",
            "PGCONNECT_TIMEOUT": "30",
        }

    def _container(
        self,
        container_name: str,
        image: str,
        script: str,
        resources: Resources,
        env: Mapping[str, pulumi.Input[str]],
        with_credentials: bool = False,
    ) -> dict[str, Any]:
        mounts = [
            {"name": "scripts", "mountPath": SCRIPTS_MOUNT, "readOnly": True},
            {"name": "work", "mountPath": WORK_MOUNT},
            {"name": "tmp", "mountPath": "/tmp"},
        ]
        if with_credentials:
            mounts += [
                {"name": "credentials", "mountPath": PASSWORD_MOUNT, "readOnly": True},
                {"name": "server-ca", "mountPath": SERVER_CA_MOUNT, "readOnly": True},
            ]
        full_env = {"DUMP_DIR": f"{WORK_MOUNT}/dumps", "HOME": "/tmp", **env}
        return {
            "name": container_name,
            "image": image,
            "imagePullPolicy": "Always",
            "command": ["bash", f"{SCRIPTS_MOUNT}/{script}"],
            "env": [{"name": key, "value": value} for key, value in sorted(full_env.items())],
            "resources": kube.resources(resources),
            "securityContext": kube.container_security_context(TOOLS_UID),
            "volumeMounts": mounts,
        }

    def _cronjob(
        self,
        job_name: str,
        args: PostgresClusterArgs,
        dumps: LogicalDumps,
        schedule: str,
        deadline_seconds: int,
        role_arn: pulumi.Input[str],
        init: dict[str, Any],
        main: dict[str, Any],
        scripts: k8s.core.v1.ConfigMap,
        opts: pulumi.ResourceOptions,
    ) -> k8s.batch.v1.CronJob:
        labels = kube.app_labels(job_name, args.part_of, component="database-backup")
        self.job_selectors[job_name] = kube.selector_labels(job_name)
        account = k8s.core.v1.ServiceAccount(
            f"{job_name}-sa",
            metadata=kube.metadata(job_name, args.namespace, labels, {kube.IRSA_ANNOTATION: role_arn}),
            # The EKS pod identity webhook projects its own web-identity token; no API token is needed.
            automount_service_account_token=False,
            opts=opts,
        )
        volumes = [
            {"name": "scripts", "configMap": {"name": scripts.metadata.name, "defaultMode": 0o444}},
            kube.empty_dir("work", dumps.scratch_size),
            kube.empty_dir("tmp", kube.TMP_SIZE_LIMIT),
        ]
        if any(m["name"] == "credentials" for c in (init, main) for m in c["volumeMounts"]):
            volumes += [
                {
                    "name": "credentials",
                    "secret": {
                        "secretName": self.credentials_secret_name,
                        "defaultMode": 0o440,
                        "items": [{"key": "password", "path": "password"}],
                    },
                },
                {
                    "name": "server-ca",
                    "secret": {
                        "secretName": f"{self.cluster_name}-ca",
                        "defaultMode": 0o444,
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    },
                },
            ]
        annotations = {
            "ai-platform/run-as-user-reason": TOOLS_UID_REASON,
            **kube.checkov_skips(kube.fixed_uid_findings(TOOLS_UID_REASON, init["image"], main["image"])),
        }
        return k8s.batch.v1.CronJob(
            f"{job_name}-cronjob",
            metadata=kube.metadata(job_name, args.namespace, labels, annotations),
            spec={
                "schedule": schedule,
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 3600,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "backoffLimit": dumps.backoff_limit,
                        "activeDeadlineSeconds": deadline_seconds,
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {
                                "serviceAccountName": account.metadata.name,
                                "automountServiceAccountToken": False,
                                "restartPolicy": "Never",
                                "securityContext": kube.pod_security_context(TOOLS_UID),
                                # Init container and main container hand the archives over in `work`.
                                "initContainers": [init],
                                "containers": [main],
                                "volumes": volumes,
                            },
                        },
                    },
                },
            },
            opts=opts,
        )


def _managed_role(cluster: str, role: str) -> dict[str, Any]:
    return {
        "name": role,
        "ensure": "present",
        "login": True,
        "inherit": False,
        "passwordSecret": {"name": _credentials_secret(cluster, _dns(role))},
    }


def _dns(identifier: str) -> str:
    """An SQL identifier as a DNS label (for Kubernetes object names)."""
    return identifier.replace("_", "-")


def _credentials_secret(cluster: str, login: str) -> str:
    """The basic-auth Secret of LOGIN (a DNS label: `owner` or a schema role) that CNPG reads."""
    return f"{cluster}-{login}-credentials"


def _parameters(args: PostgresClusterArgs) -> dict[str, str]:
    parameters = dict(args.parameters)
    if args.pg_stat_statements:
        # Any pg_stat_statements.* parameter makes CNPG preload the library and create the extension.
        parameters.setdefault("pg_stat_statements.max", "10000")
        parameters.setdefault("pg_stat_statements.track", "all")
    return parameters


def _storage(size: str, storage_class: str | None) -> dict[str, str]:
    storage = {"size": size}
    if storage_class:
        storage["storageClass"] = storage_class
    return storage


def _major(image: pulumi.Input[str]) -> int | None:
    """PostgreSQL major version from an image tag like `postgres:18.6-trixie`; None when not readable.

    An image resolved at deploy time (an Output) cannot be read here; callers check the tags they pin.
    """
    if not isinstance(image, str):
        return None
    match = re.search(r":(\d+)(?:[.-]|$)", image.split("@")[0].rsplit("/", 1)[-1])
    return int(match.group(1)) if match else None
