"""PointInTimeDrill: a scheduled proof that a CloudNativePG database recovers to a point in time (X-09, S3-11).

Weekly, CronJob `<cluster>-pitr-drill` runs scripts/postgres/pitr_drill.sh: it writes a marker row before and
after a target time in the source database, waits until that WAL is archived, creates the scratch `Cluster`
`<cluster>-pitr` that recovers from the source's Barman Cloud `ObjectStore` up to the target
(`bootstrap.recovery.recoveryTarget.targetTime`, through the plugin), checks it and deletes it again. A failed
or missing run raises the drill's CronJob alerts.

Owns (in the source's namespace):
- ConfigMap `<cluster>-pitr-drill`: the script and the scratch Cluster (`scratch-cluster.json`, the target
  written into it at run time). The scratch cluster archives no WAL (no WAL-archiver plugin), reads the store
  with its own read-only IRSA role (`role_arn`, trusted by ServiceAccount `<cluster>-pitr`, which
  CloudNativePG names after the cluster) and serves a certificate of the source's CA (`<cluster>-ca`), so the
  drill verifies it with the CA it already mounts;
- ServiceAccount, Role and RoleBinding `<cluster>-pitr-drill`: create Clusters, and get, watch and delete
  only `<cluster>-pitr`; nothing else. RBAC cannot limit `create` by name, so a ValidatingAdmissionPolicy
  (cluster-scoped, `<namespace>.<cluster>-pitr-drill`) refuses any Cluster this ServiceAccount creates or
  changes unless it is `<cluster>-pitr`, recovers, and archives no WAL;
- CronJob `<cluster>-pitr-drill`: an init container copies kubectl (from the Kubernetes project's image) into
  the scratch volume; the drill runs in the official postgres image (psql), as the database owner.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

import versions
from components import kube
from components.kube import Resources
from components.postgres_backups import (
    BARMAN_PLUGIN,
    SCRIPTS_DIR,
    TOOLS_UID,
    tools_cronjob_spec,
    tools_job_annotations,
)
from components.postgres_instances import storage_spec
from components.postgres_logins import PG_HBA, OwnerLogin

DRILL_SCRIPT = "pitr_drill.sh"
SCRATCH_MANIFEST = "scratch-cluster.json"
TARGET_TIME = "__TARGET_TIME__"
"""Placeholder in the scratch Cluster for the target time the script picks."""
SCRIPT_MOUNT = "/opt/pitr-drill"
WORK_MOUNT = "/work"


@dataclass(frozen=True)
class DrillNames:
    """Names the drill uses, known before it exists (for IRSA trust subjects and NetworkPolicies)."""

    job: str
    """CronJob, its ServiceAccount and Role: `<cluster>-pitr-drill`."""
    scratch_cluster: str
    """The scratch Cluster `<cluster>-pitr`, also the ServiceAccount CloudNativePG gives its pods."""


def drill_names(cluster: str) -> DrillNames:
    return DrillNames(f"{cluster}-pitr-drill", f"{cluster}-pitr")


@dataclass(frozen=True)
class PointInTimeDrillArgs:
    """The source database and how to rehearse its recovery."""

    namespace: pulumi.Input[str]
    """Namespace of the source cluster (the scratch cluster and the drill live there too)."""
    cluster: str
    """The source CloudNativePG Cluster; also its `serverName` in the object store."""
    object_store: str
    """The source's Barman Cloud ObjectStore (same namespace)."""
    database: str
    """Application database, checked after recovery."""
    owner: str
    """Its owner: the drill writes its markers as this role."""
    credentials_secret: str
    """basic-auth Secret of the owner (the recovered cluster keeps the same password)."""
    role_arn: pulumi.Input[str]
    """IRSA role of the scratch cluster: read-only on the source's base backups and WAL."""
    image_name: pulumi.Input[str]
    """PostgreSQL image of the scratch cluster: the source's (a recovery needs the same major version)."""
    storage_size: str
    """Data volume of the scratch cluster: the source's size, so the recovered data fits."""
    storage_class: str | None = None
    schedule: str = "0 4 * * 6"
    """Five-field cron, UTC: Saturdays 04:00, apart from the dumps (daily 02:30) and restore check (Sun 05:00)."""
    archive_timeout_seconds: int = 1200
    """How long the drill waits for its marker's WAL in the object store (CloudNativePG archives every 5 min)."""
    recovery_timeout_seconds: int = 5400
    """How long the recovery may take: base backup download plus WAL replay (RTO 1 h, S3-11, with slack)."""
    deadline_seconds: int = 3 * 3600
    """The drill's Job is stopped after this long and counts as failed."""
    resources: Resources = field(
        default_factory=lambda: Resources({"cpu": "500m", "memory": "1Gi"}, {"cpu": "1", "memory": "2Gi"})
    )
    """Requests/limits of the scratch PostgreSQL instance."""
    job_resources: Resources = field(
        default_factory=lambda: Resources({"cpu": "50m", "memory": "64Mi"}, {"cpu": "500m", "memory": "256Mi"})
    )
    """Requests/limits of the drill's containers (psql and kubectl)."""
    tools_image: pulumi.Input[str] = versions.POSTGRES_TOOLS_IMAGE
    kubectl_image: pulumi.Input[str] = versions.KUBECTL_IMAGE
    """The Kubernetes project's kubectl (Debian base, with a shell): its binary is copied into the drill's pod."""
    part_of: str | None = None

    def __post_init__(self) -> None:
        if len(self.schedule.split()) != 5:
            raise ValueError(f"PointInTimeDrillArgs: schedule needs five cron fields, got {self.schedule!r}")
        if len(drill_names(self.cluster).job) > 52:  # Kubernetes' limit for CronJob names
            raise ValueError(f"PointInTimeDrillArgs: cluster name {self.cluster!r} is too long for its drill CronJob")
        if self.recovery_timeout_seconds + self.archive_timeout_seconds >= self.deadline_seconds:
            raise ValueError("PointInTimeDrillArgs: the deadline must leave time for archiving and recovery")


class PointInTimeDrill(pulumi.ComponentResource):
    """A weekly point-in-time recovery of one database into a scratch cluster, checked and removed."""

    cronjob_name: str
    """`<cluster>-pitr-drill`, for the drill's alerts."""
    scratch_cluster_name: str
    selector: dict[str, str]
    """Selects the drill's pods, for NetworkPolicies."""
    scratch_selector: dict[str, str]
    """Selects the scratch cluster's instances (CloudNativePG labels them with the cluster name)."""
    cronjob: k8s.batch.v1.CronJob

    def __init__(self, name: str, args: PointInTimeDrillArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:pitr_drill:PointInTimeDrill", name, None, opts)
        child = kube.child_options(self, opts)
        names = drill_names(args.cluster)
        self.cronjob_name, self.scratch_cluster_name = names.job, names.scratch_cluster
        self.selector = kube.selector_labels(names.job)
        self.scratch_selector = {"cnpg.io/cluster": names.scratch_cluster}
        labels = kube.app_labels(names.job, args.part_of, component="database-backup")

        files = k8s.core.v1.ConfigMap(
            f"{name}-files",
            metadata=kube.metadata(names.job, args.namespace, labels),
            data={
                DRILL_SCRIPT: (SCRIPTS_DIR / DRILL_SCRIPT).read_text(),
                SCRATCH_MANIFEST: pulumi.Output.json_dumps(scratch_cluster(args, names), indent=2),
            },
            opts=child,
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=kube.metadata(names.job, args.namespace, labels),
            automount_service_account_token=False,
            opts=child,
        )
        self._access(name, args, names, labels, child)
        self.cronjob = self._cronjob(name, args, names, labels, account, files, child)
        self.register_outputs({"cronJob": names.job, "scratchCluster": names.scratch_cluster})

    def _access(
        self,
        name: str,
        args: PointInTimeDrillArgs,
        names: DrillNames,
        labels: Mapping[str, str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        role = k8s.rbac.v1.Role(
            f"{name}-role",
            metadata=kube.metadata(names.job, args.namespace, labels),
            rules=[
                {"apiGroups": ["postgresql.cnpg.io"], "resources": ["clusters"], "verbs": ["create"]},
                {
                    "apiGroups": ["postgresql.cnpg.io"],
                    "resources": ["clusters"],
                    "resourceNames": [names.scratch_cluster],
                    "verbs": ["get", "list", "watch", "delete"],
                },
            ],
            opts=opts,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-role-binding",
            metadata=kube.metadata(names.job, args.namespace, labels),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role.metadata.name},
            subjects=[{"kind": "ServiceAccount", "name": names.job, "namespace": args.namespace}],
            opts=opts,
        )
        policy_name = pulumi.Output.concat(args.namespace, ".", names.job)
        username = pulumi.Output.concat("system:serviceaccount:", args.namespace, ":", names.job)
        policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-admission-policy",
            metadata=kube.metadata(policy_name, labels=labels),
            spec={
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["postgresql.cnpg.io"],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["clusters"],
                        }
                    ]
                },
                "matchConditions": [
                    {
                        "name": "drill-service-account",
                        "expression": username.apply(lambda u: f"request.userInfo.username == {json.dumps(u)}"),
                    }
                ],
                "validations": [
                    {
                        "expression": f"object.metadata.name == {json.dumps(names.scratch_cluster)}",
                        "message": f"the drill may only create Cluster {names.scratch_cluster}",
                    },
                    {
                        "expression": "has(object.spec.bootstrap) && has(object.spec.bootstrap.recovery)",
                        "message": "the drill's Cluster must recover from a backup",
                    },
                    {
                        "expression": "!has(object.spec.plugins) || object.spec.plugins.all(p, "
                        "!has(p.isWALArchiver) || !p.isWALArchiver)",
                        "message": "the drill's Cluster must not archive WAL",
                    },
                ],
            },
            opts=opts,
        )
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-admission-policy-binding",
            metadata=kube.metadata(policy_name, labels=labels),
            spec={
                "policyName": policy.metadata.name,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": args.namespace}}
                },
            },
            opts=opts,
        )

    def _cronjob(
        self,
        name: str,
        args: PointInTimeDrillArgs,
        names: DrillNames,
        labels: Mapping[str, str],
        account: k8s.core.v1.ServiceAccount,
        files: k8s.core.v1.ConfigMap,
        opts: pulumi.ResourceOptions,
    ) -> k8s.batch.v1.CronJob:
        security = kube.container_security_context(TOOLS_UID)
        copy_kubectl = {
            "name": "kubectl",
            "image": args.kubectl_image,
            "imagePullPolicy": "Always",
            "command": ["cp", "/bin/kubectl", f"{WORK_MOUNT}/kubectl"],
            "resources": kube.resources(args.job_resources),
            "securityContext": security,
            "volumeMounts": [{"name": "work", "mountPath": WORK_MOUNT}],
        }
        login = OwnerLogin(args.cluster, args.namespace, args.database, args.owner, args.credentials_secret)
        # Both clusters' server certificates come from the source's CA (the scratch one by serverCASecret).
        env = {
            **login.env(),
            "PGDATABASE": args.database,
            "NAMESPACE": args.namespace,
            "SCRATCH_CLUSTER": names.scratch_cluster,
            "SCRATCH_HOST": pulumi.Output.concat(names.scratch_cluster, "-rw.", args.namespace, ".svc"),
            "CLUSTER_MANIFEST": f"{SCRIPT_MOUNT}/{SCRATCH_MANIFEST}",
            "KUBECTL": f"{WORK_MOUNT}/kubectl",
            "ARCHIVE_TIMEOUT_SECONDS": str(args.archive_timeout_seconds),
            "RECOVERY_TIMEOUT_SECONDS": str(args.recovery_timeout_seconds),
            "HOME": "/tmp",
        }
        drill = {
            "name": "drill",
            "image": args.tools_image,
            "imagePullPolicy": "Always",
            "command": ["bash", f"{SCRIPT_MOUNT}/{DRILL_SCRIPT}"],
            "env": kube.env_vars(env),
            "resources": kube.resources(args.job_resources),
            "securityContext": security,
            "volumeMounts": [
                {"name": "files", "mountPath": SCRIPT_MOUNT, "readOnly": True},
                {"name": "work", "mountPath": WORK_MOUNT},
                {"name": "tmp", "mountPath": "/tmp"},
                *login.mounts(),
            ],
        }
        pod = {
            "serviceAccountName": account.metadata.name,
            "automountServiceAccountToken": True,
            "restartPolicy": "Never",
            "securityContext": kube.pod_security_context(TOOLS_UID),
            "initContainers": [copy_kubectl],
            "containers": [drill],
            "volumes": [
                {"name": "files", "configMap": {"name": files.metadata.name, "defaultMode": 0o444}},
                kube.empty_dir("work", "256Mi"),
                kube.empty_dir("tmp", kube.TMP_SIZE_LIMIT),
                *login.volumes(),
            ],
        }
        token = (
            f"the drill creates, watches and deletes its scratch Cluster through the API (Role {names.job}): "
            "it needs its token"
        )
        return k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=kube.metadata(
                names.job,
                args.namespace,
                labels,
                tools_job_annotations(args.tools_image, args.kubectl_image, findings={"CKV_K8S_38": token}),
            ),
            # A retry would start over with new markers; the next week's run is the retry.
            spec=tools_cronjob_spec(args.schedule, labels, 0, args.deadline_seconds, pod),
            opts=opts,
        )


def scratch_cluster(args: PointInTimeDrillArgs, names: DrillNames) -> dict[str, Any]:
    """The scratch Cluster, recovering the source up to `__TARGET_TIME__` (the script fills it in)."""
    spec: dict[str, Any] = {
        "instances": 1,
        "imageName": args.image_name,
        "enableSuperuserAccess": False,
        "enablePDB": False,
        "postgresql": {"pg_hba": list(PG_HBA)},
        "bootstrap": {
            "recovery": {
                "source": "origin",
                "database": args.database,
                "owner": args.owner,
                "secret": {"name": args.credentials_secret},
                "recoveryTarget": {"targetTime": TARGET_TIME},
            }
        },
        "externalClusters": [
            {
                "name": "origin",
                "plugin": {
                    "name": BARMAN_PLUGIN,
                    "parameters": {"barmanObjectName": args.object_store, "serverName": args.cluster},
                },
            }
        ],
        "certificates": {"serverCASecret": f"{args.cluster}-ca"},
        "storage": storage_spec(args.storage_size, args.storage_class),
        "resources": kube.resources(args.resources),
        "serviceAccountTemplate": {"metadata": {"annotations": {kube.IRSA_ANNOTATION: args.role_arn}}},
    }
    if args.part_of:
        spec["inheritedMetadata"] = {"labels": {"app.kubernetes.io/part-of": args.part_of}}
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {
            "name": names.scratch_cluster,
            "namespace": args.namespace,
            "labels": kube.app_labels(names.scratch_cluster, args.part_of, component="database-drill"),
        },
        "spec": spec,
    }
