"""RedisCache: Redis on a StatefulSet with append-only persistence, a generated password and metrics.

Owns the generated password, the server's auth Secret, the `redis.conf` ConfigMap, the StatefulSet
(Redis + `redis_exporter` sidecar, one PVC per pod), the client Service, the headless Service, a PDB
when there are replicas, a ServiceMonitor, and the app-facing Secret holding the connection URL.

Replication: pod 0 is the primary; pods 1..n replicate it (`replicaof`) and serve reads. There is
no automatic failover: if pod 0 is lost, writes stop until Kubernetes restarts it on its volume.
Failover needs Sentinel or a managed service (ElastiCache) and is out of scope here.

The password lives only in Secrets and reaches both containers as files (what the containers read and how
they start: components/redis_server.py).
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
from components.redis_server import (
    DEFAULT_DENIED_COMMANDS,
    EVICTION_POLICIES,
    EXPORTER_PASSWORD_FILE,
    EXPORTER_REDIS_ADDR,
    FIXED_UID_REASON,
    METRICS_PORT,
    PORT,
    REDIS_UID,
    check_denied_commands,
    check_memory_headroom,
    exporter_container,
    redis_container,
    render_auth_conf,
    render_exporter_password_file,
    render_redis_conf,
)

EXPORTER_RESOURCES = Resources({"cpu": "50m", "memory": "64Mi"}, {"cpu": "200m", "memory": "128Mi"})


@dataclass(frozen=True)
class RedisCacheArgs:
    """Everything one Redis needs; invalid memory or eviction settings raise ValueError here."""

    namespace: pulumi.Input[str]
    """Namespace Redis runs in (its clients' namespace)."""
    maxmemory: str
    """Redis `maxmemory`, e.g. `1gb`; must fit in the memory limit with headroom."""
    maxmemory_policy: str
    """Eviction policy: `allkeys-lru` for a cache, `noeviction` for a task queue."""
    resources: Resources
    """Requests and limits of the Redis container; `limits.memory` bounds `maxmemory`."""
    storage_size: str
    """Size of each pod's data volume; allow for the AOF growing up to about twice the data set. A larger size
    later grows the volumes in place (the StorageClass must allow volume expansion); volumes never shrink."""
    storage_class: str | None = None
    """StorageClass of the data volumes, fixed when a volume is created; None uses the cluster default."""
    replicas: int = 1
    """Pods: one primary plus `replicas - 1` read replicas (no automatic failover)."""
    image: pulumi.Input[str] = versions.REDIS_IMAGE
    """Official Redis image (Redis 7, as the manuals run); pin a digest per stack."""
    exporter_image: pulumi.Input[str] = versions.REDIS_EXPORTER_IMAGE
    """Official redis_exporter image."""
    exporter_resources: Resources = EXPORTER_RESOURCES
    """Requests and limits of the exporter sidecar."""
    kubernetes_name: str | None = None
    """Name of the Kubernetes objects (Service, StatefulSet...); defaults to the component name, so
    every namespace can call its cache `redis` while component names stay unique in the stack."""
    url_secret_name: str = "redis-secret"
    """Name of the Secret holding the clients' connection URL (the manuals' `redis-secret`)."""
    url_secret_key: str = "url"
    """Key of the URL in that Secret."""
    database: int = 0
    """Database number in the URL."""
    denied_commands: Sequence[str] = DEFAULT_DENIED_COMMANDS
    """Commands the ACL denies to clients (lower case)."""
    part_of: str | None = None
    """Value of `app.kubernetes.io/part-of`."""
    service_monitor: bool = True
    """Declare a ServiceMonitor (needs the Prometheus Operator CRDs)."""
    service_monitor_labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on the ServiceMonitor, e.g. the one Prometheus selects on."""
    protect: bool = False
    """Protect the StatefulSet from deletion (its volumes are always kept when it goes)."""

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise ValueError(f"replicas must be at least 1, got {self.replicas}")
        if self.maxmemory_policy not in EVICTION_POLICIES:
            raise ValueError(f"maxmemory_policy {self.maxmemory_policy!r} is not one of {sorted(EVICTION_POLICIES)}")
        check_denied_commands(self.denied_commands)
        _check_resources(self.resources)
        _check_resources(self.exporter_resources)
        check_memory_headroom(self.maxmemory, self.resources)


class RedisCache(pulumi.ComponentResource):
    """Redis with AOF persistence, a generated password, exporter sidecar and optional replicas.

    Pulumi names derive from the component name; Kubernetes names from `service_name`.
    """

    service_name: str
    """Name of the client Service (routes to the primary, pod 0) and base of the other objects' names."""
    host: pulumi.Output[str]
    """In-cluster DNS name of the client Service."""
    port: int
    """Client port (6379)."""
    url_secret_name: str
    """Name of the Secret with the connection URL (never the value)."""
    url_secret_key: str
    """Key of the URL in that Secret."""
    password: pulumi.Output[str]
    """The generated password (secret Output)."""
    labels: dict[str, str]
    """Pod labels of the Redis pods."""
    selector: dict[str, str]
    """Selects every Redis pod, for NetworkPolicies."""
    metrics_port: int
    """The exporter's port (Prometheus scrapes it)."""
    statefulset: k8s.apps.v1.StatefulSet
    service: k8s.core.v1.Service
    headless_service: k8s.core.v1.Service
    pdb: k8s.policy.v1.PodDisruptionBudget | None
    service_monitor: k8s.apiextensions.CustomResource | None
    config_map: k8s.core.v1.ConfigMap
    """Holds `redis.conf` (no secrets)."""
    volume_sizes: list[k8s.core.v1.PersistentVolumeClaimPatch]
    """The size of each pod's data claim (grown in place)."""
    auth_secret: k8s.core.v1.Secret
    """The server's Secret (`<service_name>-auth`): keys `password`, `auth.conf`, `passwords.json`."""
    url_secret: k8s.core.v1.Secret
    """The clients' Secret `url_secret_name` (key `url_secret_key`)."""

    def __init__(self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:redis_cache:RedisCache", name, None, opts)
        child = kube.child_options(self, opts)
        self.service_name = base = args.kubernetes_name or name
        self.labels = kube.app_labels(base, args.part_of, component="redis")
        self.selector = kube.selector_labels(base)
        self.port, self.metrics_port = PORT, METRICS_PORT
        self.url_secret_name = args.url_secret_name
        self.url_secret_key = args.url_secret_key
        self.host = kube.service_host(base, args.namespace)

        generated = random.RandomPassword(f"{name}-password", length=32, special=False, opts=child)
        self.password = pulumi.Output.secret(generated.result)
        self.auth_secret = self._auth_secret(name, args, child)
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=kube.metadata(f"{base}-config", args.namespace, self.labels),
            data={"redis.conf": render_redis_conf(args.maxmemory, args.maxmemory_policy)},
            opts=child,
        )
        self.headless_service = self._headless_service(name, args, child)
        self.service = self._client_service(name, args, child)
        self.statefulset = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=kube.metadata(
                base,
                args.namespace,
                self.labels,
                kube.checkov_skips(kube.fixed_uid_findings(FIXED_UID_REASON, args.image, args.exporter_image)),
            ),
            spec=self._statefulset_spec(args),
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=[self.auth_secret, self.config_map, self.headless_service],
                    protect=args.protect,
                    # The claim template is immutable: a change would replace the StatefulSet (delete first: an
                    # outage). Sizes are grown on the claims themselves below; the template only seeds new ones.
                    ignore_changes=["spec.volumeClaimTemplates"],
                ),
            ),
        )
        self.volume_sizes = self._volume_sizes(name, args, child)
        self.pdb = (
            kube.disruption_budget(f"{name}-pdb", base, args.namespace, self.labels, child)
            if args.replicas > 1
            else None
        )
        self.service_monitor = self._service_monitor(name, args, child) if args.service_monitor else None
        self.url_secret = self._url_secret(name, args, child)

        self.register_outputs({"serviceName": base, "host": self.host, "urlSecretName": args.url_secret_name})

    def _volume_sizes(
        self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions
    ) -> list[k8s.core.v1.PersistentVolumeClaimPatch]:
        """Each pod's claim held at `storage_size`: a larger size expands the volume in place.

        The StatefulSet controller creates the claims (`data-<name>-<ordinal>`); these patches take only their
        size, forcing it over the controller's ownership. The API server refuses a smaller size, and a size
        its StorageClass cannot expand to, so a volume is never recreated.
        """
        return [
            k8s.core.v1.PersistentVolumeClaimPatch(
                f"{name}-data-{ordinal}",
                metadata={
                    "name": f"data-{self.service_name}-{ordinal}",
                    "namespace": args.namespace,
                    "annotations": kube.PULUMI_WINS,
                },
                spec={"resources": {"requests": {"storage": args.storage_size}}},
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.statefulset])),
            )
            for ordinal in range(args.replicas)
        ]

    def _auth_secret(self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
        denied = tuple(args.denied_commands)
        auth_conf: pulumi.Output[str] = pulumi.Output.secret(
            self.password.apply(lambda pw: render_auth_conf(pw, denied))
        )
        exporter_passwords: pulumi.Output[str] = pulumi.Output.secret(
            self.password.apply(lambda pw: render_exporter_password_file(EXPORTER_REDIS_ADDR, pw))
        )
        return k8s.core.v1.Secret(
            f"{name}-auth",
            metadata=kube.metadata(f"{self.service_name}-auth", args.namespace, self.labels),
            type="Opaque",
            string_data={"password": self.password, "auth.conf": auth_conf, EXPORTER_PASSWORD_FILE: exporter_passwords},
            opts=opts,
        )

    def _url_secret(self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
        url: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.concat("redis://:", self.password, "@", self.host, f":{PORT}/{args.database}")
        )
        return k8s.core.v1.Secret(
            f"{name}-url",
            metadata=kube.metadata(args.url_secret_name, args.namespace, self.labels),
            type="Opaque",
            string_data={args.url_secret_key: url},
            opts=opts,
        )

    def _headless_service(self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions) -> k8s.core.v1.Service:
        """Governs the StatefulSet (pod DNS for replication) and is what Prometheus scrapes: every pod."""
        return k8s.core.v1.Service(
            f"{name}-headless",
            metadata=kube.metadata(f"{self.service_name}-headless", args.namespace, {**self.labels, **_MEMBERS_ROLE}),
            spec={
                "clusterIP": "None",
                # Replicas must resolve pod 0 while it restarts, before it is ready again.
                "publishNotReadyAddresses": True,
                "selector": kube.selector_labels(self.service_name),
                "ports": _ports(),
            },
            opts=opts,
        )

    def _client_service(self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions) -> k8s.core.v1.Service:
        """Routes to pod 0 only: replicas are read-only, so clients that write must reach the primary."""
        return k8s.core.v1.Service(
            f"{name}-service",
            metadata=kube.metadata(self.service_name, args.namespace, self.labels),
            spec={
                "type": "ClusterIP",
                "selector": {
                    **kube.selector_labels(self.service_name),
                    "statefulset.kubernetes.io/pod-name": f"{self.service_name}-0",
                },
                "ports": _ports(),
            },
            opts=opts,
        )

    def _statefulset_spec(self, args: RedisCacheArgs) -> dict[str, Any]:
        base = self.service_name
        selector = kube.selector_labels(base)
        claim = kube.volume_claim_spec(args.storage_size, args.storage_class)
        # Pod 0's own DNS name, which the headless Service gives it.
        primary = pulumi.Output.concat(base, "-0.", kube.service_host(f"{base}-headless", args.namespace))
        # A content hash rolls the pods when redis.conf changes.
        config_hash = kube.short_hash(render_redis_conf(args.maxmemory, args.maxmemory_policy))
        return {
            "serviceName": f"{base}-headless",
            "replicas": args.replicas,
            "selector": {"matchLabels": selector},
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate"},
            # Volumes outlive the StatefulSet and scale-downs: deleting data is a human decision.
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "volumeClaimTemplates": [
                {"metadata": {"name": "data", "labels": self.labels}, "spec": claim},
            ],
            "template": {
                "metadata": {"labels": self.labels, "annotations": {"ai-platform/config-hash": config_hash}},
                "spec": {
                    "automountServiceAccountToken": False,
                    # Service links would inject REDIS_PORT=tcp://... into the containers.
                    "enableServiceLinks": False,
                    "securityContext": {
                        **kube.pod_security_context(REDIS_UID, fs_group=REDIS_UID),
                        "fsGroupChangePolicy": "OnRootMismatch",
                    },
                    "terminationGracePeriodSeconds": 30,
                    "topologySpreadConstraints": kube.zone_spread(selector),
                    "containers": [
                        redis_container(args.image, args.resources, primary),
                        exporter_container(args.exporter_image, args.exporter_resources),
                    ],
                    "volumes": [
                        kube.empty_dir("tmp", kube.TMP_SIZE_LIMIT),
                        {"name": "config", "configMap": {"name": f"{base}-config"}},
                        _secret_volume("auth", f"{base}-auth", ("auth.conf", "password")),
                        _secret_volume("exporter-auth", f"{base}-auth", (EXPORTER_PASSWORD_FILE,)),
                    ],
                },
            },
        }

    def _service_monitor(
        self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        return kube.service_monitor(
            f"{name}-servicemonitor",
            self.service_name,
            args.namespace,
            {**self.labels, **args.service_monitor_labels},
            # The headless Service lists every pod; the client Service only the primary.
            {**kube.selector_labels(self.service_name), **_MEMBERS_ROLE},
            kube.scrape_endpoint("metrics", "/metrics", job="redis"),
            opts,
        )


# Marks the Service that covers every pod, so the ServiceMonitor never scrapes pod 0 twice.
_MEMBERS_ROLE = {"ai-platform/service-role": "members"}


def _secret_volume(name: str, secret: str, keys: Sequence[str]) -> dict[str, Any]:
    """Only KEYS of SECRET, group-readable: fsGroup gives the files the pod's group (999)."""
    items = [{"key": key, "path": key} for key in keys]
    return {"name": name, "secret": {"secretName": secret, "items": items, "defaultMode": 0o440}}


def _ports() -> list[dict[str, Any]]:
    return [
        {"name": "redis", "port": PORT, "targetPort": "redis", "protocol": "TCP"},
        {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
    ]


def _check_resources(resources: Resources) -> None:
    for side in ("requests", "limits"):
        missing = {"cpu", "memory"} - set(getattr(resources, side))
        if missing:
            needed = " and ".join(sorted(missing))
            raise ValueError(f"resources.{side} must set {needed}: every container has requests and limits")
