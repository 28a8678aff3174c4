"""The log stack's snapshots and retention (S2-05): what the setup Job registers in Elasticsearch, and the Job and
the CronJob that run the scripts of `scripts/elasticsearch/`.

- Job `elasticsearch-snapshot-setup-<hash>` (named after its content: Jobs are immutable, so a changed script or
  configuration is a new Job, which runs again) registers the S3 snapshot repository, the daily snapshot
  lifecycle policy, the log retention and the log index template, changing only what differs, and verifies
  the repository from every node;
- CronJob `elasticsearch-restore-check` restores the newest log index of the newest snapshot into a scratch
  index, checks it and deletes it again.
Both run as the `snapshot-manager` user, with its password mounted from its Secret and the CA of Elasticsearch's
certificate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

import versions
from components import kube
from components.elastic_pods import CA_MOUNT, CA_VOLUME, ca_volume
from components.elastic_users import LOG_INDICES, RESTORE_SCRATCH_PREFIX, SNAPSHOT_MANAGER
from components.fluent_bit import FIELDS
from components.kube import Resources

SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts" / "elasticsearch"
SCRIPT_FILES = ("esapi.py", "snapshot_setup.py", "restore_check.py")
SCRIPTS_MOUNT = "/opt/es-scripts"
SCRIPTS_CONFIG_MAP = "elasticsearch-snapshot-scripts"
SETUP_CONFIG = "setup-config.json"
SETUP_JOB = "elasticsearch-snapshot-setup"
RESTORE_CHECK = "elasticsearch-restore-check"
SCRIPTS_UID = 10001
PASSWORD_MOUNT = "/var/run/elasticsearch-user"
JOB_RESOURCES = Resources({"cpu": "50m", "memory": "64Mi"}, {"cpu": "500m", "memory": "128Mi"})

DATA_STREAM = "logs-platform-default"
"""Where the shipper writes; the index template and retention apply to `logs-platform-*`."""
SNAPSHOT_REPOSITORY = "backup"
"""As manual 002 names it (`_snapshot/backup/_all`)."""
SLM_POLICY = "daily-snapshots"
RETENTION_POLICY = "platform-logs"
LOG_FIELDS = tuple(FIELDS.values())
"""Fields every shipped log line carries (from the pod's namespace and labels): keywords in the index."""


@dataclass(frozen=True)
class Snapshots:
    """The S3 snapshot repository and its schedule."""

    bucket: pulumi.Input[str]
    """Bucket name."""
    base_path: str
    """Key prefix of the repository (no trailing `/`), e.g. `managed/logging`."""
    region: str
    """AWS region of the bucket."""
    writer_role_arn: pulumi.Input[str]
    """IAM role (IRSA) of the Elasticsearch nodes' ServiceAccount: read, write and delete under `base_path`."""
    retention_days: int = 30
    """Snapshots older than this are deleted by the lifecycle policy (a few are always kept)."""
    schedule: str = "0 30 1 * * ?"
    """When the daily snapshot is taken (Elasticsearch cron, UTC; seconds first)."""
    restore_check_schedule: str = "0 5 * * *"
    """When the restore check runs (Kubernetes cron, UTC), after the snapshot."""
    max_age_hours: int = 26
    """The restore check fails when the newest successful snapshot is older than this."""

    def __post_init__(self) -> None:
        if self.retention_days < 1:
            raise ValueError(f"snapshot retention must be at least 1 day, got {self.retention_days}")
        if self.base_path.startswith("/") or self.base_path.endswith("/"):
            raise ValueError(f"base_path takes no leading or trailing `/`, got {self.base_path!r}")


def setup_config(snapshots: Snapshots, bucket: str, retention_days: int, replicas: int) -> dict[str, Any]:
    """What the setup Job registers: repository, log retention, log index template, daily snapshots (S2-05)."""
    return {
        "repository": {
            "name": SNAPSHOT_REPOSITORY,
            # No server_side_encryption: the bucket's default encryption (its KMS key) applies.
            "body": {"type": "s3", "settings": {"bucket": bucket, "base_path": snapshots.base_path}},
        },
        "ilm_policies": {
            RETENTION_POLICY: {
                "policy": {
                    "phases": {
                        "hot": {
                            "min_age": "0ms",
                            "actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "25gb"}},
                        },
                        "delete": {"min_age": f"{retention_days}d", "actions": {"delete": {}}},
                    }
                }
            }
        },
        "index_templates": {RETENTION_POLICY: _index_template(replicas)},
        "slm_policies": {
            SLM_POLICY: {
                "schedule": snapshots.schedule,
                "name": "<daily-{now/d}>",
                "repository": SNAPSHOT_REPOSITORY,
                "config": {"indices": ["*"], "include_global_state": True},
                "retention": {"expire_after": f"{snapshots.retention_days}d", "min_count": 5, "max_count": 100},
            }
        },
    }


def _index_template(replicas: int) -> dict[str, Any]:
    return {
        "index_patterns": [LOG_INDICES],
        "data_stream": {},
        # Above the built-in `logs` template (priority 100), which would keep logs forever.
        "priority": 200,
        "template": {
            "settings": {
                "index.lifecycle.name": RETENTION_POLICY,
                "index.number_of_shards": 1,
                "index.number_of_replicas": replicas,
            },
            "mappings": {
                "dynamic_templates": [
                    {
                        "strings_as_keywords": {
                            "match_mapping_type": "string",
                            "mapping": {"type": "keyword", "ignore_above": 1024},
                        }
                    }
                ],
                "properties": {
                    "@timestamp": {"type": "date"},
                    "log": {"type": "text"},
                    "message": {"type": "text"},
                    **{field: {"type": "keyword"} for field in LOG_FIELDS},
                },
            },
        },
    }


@dataclass(frozen=True)
class SnapshotJobs:
    """Where the scripts reach Elasticsearch, and with which image."""

    cluster: str
    """The Elasticsearch resource (its HTTP certificate's Secret holds the CA)."""
    url: str
    """`https://` URL of Elasticsearch's HTTP Service."""
    image: pulumi.Input[str] = versions.PYTHON_IMAGE
    """Python 3 image running the scripts (standard library only)."""
    part_of: str | None = None


def declare_snapshot_jobs(
    name: str,
    jobs: SnapshotJobs,
    snapshots: Snapshots,
    config: pulumi.Output[dict[str, Any]],
    namespace: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> tuple[k8s.batch.v1.Job, k8s.batch.v1.CronJob]:
    """The scripts' ConfigMap (with CONFIG, the setup configuration), the setup Job and the restore check."""
    scripts = {file: (SCRIPTS_DIR / file).read_text() for file in SCRIPT_FILES}
    config_text = config.apply(lambda value: json.dumps(value, indent=2, sort_keys=True))
    config_map = k8s.core.v1.ConfigMap(
        f"{name}-snapshot-scripts",
        metadata=kube.metadata(SCRIPTS_CONFIG_MAP, namespace, _labels(jobs)),
        data={**scripts, SETUP_CONFIG: config_text},
        opts=opts,
    )
    content = pulumi.Output.all(config_text, jobs.image).apply(
        lambda parts: kube.short_hash("".join(scripts[f] for f in SCRIPT_FILES) + "".join(parts), 10)
    )
    setup = _script_pod(SETUP_JOB, jobs, "snapshot_setup.py", {"WAIT_SECONDS": "1200"})
    job = k8s.batch.v1.Job(
        f"{name}-snapshot-setup",
        metadata=kube.metadata(
            content.apply(lambda digest: f"{SETUP_JOB}-{digest}"), namespace, setup.labels, setup.annotations
        ),
        spec={"backoffLimit": 3, "activeDeadlineSeconds": 1800, "template": setup.template},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[config_map])),
    )
    check = _script_pod(
        RESTORE_CHECK,
        jobs,
        "restore_check.py",
        {
            "REPOSITORY": SNAPSHOT_REPOSITORY,
            "INDEX_PREFIX": f".ds-{DATA_STREAM.rsplit('-', 1)[0]}-",
            "SCRATCH_PREFIX": RESTORE_SCRATCH_PREFIX,
            "MAX_AGE_HOURS": str(snapshots.max_age_hours),
        },
    )
    cronjob = k8s.batch.v1.CronJob(
        f"{name}-restore-check",
        metadata=kube.metadata(RESTORE_CHECK, namespace, check.labels, check.annotations),
        spec={
            "schedule": snapshots.restore_check_schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": check.labels},
                "spec": {"backoffLimit": 1, "activeDeadlineSeconds": 3600, "template": check.template},
            },
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[job])),
    )
    return job, cronjob


def job_selectors() -> dict[str, dict[str, str]]:
    """The setup Job's and the restore check's pods, by name, for NetworkPolicies."""
    return {app: kube.selector_labels(app) for app in (SETUP_JOB, RESTORE_CHECK)}


def _labels(jobs: SnapshotJobs) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": jobs.part_of} if jobs.part_of else {}


@dataclass(frozen=True)
class _ScriptPod:
    labels: dict[str, str]
    annotations: dict[str, str]
    template: dict[str, Any]


def _script_pod(app: str, jobs: SnapshotJobs, script: str, env: Mapping[str, str]) -> _ScriptPod:
    """A pod running one of the scripts as SNAPSHOT_MANAGER, and its owner's labels and annotations."""
    labels = kube.app_labels(app, jobs.part_of, component="log-snapshots")
    full_env = {
        "ES_URL": jobs.url,
        "ES_USERNAME": SNAPSHOT_MANAGER.name,
        "ES_PASSWORD_FILE": f"{PASSWORD_MOUNT}/password",
        "ES_CA_FILE": f"{CA_MOUNT}/ca.crt",
        "SETUP_CONFIG": f"{SCRIPTS_MOUNT}/{SETUP_CONFIG}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": "/tmp",
        **env,
    }
    container = {
        "name": app.removeprefix("elasticsearch-"),
        "image": jobs.image,
        "imagePullPolicy": "Always",
        "command": ["python3", f"{SCRIPTS_MOUNT}/{script}"],
        "env": kube.env_vars(full_env),
        "resources": kube.resources(JOB_RESOURCES),
        "securityContext": kube.container_security_context(SCRIPTS_UID),
        "volumeMounts": [
            {"name": "scripts", "mountPath": SCRIPTS_MOUNT, "readOnly": True},
            {"name": "credentials", "mountPath": PASSWORD_MOUNT, "readOnly": True},
            {"name": CA_VOLUME, "mountPath": CA_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    password = {"key": "password", "path": "password"}
    spec = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": kube.pod_security_context(SCRIPTS_UID),
        "containers": [container],
        "volumes": [
            {"name": "scripts", "configMap": {"name": SCRIPTS_CONFIG_MAP, "defaultMode": 0o444}},
            {
                "name": "credentials",
                "secret": {"secretName": SNAPSHOT_MANAGER.secret_name, "defaultMode": 0o440, "items": [password]},
            },
            ca_volume(jobs.cluster),
            kube.empty_dir("tmp", kube.TMP_SIZE_LIMIT),
        ],
    }
    annotations = kube.checkov_skips(kube.unpinned_image_finding(jobs.image))
    return _ScriptPod(labels, annotations, {"metadata": {"labels": labels}, "spec": spec})
