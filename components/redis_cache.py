"""RedisCache: Redis on a StatefulSet with append-only persistence, a generated password and metrics.

Owns the generated password, the server's auth Secret, the `redis.conf` ConfigMap, the StatefulSet
(Redis + `redis_exporter` sidecar, one PVC per pod), the client Service, the headless Service, a PDB
when there are replicas, a ServiceMonitor, and the app-facing Secret holding the connection URL.

Replication: pod 0 is the primary; pods 1..n replicate it (`replicaof`) and serve reads. There is
no automatic failover: if pod 0 is lost, writes stop until Kubernetes restarts it on its volume.
Failover needs Sentinel or a managed service (ElastiCache) and is out of scope here.

The password lives only in Secrets and reaches both containers as files, never as arguments or
environment variables (which show in `ps` and `/proc/*/environ`). `redis.conf` (ConfigMap)
`include`s `auth.conf` from the auth Secret; that file holds the ACL line of the `default` user
(password plus denied commands) and `masterauth`. The exporter reads its password file
(`--redis.password-file`) from the same Secret. Rotating the password needs a rollout restart, as
Redis reads the file at start only.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

import versions
from components import kube, quantity
from components.kube import Resources

PORT = 6379
METRICS_PORT = 9121
DATA_DIR = "/data"
CONFIG_DIR = "/etc/redis/conf"
SECRET_DIR = "/etc/redis/secret"
CONFIG_PATH = f"{CONFIG_DIR}/redis.conf"
AUTH_CONF_PATH = f"{SECRET_DIR}/auth.conf"
PASSWORD_PATH = f"{SECRET_DIR}/password"
EXPORTER_SECRET_DIR = "/etc/redis-exporter"
EXPORTER_PASSWORD_FILE = "passwords.json"
# The exporter scrapes its own pod's Redis; its password file is keyed by exactly this address.
EXPORTER_REDIS_ADDR = f"redis://127.0.0.1:{PORT}"

EXPORTER_RESOURCES = Resources({"cpu": "50m", "memory": "64Mi"}, {"cpu": "200m", "memory": "128Mi"})
# The official redis image runs as its `redis` user (UID 999); keeping it means data files stay
# readable by the image's own tooling (e.g. a restore with the stock image).
REDIS_UID = 999
FIXED_UID_REASON = f"the official redis image runs as its redis user, UID {REDIS_UID}, which owns the data files"
# The redis_exporter image's own non-root user.
EXPORTER_UID = 59000

# Redis needs room beyond `maxmemory`: the fork of an AOF rewrite copies pages on write, and
# replication/client buffers and allocator fragmentation are not counted in `maxmemory`.
MAXMEMORY_SHARE_OF_LIMIT = Decimal("0.75")

EVICTION_POLICIES = frozenset(
    {
        "noeviction",
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    }
)

# Commands no app needs in production and that destroy data, change durability or auth at run
# time, or hijack replication. `CONFIG GET` stays allowed: redis_exporter reads the config with it.
DEFAULT_DENIED_COMMANDS: tuple[str, ...] = (
    "flushall",
    "flushdb",
    "config",
    "shutdown",
    "debug",
    "module",
    "replicaof",
    "slaveof",
    "failover",
    "acl",
    "monitor",
)

# Pod 0 is the primary; every other pod starts as a replica of it. Arguments: redis-server's.
START_SCRIPT = """set -eu
umask 0077
if [ "${POD_NAME##*-}" = 0 ]; then
  exec redis-server "$@"
fi
exec redis-server "$@" --replicaof "$PRIMARY_HOST" "$PRIMARY_PORT"
"""

_COMMAND_NAME = re.compile(r"^[a-z][a-z-]*$")
# URL-unreserved characters only: they need no escaping in the URL's userinfo nor in redis.conf.
_PASSWORD = re.compile(r"^[A-Za-z0-9._~-]{16,}$")
_REDIS_MEMORY = re.compile(r"^(\d+)(k|kb|m|mb|g|gb)?$", re.IGNORECASE)
_REDIS_UNITS = {None: 1, "k": 10**3, "kb": 2**10, "m": 10**6, "mb": 2**20, "g": 10**9, "gb": 2**30}


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
        for command in self.denied_commands:
            if not _COMMAND_NAME.match(command):
                raise ValueError(f"denied command {command!r} is not a lower-case Redis command name")
        _check_resources(self.resources)
        _check_resources(self.exporter_resources)
        _check_memory_headroom(self.maxmemory, self.resources)


def render_redis_conf(args: RedisCacheArgs) -> str:
    """The non-secret `redis.conf`; the password comes from the included Secret file."""
    return "\n".join(
        [
            "# Generated by the RedisCache component; the password is in the included Secret file.",
            "bind * -::*",
            "protected-mode yes",
            f"port {PORT}",
            f"dir {DATA_DIR}",
            'logfile ""',
            "daemonize no",
            # The AOF (with its RDB preamble) is the persistence; RDB snapshots would add a second fork.
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            f"maxmemory {args.maxmemory}",
            f"maxmemory-policy {args.maxmemory_policy}",
            "replica-read-only yes",
            "enable-debug-command no",
            "enable-module-command no",
            "enable-protected-configs no",
            f"include {AUTH_CONF_PATH}",
            "",
        ]
    )


def render_auth_conf(password: str, denied_commands: Sequence[str]) -> str:
    """The secret `auth.conf`: the `default` user's ACL (password, denied commands) and `masterauth`.

    Password and rules share one line because a config-file `user default` line resets any
    `requirepass` given elsewhere.
    """
    if not _PASSWORD.match(password):
        raise ValueError("the Redis password must be 16+ characters from A-Z, a-z, 0-9 and . _ ~ -")
    denied = " ".join(f"-{command}" for command in denied_commands)
    rules = f"~* &* +@all {denied} +config|get" if denied else "~* &* +@all"
    return f"user default on >{password} {rules}\nmasterauth {password}\n"


def render_exporter_password_file(redis_addr: str, password: str) -> str:
    """redis_exporter's `--redis.password-file`: JSON mapping the scraped address to its password."""
    return json.dumps({redis_addr: password})


def ping_command(password_file: str, port: int) -> list[str]:
    """Exec probe: succeeds only on PONG (redis-cli exits 0 even on NOAUTH or LOADING)."""
    ping = f'REDISCLI_AUTH="$(cat {shlex.quote(password_file)})" redis-cli -h 127.0.0.1 -p {port} ping'
    return ["sh", "-c", f'[ "$({ping})" = PONG ]']


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
            data={"redis.conf": render_redis_conf(args)},
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
        return k8s.core.v1.Secret(
            f"{name}-auth",
            metadata=kube.metadata(f"{self.service_name}-auth", args.namespace, self.labels),
            type="Opaque",
            string_data={
                "password": self.password,
                "auth.conf": pulumi.Output.secret(self.password.apply(lambda pw: render_auth_conf(pw, denied))),
                EXPORTER_PASSWORD_FILE: pulumi.Output.secret(
                    self.password.apply(lambda pw: render_exporter_password_file(EXPORTER_REDIS_ADDR, pw))
                ),
            },
            opts=opts,
        )

    def _url_secret(self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
        url = pulumi.Output.secret(
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
                "metadata": {
                    "labels": self.labels,
                    # A content hash rolls the pods when redis.conf changes.
                    "annotations": {"ai-platform/config-hash": kube.short_hash(render_redis_conf(args))},
                },
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
                    "containers": [self._redis_container(args), _exporter_container(base, args)],
                    "volumes": [
                        kube.empty_dir("tmp", kube.TMP_SIZE_LIMIT),
                        {"name": "config", "configMap": {"name": f"{base}-config"}},
                        _secret_volume("auth", f"{base}-auth", ("auth.conf", "password")),
                        _secret_volume("exporter-auth", f"{base}-auth", (EXPORTER_PASSWORD_FILE,)),
                    ],
                },
            },
        }

    def _redis_container(self, args: RedisCacheArgs) -> dict[str, Any]:
        base = self.service_name
        # Pod 0's own DNS name, which the headless Service gives it.
        primary = pulumi.Output.concat(base, "-0.", kube.service_host(f"{base}-headless", args.namespace))
        return {
            "name": "redis",
            "image": args.image,
            "imagePullPolicy": "Always",
            "command": ["sh", "-c", START_SCRIPT, "redis-start", CONFIG_PATH],
            "env": [
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "PRIMARY_HOST", "value": primary},
                {"name": "PRIMARY_PORT", "value": str(PORT)},
            ],
            "ports": [{"name": "redis", "containerPort": PORT, "protocol": "TCP"}],
            "resources": kube.resources(args.resources),
            "securityContext": kube.container_security_context(REDIS_UID),
            # TCP only: a Redis busy loading a large AOF still listens and must not be killed for it.
            "livenessProbe": {
                "tcpSocket": {"port": PORT},
                "initialDelaySeconds": 15,
                "periodSeconds": 10,
                "timeoutSeconds": 3,
                "failureThreshold": 3,
            },
            # Ready only when it answers an authenticated PING (not while loading data).
            "readinessProbe": {
                "exec": {"command": ping_command(PASSWORD_PATH, PORT)},
                "initialDelaySeconds": 5,
                "periodSeconds": 5,
                "timeoutSeconds": 3,
                "failureThreshold": 3,
            },
            "volumeMounts": [
                {"name": "data", "mountPath": DATA_DIR},
                {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                {"name": "auth", "mountPath": SECRET_DIR, "readOnly": True},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
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


def _exporter_container(base: str, args: RedisCacheArgs) -> dict[str, Any]:
    return {
        "name": "exporter",
        "image": args.exporter_image,
        "imagePullPolicy": "Always",
        "env": [
            {"name": "REDIS_ADDR", "value": EXPORTER_REDIS_ADDR},
            {"name": "REDIS_PASSWORD_FILE", "value": f"{EXPORTER_SECRET_DIR}/{EXPORTER_PASSWORD_FILE}"},
        ],
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "resources": kube.resources(args.exporter_resources),
        "securityContext": kube.container_security_context(EXPORTER_UID),
        "livenessProbe": {**kube.http_get("/health", METRICS_PORT), "periodSeconds": 10, "timeoutSeconds": 3},
        "readinessProbe": {**kube.http_get("/health", METRICS_PORT), "periodSeconds": 10, "timeoutSeconds": 3},
        "volumeMounts": [{"name": "exporter-auth", "mountPath": EXPORTER_SECRET_DIR, "readOnly": True}],
    }


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


def _check_memory_headroom(maxmemory: str, resources: Resources) -> None:
    limit = resources.limits["memory"]
    maxmemory_bytes = redis_memory_bytes(maxmemory)
    limit_bytes = quantity.parse(limit)
    if maxmemory_bytes > limit_bytes * MAXMEMORY_SHARE_OF_LIMIT:
        needed_mi = -(-maxmemory_bytes // int(MAXMEMORY_SHARE_OF_LIMIT * 2**20))
        raise ValueError(
            f"memory limit {limit} is too small for maxmemory {maxmemory}: maxmemory may use at most "
            f"{MAXMEMORY_SHARE_OF_LIMIT:.0%} of the limit (AOF rewrite fork, buffers, fragmentation); "
            f"set the limit to at least {needed_mi}Mi or lower maxmemory"
        )


def redis_memory_bytes(value: str) -> int:
    """Bytes of a Redis memory setting (`1gb` = 2**30, `1g` = 10**9); zero (no limit) is refused."""
    match = _REDIS_MEMORY.match(value.strip())
    if not match:
        raise ValueError(f"maxmemory {value!r} is not a Redis memory size such as 512mb or 1gb")
    unit = match.group(2).lower() if match.group(2) else None
    size = int(match.group(1)) * _REDIS_UNITS[unit]
    if size == 0:
        raise ValueError("maxmemory must be set: without it Redis grows until the container is OOM-killed")
    return size
