"""The validated settings the program uses: the catalog's specs with this stack's config applied.

The types say what is present when: a monitoring stack has its alert routing, a cluster reached with its
own credentials has its IRSA provider, a blue-green app has both colours' images.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pulumi

from components.app_deployment import Autoscaling, Resources
from components.scheduling import Scheduling
from services.spec import AppSpec, CacheSpec, DatabaseSpec, ServiceSpec, VolumeSpec
from settings.schema import (
    AddonsConfig,
    AlertingConfig,
    BackupConfig,
    DnsConfig,
    GatewayConfig,
    LoggingConfig,
    MonitoringConfig,
    NetworkPolicyConfig,
    QuotaConfig,
    RbacConfig,
    SmokeTestConfig,
    TlsConfig,
)

BACKUPS_OWNER = "backups"
"""Owner (the `service` tag, the role names) of the shared backup bucket and its replication."""
SNAPSHOTS_OWNER = "logging"
"""Owner of the log stack's snapshots in the bucket (`managed/logging/`) and of their writer role (S2-05)."""


METRICS_OWNER = "prometheus"
"""Owner (the role names) of Prometheus' blocks in the backup bucket (`daily/prometheus/`, S3-11)."""


class BackupRole(StrEnum):
    """The IAM roles of each database's backups, the bucket's replication role (owner `backups`), the log stack's
    snapshot writer (owner `logging`) and Prometheus' uploads (owner `prometheus`)."""

    WAL = "wal"
    DUMP = "dump"
    RESTORE_CHECK = "restore-check"
    PITR_DRILL = "pitr-drill"
    REPLICATION = "replication"
    SNAPSHOTS = "snapshots"
    METRICS_COPY = "copy"
    """Prometheus' uploads of its blocks (owner `prometheus`, S3-11)."""


def iam_role_name(stack: str, owner: str, role: BackupRole) -> str:
    # IAM role names are account-wide: the stack keeps staging and prod apart.
    return f"ai-platform-{stack}-{owner}-{role}"


@dataclass(frozen=True)
class BlueGreenSettings:
    """Both colours run; `active` takes the traffic (X-05)."""

    active: str
    images: dict[str, str]
    """Colour -> image."""
    idle_replicas: int | None
    """Fixed replicas of the idle colour; None scales it like the active one."""
    smoke_test: SmokeTestConfig


@dataclass(frozen=True)
class CanarySettings:
    """`<app>-canary` runs `image` and gets `weight` percent of the public traffic (X-06)."""

    image: str
    weight: int
    replicas: int


@dataclass(frozen=True)
class VolumeSettings:
    """An app's larger volume: the manual's spec with this stack's size and class."""

    spec: VolumeSpec
    size: str
    storage_class: str | None


@dataclass(frozen=True)
class AppSettings:
    """One app: the manual's spec with this stack's overrides applied."""

    spec: AppSpec
    image: str
    replicas: int
    autoscaling: Autoscaling | None
    resources: Resources
    env: dict[str, str]
    scheduling: Scheduling | None
    delivery: BlueGreenSettings | CanarySettings | None = None
    """None: rolling updates of one Deployment."""
    volume: VolumeSettings | None = None
    """Present when the app's spec has a larger volume."""


@dataclass(frozen=True)
class DatabaseSettings:
    spec: DatabaseSpec
    instances: int
    storage_size: str
    storage_class: str | None
    resources: Resources
    """Of each instance: the manual's, with the stack's overrides."""


@dataclass(frozen=True)
class CacheSettings:
    spec: CacheSpec
    replicas: int
    storage_size: str
    storage_class: str | None


@dataclass(frozen=True)
class ServiceSettings:
    spec: ServiceSpec
    enabled: bool
    apps: dict[str, AppSettings]
    quota: QuotaConfig | None
    database: DatabaseSettings | None
    """Present when the service's manual gives it Postgres."""
    cache: CacheSettings | None
    """Present when the service's manual gives it Redis."""


@dataclass(frozen=True)
class ClusterStack:
    """The cluster team's stack exports the kubeconfig and the IRSA provider (`cluster.stack`)."""

    stack: str
    identifier: str
    """The cluster's stable name for the Kubernetes provider (`clusterIdentifier`)."""
    name: str | None = None
    """`cluster.name`: the EKS cluster's name; None reads the cluster stack's `clusterName` output."""


@dataclass(frozen=True)
class ClusterCredentials:
    """A kubeconfig (secret) or a context of the local kubeconfig, and the cluster's IRSA provider."""

    identifier: str
    """The cluster's stable name for the Kubernetes provider (`clusterIdentifier`)."""
    oidc_provider_arn: str
    oidc_issuer_url: str
    kubeconfig: pulumi.Output[str] | None = None
    context: str | None = None
    """Exactly one of kubeconfig and context is set."""
    name: str | None = None
    """`cluster.name`: the EKS cluster's name (the EKS add-ons need it)."""


@dataclass(frozen=True)
class MonitoringStackSettings:
    """kube-prometheus-stack run by this program (`addons.monitoring`), with where its alerts go."""

    config: MonitoringConfig
    alerting: AlertingConfig
    credentials: dict[str, pulumi.Output[str]]
    """Receiver credential (`pagerduty`, `slack`, `smtp`, `webhook` when set) -> its secret value."""


@dataclass(frozen=True)
class Settings:
    stack: str
    environment: str
    domain: str
    region: str
    cluster: ClusterStack | ClusterCredentials
    image_registry: str
    protect_data: bool
    addons: AddonsConfig
    backup: BackupConfig
    monitoring: MonitoringStackSettings | None
    """None when the cluster team runs the monitoring stack (its rules and dashboards still apply)."""
    logging: LoggingConfig | None
    """Log aggregation (S2-04); None when `logging.enabled` is false."""
    runbook_base_url: str
    """Where every alert's runbook link points (`<base>/<service>/<alert>`)."""
    pin_images: bool
    gateway: GatewayConfig
    tls: TlsConfig
    network_policy: NetworkPolicyConfig
    rbac: RbacConfig
    dns: DnsConfig
    services: dict[str, ServiceSettings]
    secrets: dict[str, pulumi.Output[str]]
    """Config secret key -> value (secret Output)."""

    @property
    def enabled_services(self) -> list[ServiceSettings]:
        return [s for s in self.services.values() if s.enabled]
