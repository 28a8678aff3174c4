"""AppDeployment: one stateless HTTP app, hardened for the Pod Security `restricted` profile.

Owns the app's ServiceAccount, config-file ConfigMap, Deployment, Service and, where asked, its
PodDisruptionBudget, HorizontalPodAutoscaler (components/autoscaling.py) and ServiceMonitor. Where its pods may
run: components/scheduling.py; what they mount: components/app_volumes.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import kube
from components.app_volumes import ClaimMount, ScratchVolume, WritableDir, check_volumes, pod_volumes
from components.autoscaling import (  # Autoscaling: the type of `AppDeploymentArgs.autoscaling`; callers import it here
    Autoscaling,
    HpaTarget,
    horizontal_pod_autoscaler,
)
from components.kube import Resources  # the type of `AppDeploymentArgs.resources`; app callers import it from here
from components.log_follower import LogDir, LogFollower, follower_container, tmp_volume
from components.scheduling import Scheduling, scheduling_fields


@dataclass(frozen=True)
class Probe:
    """An HTTP probe against the app's own port, or a command run in the container (apps that serve no HTTP)."""

    path: str = ""
    """URL path, e.g. `/health`; empty with `command`."""
    initial_delay_seconds: int = 0
    """Wait after the container starts before the first probe."""
    period_seconds: int = 10
    """Time between probes."""
    timeout_seconds: int = 3
    """Time a probe may take before it counts as failed."""
    failure_threshold: int = 3
    """Consecutive failures that fail the probe."""
    command: tuple[str, ...] = ()
    """Command whose exit status 0 passes the probe, instead of an HTTP request."""

    def __post_init__(self) -> None:
        if bool(self.path) == bool(self.command):
            raise ValueError(f"a probe is either an HTTP path or a command, got {self.path!r} and {self.command!r}")


@dataclass(frozen=True)
class Probes:
    """Liveness, readiness and startup probes (startup guards slow boots from liveness kills)."""

    liveness: Probe
    """Failing it restarts the container."""
    readiness: Probe
    """Failing it takes the pod out of its Services' endpoints."""
    startup: Probe | None = None
    """Defaults to the liveness check, allowing `startup_budget_seconds` to boot."""
    startup_budget_seconds: int = 120
    """How long the startup probe may keep failing before the container is restarted."""


@dataclass(frozen=True)
class SecretRef:
    """An env var taken from a key of a Kubernetes Secret."""

    secret: str
    """Secret name."""
    key: str
    """Key inside the Secret."""
    optional: bool = False
    """Start the container even when the Secret or key is missing."""


@dataclass(frozen=True)
class AppDeploymentArgs:
    """Everything one app needs to run."""

    namespace: pulumi.Input[str]
    """Namespace the app runs in."""
    image: pulumi.Input[str]
    """Image reference (tag or digest)."""
    port: int
    """HTTP port the app serves on; the Service exposes it under the same number."""
    probes: Probes
    """HTTP probes on `port`."""
    resources: Resources
    """Requests and limits of the app container."""
    container_name: str | None = None
    """Container name; defaults to the app name (the manuals' `kubectl set image` uses it)."""
    part_of: str | None = None
    """Value of `app.kubernetes.io/part-of`."""
    replicas: int = 1
    """Replica count when no autoscaling is set."""
    autoscaling: Autoscaling | None = None
    """HPA settings; when set, the Deployment leaves `replicas` to the HPA."""
    declare_hpa: bool = True
    """Declare the HPA of `autoscaling` here; False when the caller scales the Deployment with an HPA of its own
    (blue-green: one HPA follows the active colour)."""
    deployment_labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on the Deployment object only, not its pods (changing them restarts nothing)."""
    metrics_port: int | None = None
    """Port of `/metrics` when it differs from `port`."""
    metrics_path: str = "/metrics"
    """HTTP path the ServiceMonitor scrapes."""
    service_monitor: bool = False
    """Declare a ServiceMonitor (needs the Prometheus Operator CRDs)."""
    service_monitor_labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on the ServiceMonitor, e.g. the one Prometheus selects on."""
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain environment variables."""
    secret_env: Mapping[str, SecretRef] = field(default_factory=dict)
    """Environment variables read from Secrets (`secretKeyRef`)."""
    config_files: Mapping[str, str] = field(default_factory=dict)
    """File name -> content, mounted read-only at `config_mount_path` from a ConfigMap."""
    config_mount_path: str = "/app/config"
    """Directory the config files are mounted in."""
    writable_dirs: Sequence[WritableDir] = ()
    """emptyDir mounts for paths the app writes (`/tmp` is always writable)."""
    log_follower: LogFollower | None = None
    """A sidecar printing the files of the `logs` writable dirs for the log shipper; None leaves them in the pod."""
    scratch: ScratchVolume | None = None
    """A volume per pod on a cloud disk for scratch space the node's disk cannot hold."""
    claims: Sequence[ClaimMount] = ()
    """Existing PersistentVolumeClaims the pods mount (e.g. one they all share)."""
    scheduling: Scheduling | None = None
    """Node selector and tolerations; None schedules anywhere."""
    termination_grace_seconds: int = 30
    """Grace period; `preStop` sleeps for a third of it so endpoints drain before SIGTERM."""
    automount_service_account_token: bool = False
    """Mount a Kubernetes API token; only apps that call the API need one."""
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """E.g. the IRSA role (`eks.amazonaws.com/role-arn`)."""
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    """Extra pod labels (e.g. the colour of a blue-green pair)."""
    run_as_user: int = 10001
    """UID (and GID) the container runs as; non-root."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations on the Deployment (e.g. checkov suppressions with their reasons)."""

    def __post_init__(self) -> None:
        check_volumes(self.resources.limits, self.writable_dirs, self.scratch, self.claims)

    @property
    def separate_metrics_port(self) -> bool:
        """Whether `/metrics` is served on a port of its own (`metrics`) rather than on `port`."""
        return bool(self.metrics_port) and self.metrics_port != self.port


class AppDeployment(pulumi.ComponentResource):
    """A hardened Deployment with its Service, and PDB/HPA/ServiceMonitor where asked."""

    service_name: str
    """Name of the Service (the app name)."""
    url: pulumi.Output[str]
    """In-cluster URL, e.g. `http://app.ns.svc.cluster.local:8000`."""
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    hpa: k8s.autoscaling.v2.HorizontalPodAutoscaler | None
    pdb: k8s.policy.v1.PodDisruptionBudget | None
    labels: dict[str, str]
    """Pod labels, for NetworkPolicies and Services that select these pods."""
    selector: dict[str, str]
    """Selects every pod of the app (`app: <app>`), for NetworkPolicies."""
    port: int
    """The app's HTTP port."""
    metrics_port: int
    """Where Prometheus scrapes `/metrics`."""

    def __init__(self, name: str, args: AppDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:app_deployment:AppDeployment", name, None, opts)
        child = kube.child_options(self, opts)
        self.labels = {**kube.app_labels(name, args.part_of), **args.pod_labels}
        self.selector = {"app": self.labels["app"]}
        self.port, self.metrics_port = args.port, args.metrics_port or args.port
        self.service_name = name

        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=kube.metadata(name, args.namespace, self.labels, args.service_account_annotations),
            automount_service_account_token=args.automount_service_account_token,
            opts=child,
        )
        config_map = self._config_map(name, args, child) if args.config_files else None
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=kube.metadata(
                name,
                args.namespace,
                {**self.labels, **args.deployment_labels},
                {**args.annotations, **kube.PULUMI_WINS},
            ),
            spec=self._deployment_spec(name, args, account, config_map),
            opts=child,
        )
        self.service = self._service(name, args, child)
        self.pdb = (
            kube.disruption_budget(f"{name}-pdb", name, args.namespace, self.labels, child)
            if _min_replicas(args) > 1
            else None
        )
        self.hpa = None
        if args.autoscaling is not None and args.declare_hpa:
            self.hpa = horizontal_pod_autoscaler(
                f"{name}-hpa",
                HpaTarget(args.autoscaling.name or name, args.namespace, name, self.labels),
                args.autoscaling,
                pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.deployment])),
            )
        if args.service_monitor:
            self._service_monitor(name, args, child)

        self.url = kube.service_url(name, args.namespace, args.port)
        self.register_outputs({"serviceName": name, "url": self.url})

    def _config_map(self, name: str, args: AppDeploymentArgs, opts: pulumi.ResourceOptions) -> k8s.core.v1.ConfigMap:
        return k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=kube.metadata(f"{name}-config", args.namespace, self.labels),
            data=dict(args.config_files),
            opts=opts,
        )

    def _deployment_spec(
        self,
        name: str,
        args: AppDeploymentArgs,
        account: k8s.core.v1.ServiceAccount,
        config_map: k8s.core.v1.ConfigMap | None,
    ) -> dict[str, Any]:
        selector = kube.selector_labels(name)
        volumes, mounts = pod_volumes(args.writable_dirs, args.scratch, args.claims)
        pod_annotations: dict[str, str] = {}
        containers = [self._container(name, args, mounts)]
        log_dirs = [LogDir(f"writable-{i}", d.path) for i, d in enumerate(args.writable_dirs) if d.logs]
        if args.log_follower is not None and log_dirs:
            containers.append(follower_container(args.log_follower, log_dirs, args.run_as_user))
            volumes.append(tmp_volume())
            # `kubectl logs <pod>` keeps showing the app, as the manuals expect.
            pod_annotations["kubectl.kubernetes.io/default-container"] = containers[0]["name"]
        if config_map is not None:
            volumes.append({"name": "config", "configMap": {"name": f"{name}-config"}})
            mounts.append({"name": "config", "mountPath": args.config_mount_path, "readOnly": True})
            # A content hash rolls the pods when a config file changes.
            pod_annotations["ai-platform/config-hash"] = _config_hash(args.config_files)

        spec: dict[str, Any] = {
            "selector": {"matchLabels": selector},
            "revisionHistoryLimit": 10,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": self.labels, **({"annotations": pod_annotations} if pod_annotations else {})},
                "spec": {
                    "serviceAccountName": account.metadata.name,
                    "automountServiceAccountToken": args.automount_service_account_token,
                    "securityContext": kube.pod_security_context(args.run_as_user),
                    "terminationGracePeriodSeconds": args.termination_grace_seconds,
                    "topologySpreadConstraints": kube.zone_spread(selector),
                    "containers": containers,
                    "volumes": volumes,
                    **scheduling_fields(args.scheduling),
                },
            },
        }
        if args.autoscaling is None:
            spec["replicas"] = args.replicas
        return spec

    def _container(self, name: str, args: AppDeploymentArgs, mounts: list[dict[str, Any]]) -> dict[str, Any]:
        ports = [{"name": "http", "containerPort": args.port, "protocol": "TCP"}]
        if args.separate_metrics_port:
            ports.append({"name": "metrics", "containerPort": args.metrics_port, "protocol": "TCP"})
        env = kube.env_vars(args.env)
        env += [
            {"name": k, "valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key, "optional": ref.optional}}}
            for k, ref in sorted(args.secret_env.items())
        ]
        probes = args.probes
        startup = probes.startup or replace(probes.liveness, initial_delay_seconds=0, period_seconds=5)
        return {
            "name": args.container_name or name,
            "image": args.image,
            "imagePullPolicy": "Always",
            "ports": ports,
            "env": env,
            "resources": kube.resources(args.resources),
            "securityContext": kube.container_security_context(args.run_as_user),
            "livenessProbe": _probe(probes.liveness, args.port),
            "readinessProbe": _probe(probes.readiness, args.port),
            "startupProbe": {
                **_probe(startup, args.port),
                "failureThreshold": max(1, probes.startup_budget_seconds // startup.period_seconds),
            },
            "lifecycle": {"preStop": {"sleep": {"seconds": max(1, args.termination_grace_seconds // 3)}}},
            "volumeMounts": mounts,
        }

    def _service(self, name: str, args: AppDeploymentArgs, opts: pulumi.ResourceOptions) -> k8s.core.v1.Service:
        selector = {**kube.selector_labels(name), **args.pod_labels}
        return k8s.core.v1.Service(
            f"{name}-service",
            metadata=kube.metadata(name, args.namespace, self.labels),
            spec={"type": "ClusterIP", "selector": selector, "ports": service_ports(args)},
            opts=opts,
        )

    def _service_monitor(self, name: str, args: AppDeploymentArgs, opts: pulumi.ResourceOptions) -> None:
        kube.service_monitor(
            f"{name}-servicemonitor",
            name,
            args.namespace,
            {**self.labels, **args.service_monitor_labels},
            kube.selector_labels(name),
            kube.scrape_endpoint("metrics" if args.separate_metrics_port else "http", args.metrics_path),
            opts,
        )


def check_tracks_match(name: str, args: AppDeploymentArgs, other_name: str, other: AppDeploymentArgs) -> None:
    """Two tracks of one app (blue/green, stable/canary) share Services and routes, so they must be reached alike."""
    for setting in ("namespace", "port", "metrics_port", "part_of"):
        mine, theirs = getattr(args, setting), getattr(other, setting)
        # Outputs (e.g. a Namespace's name) cannot be compared before they resolve.
        if not isinstance(mine, pulumi.Output) and not isinstance(theirs, pulumi.Output) and mine != theirs:
            raise ValueError(f"{name} and {other_name} must share {setting}")


def service_ports(args: AppDeploymentArgs) -> list[dict[str, Any]]:
    """Ports of a Service in front of the app: `http`, and `metrics` when it has a port of its own."""
    ports = [{"name": "http", "port": args.port, "targetPort": args.port, "protocol": "TCP"}]
    if args.separate_metrics_port:
        ports.append({"name": "metrics", "port": args.metrics_port, "targetPort": args.metrics_port, "protocol": "TCP"})
    return ports


def _min_replicas(args: AppDeploymentArgs) -> int:
    return args.autoscaling.min_replicas if args.autoscaling else args.replicas


def _probe(probe: Probe, port: int) -> dict[str, Any]:
    action = {"exec": {"command": list(probe.command)}} if probe.command else kube.http_get(probe.path, port)
    return {
        **action,
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
    }


def _config_hash(files: Mapping[str, str]) -> str:
    return kube.short_hash("".join(f"{key}\0{files[key]}\0" for key in sorted(files)))
