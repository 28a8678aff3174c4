"""The shape of what a manual says about a system: its namespaces, apps and the secrets they need.

Service modules fill these in with the manuals' values (prod sizes); `Pulumi.<stack>.yaml` overrides
what differs per stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from components.alert_rules import Alert
from components.app_deployment import Autoscaling, Probes, Resources, SecretRef
from components.app_volumes import WritableDir
from components.dashboards import DashboardSpec
from components.public_hosts import PathMatch


@dataclass(frozen=True)
class ConfigSecret:
    """A secret the program cannot generate: an operator sets it with `pulumi config set --secret`."""

    config_key: str
    """Key in the `ai-platform` config namespace."""
    description: str


@dataclass(frozen=True)
class SecretSpec:
    """A Kubernetes Secret a service owns, in each of the given namespaces."""

    name: str
    namespaces: tuple[str, ...]
    from_config: Mapping[str, ConfigSecret] = field(default_factory=dict)
    """Secret key -> config secret that supplies it."""
    generated: Mapping[str, int] = field(default_factory=dict)
    """Secret key -> length of a generated random value."""


@dataclass(frozen=True)
class VolumeSpec:
    """Disk an app writes beyond its small emptyDirs, as its manual sizes it (prod)."""

    name: str
    """Short name; the claim is `<app>-<name>` (per pod: `<pod>-<name>`)."""
    path: str
    """Where the app writes."""
    size: str
    """Size (per pod for scratch)."""
    shared: bool
    """True: one persistent volume all pods share, kept when they go (ReadWriteMany); False: scratch, a volume per
    pod on a cloud disk, created and deleted with the pod (a node's root disk is too small)."""
    min_size: str | None = None
    """Smallest size the manual allows."""
    storage_class: str | None = None
    """Its StorageClass by default; None: the cluster's default. A shared volume names a ReadWriteMany one."""

    def __post_init__(self) -> None:
        if self.shared and not self.storage_class:
            raise ValueError(f"{self.name}: a volume every pod shares names a ReadWriteMany StorageClass")


@dataclass(frozen=True)
class AppSpec:
    """One app as its manual describes it (prod values)."""

    name: str
    """Deployment, Service and container name used by the manual's commands."""
    namespace: str
    image_repository: str
    """Repository under `ai-platform:imageRegistry`, used when no image is configured."""
    port: int
    probes: Probes
    resources: Resources
    replicas: int = 1
    autoscaling: Autoscaling | None = None
    container_name: str | None = None
    metrics_port: int | None = None
    scraped: bool = True
    """Serves `/metrics` (on `metrics_port`, else `port`) for Prometheus; False where the app's code serves none."""
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: Mapping[str, SecretRef] = field(default_factory=dict)
    config_files: Mapping[str, str] = field(default_factory=dict)
    config_mount_path: str = "/app/config"
    writable_dirs: tuple[WritableDir, ...] = ()
    volume: VolumeSpec | None = None
    """Its one larger volume: results it keeps, or scratch space (S1-05, S2-02)."""
    spot: bool = False
    """Runs on spot capacity (the stack's spot node selector and tolerations)."""
    database_connections: int = 0
    """Most connections one pod holds to its service's database (its pool's ceiling), for the budget (S0-03)."""
    calls_ai_providers: bool = False
    """Needs outbound HTTPS to AI provider APIs."""
    calls: Mapping[str, str] = field(default_factory=dict)
    """Env var -> another app of the service this app calls over HTTP; the variable holds that app's in-cluster
    URL and NetworkPolicies open exactly that connection (e.g. V1 promoting to V2, S4-04)."""
    public: bool = False
    """Served to the outside through the Gateway."""
    serves_requests: bool = True
    """Reached through its Service; False for a worker that takes its work from a queue (nothing to switch or
    split, so neither blue-green nor canary)."""
    host_label: str | None = None
    """First label of its public host under the stack's domain; defaults to the app name (`<app>.<domain>`)."""
    cors_origins_env: str | None = None
    """Env var the app reads its allowed browser origins from (comma-separated); per stack `corsOrigins`, by default
    the app's own public origin."""
    public_paths: tuple[PathMatch, ...] = ()
    """What the Gateway serves of a public app: the API its manual names, never `/metrics`, the probes or admin
    paths (X-15, S3-08); everything else answers 404 at the Gateway."""
    egress_policy_name: str | None = None
    """Name of the NetworkPolicy listing where its pods may connect, when a manual names it; `<app>-egress`."""
    termination_grace_seconds: int = 30

    def __post_init__(self) -> None:
        if self.public and not self.public_paths:
            raise ValueError(f"{self.name}: a public app names the paths the Gateway serves (public_paths)")
        if self.uses_database != (self.database_connections > 0):
            raise ValueError(f"{self.name}: an app that reads DATABASE_URL says how many connections a pod opens")

    def public_host(self, domain: str) -> str:
        """Public host name under DOMAIN (`<host_label or name>.<domain>`)."""
        return f"{self.public_host_label}.{domain}"

    @property
    def public_host_label(self) -> str:
        """First label of its public host (`<label>.<domain>`)."""
        return self.host_label or self.name

    @property
    def uses_database(self) -> bool:
        """The app connects to its service's Postgres (it reads `DATABASE_URL`)."""
        return "DATABASE_URL" in self.secret_env

    @property
    def uses_cache(self) -> bool:
        """The app connects to its service's Redis (it reads `REDIS_URL`)."""
        return "REDIS_URL" in self.secret_env


@dataclass(frozen=True)
class SchemaRole:
    """A login role that owns one schema of a shared database and nothing else."""

    role: str
    schema: str


DATABASE_RESOURCES = Resources({"cpu": "1", "memory": "2Gi"}, {"cpu": "2", "memory": "4Gi"})


@dataclass(frozen=True)
class PoolerSpec:
    """PgBouncer between a database and its apps, where their connections at peak exceed `max_connections`."""

    server_connections: int = 60
    """Connections each PgBouncer pod opens to the database."""
    instances: int = 2
    """PgBouncer pods."""


@dataclass(frozen=True)
class DatabaseSpec:
    """A service's Postgres as its manual describes it (prod size)."""

    namespace: str
    """Namespace the cluster runs in."""
    database: str
    owner: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    """postgresql.conf settings the manual gives."""
    schemas: tuple[str, ...] = ()
    """Schemas created after initdb (and dumped one by one)."""
    pg_stat_statements: bool = False
    reader_roles: Mapping[str, SchemaRole] = field(default_factory=dict)
    """Other namespaces of the service whose apps also connect, each as its own role owning one schema."""
    instances: int = 3
    storage_size: str = "50Gi"
    resources: Resources = DATABASE_RESOURCES
    pooler: PoolerSpec | None = None
    """The apps connect through PgBouncer (S0-03)."""


@dataclass(frozen=True)
class CacheSpec:
    """A service's Redis as its manual describes it (prod size)."""

    namespace: str
    maxmemory: str
    """Redis memory cap (Redis units, e.g. `1gb`)."""
    policy: str
    """Eviction policy: `noeviction` where Redis holds a queue, an LRU policy for a pure cache."""
    resources: Resources
    replicas: int = 1
    storage_size: str = "10Gi"


@dataclass(frozen=True)
class Observability:
    """What a service is watched with (X-10): its alerts, each with the scenarios that prove it, and dashboards."""

    alerts: tuple[Alert, ...] = ()
    dashboards: tuple[DashboardSpec, ...] = ()
    namespace: str | None = None
    """Namespace of the PrometheusRule and dashboard ConfigMaps; the service's first namespace when unset."""
    webhook: bool = False
    """Alerts also go to the webhook receiver (S1-11)."""


@dataclass(frozen=True)
class ServiceSpec:
    """One system of the manuals."""

    name: str
    namespaces: tuple[str, ...]
    apps: tuple[AppSpec, ...]
    secrets: tuple[SecretSpec, ...] = ()
    database: DatabaseSpec | None = None
    cache: CacheSpec | None = None
    observability: Observability = Observability()
    manual: str = ""
    """File name of the manual in docs/manuals/ (the runbook map in runbooks/ names it too)."""

    def __post_init__(self) -> None:
        names = {app.name for app in self.apps}
        for app in self.apps:
            for variable, callee in app.calls.items():
                if callee not in names or callee == app.name:
                    raise ValueError(f"{app.name}.calls.{variable}: {callee!r} is not another app of {self.name}")

    @property
    def observability_namespace(self) -> str:
        """Where the service's PrometheusRule and dashboards live."""
        return self.observability.namespace or self.namespaces[0]

    @property
    def config_secrets(self) -> list[ConfigSecret]:
        found: dict[str, ConfigSecret] = {}
        for secret in self.secrets:
            for source in secret.from_config.values():
                found.setdefault(source.config_key, source)
        return list(found.values())
