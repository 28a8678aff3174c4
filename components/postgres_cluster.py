"""PostgresCluster: one CloudNativePG cluster with continuous backup, logical dumps and a restore check.

Owns (all in the cluster's namespace; `<name>` is the component name, which is also the CNPG cluster name):
- `Cluster` `<name>`: TLS-only `pg_hba` with SCRAM, no superuser access over TCP, the instance's OS user mapped
  to the app's logins for `psql` inside an instance (`pg_ident`), app database and owner from `bootstrap.initdb`
  with our own generated password, extra schemas/extensions after initdb, zone spread
  (instances: components/postgres_instances.py; logins: components/postgres_logins.py).
- Barman Cloud `ObjectStore` `<name>-store` and the cluster's WAL-archiver plugin entry, and
  `ScheduledBackup` `<name>-daily` (S3-11).
- `PodMonitor` `<name>`: scrapes the instances' `metrics` port (9187) with `job="postgres"`.
- Secrets: `<name>-owner-credentials` (`kubernetes.io/basic-auth`, read by CNPG through
  `bootstrap.initdb.secret`), one such Secret per schema role, and the app Secret `args.app_secret_name` with
  key `url`.
- Logical dumps: CronJobs `<name>-logical-dump` and `<name>-restore-check`, their ServiceAccounts and
  ConfigMap `<name>-backup-scripts`. What they and the Barman Cloud objects do, and the alerting signals
  they give: components/postgres_backups.py.

Services: CNPG itself creates `<name>-rw` (primary), `<name>-ro` (replicas only; no endpoints while
`instances == 1`) and `<name>-r` (any instance). The app Secret points at `-rw`, so no extra Service is
declared: a stable alias would only add a second name for the same endpoints. `rw_host` / `ro_host`
expose the names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

import versions
from components import kube
from components.kube import Resources
from components.postgres_backups import (
    BARMAN_PLUGIN,
    BackupJob,
    BaseBackups,
    LogicalDumps,
    backup_problems,
    backup_scripts,
    dump_jobs,
    object_store_spec,
    scheduled_backup_spec,
)
from components.postgres_instances import (
    METRICS_PORT,
    STATUS_PORT,
    instance_selector,
    placement,
    pod_monitor_spec,
    postgresql_parameters,
    storage_spec,
)
from components.postgres_logins import (
    PG_HBA,
    POSTGRES_PORT,
    OwnerLogin,
    connection_url,
    credentials_secret,
    dns,
    identifier_problems,
    initdb,
    managed_role,
    pg_ident,
)


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
    app_service: str | None = None
    """Service the app Secrets point at (a pooler's, PostgresPooler); None: the primary's `<name>-rw`."""
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
        problems = identifier_problems(self._identifiers())
        if self.instances < 1:
            problems.append(f"instances must be >= 1, got {self.instances}")
        for role, schema in self.schema_roles.items():
            if schema not in self.schemas:
                problems.append(f"schema role {role!r} owns {schema!r}, which is not among the schemas")
            if role == self.owner:
                problems.append(f"schema role {role!r} is the database owner")
        problems += backup_problems(self.base_backups, self.dumps, self.image_name)
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
    app_host: pulumi.Output[str]
    """Where the app Secrets point: `args.app_service`, else the primary."""
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
        # Instances only: a pooler's PgBouncer pods may carry the cluster's label too.
        self.selector = instance_selector(name)
        self.port, self.metrics_port, self.status_port = POSTGRES_PORT, METRICS_PORT, STATUS_PORT
        self.cluster_name = name
        self.app_secret_name = args.app_secret_name
        self.credentials_secret_name = credentials_secret(name, "owner")
        self.object_store_name = f"{name}-store"
        self.rw_host = kube.service_host(f"{name}-rw", args.namespace)
        self.ro_host = kube.service_host(f"{name}-ro", args.namespace)
        self.app_host = kube.service_host(args.app_service or f"{name}-rw", args.namespace)
        login = OwnerLogin(name, args.namespace, args.database, args.owner, self.credentials_secret_name)

        self.password, self.url, credentials = self._login("owner", args.owner, args, child)
        self.role_urls = {}
        role_credentials = []
        for role in args.schema_roles:
            _, self.role_urls[role], secret = self._login(dns(role), role, args, child)
            role_credentials.append(secret)
        self._secret("app-secret", args.app_secret_name, args, {"url": self.url}, child)

        self.object_store = k8s.apiextensions.CustomResource(
            f"{name}-object-store",
            api_version="barmancloud.cnpg.io/v1",
            kind="ObjectStore",
            metadata=kube.metadata(self.object_store_name, args.namespace, self.labels),
            spec=object_store_spec(args.base_backups, args.backup_bucket, args.kms_key_arn),
            opts=child,
        )
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
            spec=self._cluster_spec(name, args, login),
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    protect=args.protect,
                    retain_on_delete=args.protect,
                    depends_on=[credentials, *role_credentials, self.object_store],
                ),
            ),
        )
        self.scheduled_backup = k8s.apiextensions.CustomResource(
            f"{name}-scheduled-backup",
            api_version="postgresql.cnpg.io/v1",
            kind="ScheduledBackup",
            metadata=kube.metadata(f"{name}-daily", args.namespace, self.labels),
            spec=scheduled_backup_spec(name, args.base_backups),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.cluster])),
        )
        self.pod_monitor = kube.pod_monitor(
            f"{name}-pod-monitor",
            name,
            args.namespace,
            {**self.labels, **args.monitor_labels},
            pod_monitor_spec(name),
            child,
        )

        self.dump_cronjob = self.restore_check_cronjob = None
        self.dump_cronjob_name = self.restore_check_cronjob_name = None
        self.job_selectors = {}
        if args.dumps is not None:
            # The jobs mount `<name>-ca`, which CNPG creates with the cluster.
            after_cluster = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.cluster]))
            self._logical_dumps(name, args, args.dumps, login, after_cluster)

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
        credentials = self._secret(
            f"{role}-credentials",
            credentials_secret(self.cluster_name, role),
            args,
            {"username": user, "password": secret_password},
            opts,
            secret_type="kubernetes.io/basic-auth",
        )
        return (
            secret_password,
            connection_url(user, secret_password, self.app_host, args.database),
            credentials,
        )

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

    def _cluster_spec(self, name: str, args: PostgresClusterArgs, login: OwnerLogin) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "instances": args.instances,
            "imageName": args.image_name,
            "enableSuperuserAccess": False,
            # A PDB on a single instance only blocks node drains; with replicas it protects the primary.
            "enablePDB": args.instances > 1,
            "postgresql": {
                "parameters": postgresql_parameters(args.parameters, args.pg_stat_statements),
                "pg_hba": list(PG_HBA),
                "pg_ident": pg_ident([args.owner, *args.schema_roles]),
            },
            "bootstrap": {"initdb": initdb(login, args.schemas, args.schema_roles, args.extensions)},
            "storage": storage_spec(args.storage_size, args.storage_class),
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
            spec["managed"] = {"roles": [managed_role(self.cluster_name, role) for role in args.schema_roles]}
        if args.wal_storage_size:
            spec["walStorage"] = storage_spec(args.wal_storage_size, args.storage_class)
        return {**spec, **placement(name, args.instances)}

    # --- logical dumps and restore check ----------------------------------------------------------

    def _logical_dumps(
        self, name: str, args: PostgresClusterArgs, dumps: LogicalDumps, login: OwnerLogin, opts: pulumi.ResourceOptions
    ) -> None:
        scripts = k8s.core.v1.ConfigMap(
            f"{name}-backup-scripts",
            metadata=kube.metadata(f"{name}-backup-scripts", args.namespace, self.labels),
            data=backup_scripts(),
            opts=opts,
        )
        dump, restore_check = dump_jobs(login, args.backup_bucket, args.aws_region, args.kms_key_arn, dumps)
        self.dump_cronjob_name, self.restore_check_cronjob_name = dump.name, restore_check.name
        self.dump_cronjob = self._cronjob(dump, args, scripts, opts)
        self.restore_check_cronjob = self._cronjob(restore_check, args, scripts, opts)

    def _cronjob(
        self, job: BackupJob, args: PostgresClusterArgs, scripts: k8s.core.v1.ConfigMap, opts: pulumi.ResourceOptions
    ) -> k8s.batch.v1.CronJob:
        labels = kube.app_labels(job.name, args.part_of, component="database-backup")
        self.job_selectors[job.name] = kube.selector_labels(job.name)
        account = k8s.core.v1.ServiceAccount(
            f"{job.name}-sa",
            metadata=kube.metadata(job.name, args.namespace, labels, {kube.IRSA_ANNOTATION: job.role_arn}),
            # The EKS pod identity webhook projects its own web-identity token; no API token is needed.
            automount_service_account_token=False,
            opts=opts,
        )
        return k8s.batch.v1.CronJob(
            f"{job.name}-cronjob",
            metadata=kube.metadata(job.name, args.namespace, labels, job.annotations()),
            spec=job.cronjob_spec(labels, account.metadata.name, scripts.metadata.name),
            opts=opts,
        )
