"""Backups of a PostgresCluster and the jobs that prove them (X-09, S1-09, S3-11, S4-05).

- Barman Cloud: the `ObjectStore` spec (base backups and WAL to `s3://<bucket>/<prefix>` with IRSA, no static
  keys, compressed, retention from `BaseBackups`) and the `ScheduledBackup` spec (`method: plugin`, six-field
  cron). WAL is archived continuously (CNPG's `archive_timeout` is 5 min), which gives the hourly RPO.
- Logical dumps: CronJob `<cluster>-logical-dump` (daily `pg_dump -Fc` per database and per schema to
  `s3://<bucket>/<dumps.prefix>/<UTC stamp>/`) and CronJob `<cluster>-restore-check` (weekly restore of the
  newest set into a throwaway server in the pod). Their scripts live in `scripts/postgres/` and are mounted
  from ConfigMap `<cluster>-backup-scripts`.
- What these CronJobs share with the point-in-time drill: the official postgres image's uid, the CronJob
  around the pod, and the checkov findings such a pod carries.

Alerting signals for the monitoring rules (kube-state-metrics and the CNPG exporter):
- dump stale: `time() - kube_cronjob_status_last_successful_time{cronjob="<cluster>-logical-dump"} > 26 * 3600`
- restore check stale: the same metric for `cronjob="<cluster>-restore-check"`, older than 8 days
- a failed run: `kube_job_status_failed{job_name=~"<cluster>-(logical-dump|restore-check)-.*"} > 0`
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

import versions
from components import kube
from components.kube import Resources
from components.postgres_logins import OwnerLogin

BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts" / "postgres"
SCRIPT_FILES = ("dump.sh", "upload_dump.sh", "fetch_latest_dump.sh", "restore_check.sh")
SCRIPTS_MOUNT = "/opt/backup-scripts"
WORK_MOUNT = "/work"

# The official postgres image runs initdb/postgres as its `postgres` user; both refuse root and need the
# uid to exist in the image's /etc/passwd. The aws CLI container shares the same uid for the scratch dir.
TOOLS_UID = 999
TOOLS_UID_REASON = "uid 999 is the postgres user of the official postgres image; initdb/pg_ctl need it"


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


def backup_problems(
    base_backups: BaseBackups, dumps: LogicalDumps | None, server_image: pulumi.Input[str]
) -> list[str]:
    """What is wrong with these backup settings for a server running SERVER_IMAGE (nothing: an empty list)."""
    problems: list[str] = []
    if len(base_backups.schedule.split()) != 6:
        problems.append(f"base_backups.schedule needs six fields (seconds first): {base_backups.schedule!r}")
    if not re.fullmatch(r"[1-9][0-9]*[dwm]", base_backups.retention):
        problems.append(f"base_backups.retention must look like 30d/4w/1m: {base_backups.retention!r}")
    if dumps is not None:
        for what in ("schedule", "restore_check_schedule"):
            if len(getattr(dumps, what).split()) != 5:
                problems.append(f"dumps.{what} needs five cron fields: {getattr(dumps, what)!r}")
        tools, server = _major(dumps.tools_image), _major(server_image)
        if tools is not None and server is not None and tools < server:
            problems.append(f"dumps.tools_image major {tools} is older than the server's {server}: pg_dump refuses")
    return problems


def _major(image: pulumi.Input[str]) -> int | None:
    """PostgreSQL major version from an image tag like `postgres:18.6-trixie`; None when not readable.

    An image resolved at deploy time (an Output) cannot be read here; callers check the tags they pin.
    """
    if not isinstance(image, str):
        return None
    match = re.search(r":(\d+)(?:[.-]|$)", image.split("@")[0].rsplit("/", 1)[-1])
    return int(match.group(1)) if match else None


# --- Barman Cloud -----------------------------------------------------------------------------------


def object_store_spec(
    backups: BaseBackups, bucket: pulumi.Input[str], kms_key_arn: pulumi.Input[str] | None
) -> dict[str, Any]:
    """Spec of the cluster's Barman Cloud `ObjectStore`: base backups and WAL under `s3://<bucket>/<prefix>`."""
    wal: dict[str, Any] = {"compression": "gzip", "maxParallel": 4}
    data: dict[str, Any] = {"compression": "gzip", "jobs": 2}
    if kms_key_arn is not None:
        # Without an explicit key id, `aws:kms` would use the account's aws/s3 key, not the bucket's CMK.
        key = pulumi.Output.concat("--sse-kms-key-id=", kms_key_arn)
        wal.update(encryption="aws:kms", archiveAdditionalCommandArgs=[key])
        data.update(encryption="aws:kms", additionalCommandArgs=[key])
    return {
        "retentionPolicy": backups.retention,
        "configuration": {
            "destinationPath": pulumi.Output.concat("s3://", bucket, "/", backups.prefix.strip("/")),
            "s3Credentials": {"inheritFromIAMRole": True},
            "wal": wal,
            "data": data,
        },
    }


def scheduled_backup_spec(cluster: str, backups: BaseBackups) -> dict[str, Any]:
    """Spec of the `ScheduledBackup` of CLUSTER through the Barman Cloud plugin (a first one right away)."""
    return {
        "cluster": {"name": cluster},
        "schedule": backups.schedule,
        "method": "plugin",
        "pluginConfiguration": {"name": BARMAN_PLUGIN},
        "backupOwnerReference": "self",
        "immediate": True,
    }


# --- logical dumps and restore check ----------------------------------------------------------------


def backup_scripts() -> dict[str, str]:
    """Contents of the `<cluster>-backup-scripts` ConfigMap: the scripts the backup CronJobs run."""
    return {file: (SCRIPTS_DIR / file).read_text() for file in SCRIPT_FILES}


@dataclass(frozen=True)
class BackupJob:
    """One CronJob of the logical dumps: what runs when, under which IRSA role."""

    name: str
    """Name of the CronJob and its ServiceAccount."""
    schedule: str
    """Five-field cron, UTC."""
    deadline_seconds: int
    """A run still going after this long is stopped and counts as failed."""
    backoff_limit: int
    """Retries of a failed run before the Job fails."""
    role_arn: pulumi.Input[str]
    """IRSA role of the ServiceAccount."""
    init: dict[str, Any]
    """Init container; it hands the archives over to `main` in the `work` volume."""
    main: dict[str, Any]
    """Main container."""
    volumes: list[dict[str, Any]]
    """Volumes besides the scripts: the scratch space and, for a job that connects, the owner's login."""

    def annotations(self) -> dict[str, str]:
        """The CronJob's annotations: why its pod runs as TOOLS_UID, and checkov's accepted findings."""
        return tools_job_annotations(self.init["image"], self.main["image"])

    def cronjob_spec(
        self, labels: Mapping[str, str], service_account: pulumi.Input[str], scripts: pulumi.Input[str]
    ) -> dict[str, Any]:
        """The CronJob's spec; its pod runs as SERVICE_ACCOUNT with the scripts of ConfigMap SCRIPTS."""
        pod = {
            "serviceAccountName": service_account,
            "automountServiceAccountToken": False,
            "restartPolicy": "Never",
            "securityContext": kube.pod_security_context(TOOLS_UID),
            "initContainers": [self.init],
            "containers": [self.main],
            "volumes": [{"name": "scripts", "configMap": {"name": scripts, "defaultMode": 0o444}}, *self.volumes],
        }
        return tools_cronjob_spec(self.schedule, labels, self.backoff_limit, self.deadline_seconds, pod)


def dump_jobs(
    login: OwnerLogin,
    bucket: pulumi.Input[str],
    region: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str] | None,
    dumps: LogicalDumps,
) -> tuple[BackupJob, BackupJob]:
    """The dump (pg_dump as the owner, then upload to BUCKET) and the restore check (fetch, then restore into a
    throwaway server in its own pod: it never connects to the cluster)."""
    accounts = backup_service_accounts(login.cluster)
    if len(accounts.restore_reader) > 52:  # Kubernetes' limit for CronJob names
        raise ValueError(f"PostgresCluster {login.cluster!r}: name too long for CronJob {accounts.restore_reader!r}")
    s3_env: dict[str, pulumi.Input[str]] = {
        "BUCKET": bucket,
        "PREFIX": dumps.prefix.strip("/"),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_PAGER": "",
    }
    upload_env = dict(s3_env)
    if kms_key_arn is not None:
        upload_env["SSE_KMS_KEY_ID"] = kms_key_arn
    pg_dump_env = {**login.env(), "DUMP_DATABASES": login.database, "DUMP_SCHEMAS": " ".join(dumps.schemas)}
    scratch = [kube.empty_dir("work", dumps.scratch_size), kube.empty_dir("tmp", kube.TMP_SIZE_LIMIT)]
    dump = BackupJob(
        accounts.dump_writer,
        dumps.schedule,
        dumps.dump_deadline_seconds,
        dumps.backoff_limit,
        dumps.writer_role_arn,
        init=_container("dump", dumps.tools_image, "dump.sh", dumps.tools_resources, pg_dump_env, login.mounts()),
        main=_container("upload", dumps.aws_cli_image, "upload_dump.sh", dumps.aws_cli_resources, upload_env),
        volumes=[*scratch, *login.volumes()],
    )
    restore_check = BackupJob(
        accounts.restore_reader,
        dumps.restore_check_schedule,
        dumps.restore_check_deadline_seconds,
        dumps.backoff_limit,
        dumps.reader_role_arn,
        init=_container("fetch", dumps.aws_cli_image, "fetch_latest_dump.sh", dumps.aws_cli_resources, s3_env),
        main=_container(
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
        volumes=scratch,
    )
    return dump, restore_check


def _container(
    container_name: str,
    image: pulumi.Input[str],
    script: str,
    resources: Resources,
    env: Mapping[str, pulumi.Input[str]],
    login_mounts: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    full_env = {"DUMP_DIR": f"{WORK_MOUNT}/dumps", "HOME": "/tmp", **env}
    return {
        "name": container_name,
        "image": image,
        "imagePullPolicy": "Always",
        "command": ["bash", f"{SCRIPTS_MOUNT}/{script}"],
        "env": kube.env_vars(full_env),
        "resources": kube.resources(resources),
        "securityContext": kube.container_security_context(TOOLS_UID),
        "volumeMounts": [
            {"name": "scripts", "mountPath": SCRIPTS_MOUNT, "readOnly": True},
            {"name": "work", "mountPath": WORK_MOUNT},
            {"name": "tmp", "mountPath": "/tmp"},
            *login_mounts,
        ],
    }


# --- what the database's CronJobs share (also the point-in-time drill) ------------------------------


def tools_cronjob_spec(
    schedule: str, labels: Mapping[str, str], backoff_limit: int, deadline_seconds: int, pod: dict[str, Any]
) -> dict[str, Any]:
    """A CronJob spec running POD on SCHEDULE (UTC), one run at a time, keeping the last three of each outcome."""
    return {
        "schedule": schedule,
        "timeZone": "Etc/UTC",
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 3600,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {
            "metadata": {"labels": labels},
            "spec": {
                "backoffLimit": backoff_limit,
                "activeDeadlineSeconds": deadline_seconds,
                "template": {"metadata": {"labels": labels}, "spec": pod},
            },
        },
    }


def tools_job_annotations(*images: pulumi.Input[str], findings: Mapping[str, str] | None = None) -> dict[str, str]:
    """Annotations of a CronJob whose pod runs IMAGES as TOOLS_UID: the reason, and checkov's accepted findings."""
    accepted = {**kube.fixed_uid_findings(TOOLS_UID_REASON, *images), **(findings or {})}
    return {"ai-platform/run-as-user-reason": TOOLS_UID_REASON, **kube.checkov_skips(accepted)}
