"""The config schema: every `ai-platform:*` key (and `aws:region`) as the stack files write it.

Keys are camelCase in the stack files and snake_case in the program (pydantic aliases); values are checked
here, one key at a time. Checks that need several keys, or the catalog, are in `settings.overrides`.
"""

from __future__ import annotations

from itertools import combinations
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from settings.values import (
    REGISTRY,
    BucketName,
    Cidr,
    ClusterName,
    Cpu,
    DnsName,
    ElasticsearchMemory,
    Email,
    EnvName,
    GroupName,
    HostPort,
    HttpsOrigin,
    ImageRef,
    ImageTag,
    LabelKey,
    LabelValue,
    LockDays,
    Memory,
    ObjectName,
    OidcProviderArn,
    QuotaCpu,
    QuotaMemory,
    QuotaStorage,
    Region,
    RetentionSize,
    RoleArn,
    StackRef,
    Storage,
    StorageClassName,
    check,
    https_url,
    matches,
)


def _unset_when_empty(value: Any) -> Any:
    """An optional section's project default `{}` means the section is not set."""
    return None if value == {} else value


Replicas = Annotated[int, Field(ge=1, le=100)]
HttpsUrl = Annotated[str, https_url()]


class _Strict(BaseModel):
    """Config as written: camelCase keys (aliases) at the edge, snake_case attributes in the program."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, alias_generator=to_camel)


class ResourceAmounts(_Strict):
    cpu: Cpu | None = None
    memory: Memory | None = None


class ResourcesConfig(_Strict):
    requests: ResourceAmounts | None = None
    limits: ResourceAmounts | None = None


Colour = Literal["blue", "green"]
STRATEGY_KEYS = {
    "rolling": set(),
    "blue-green": {"active", "images", "idle_replicas", "smoke_test"},
    "canary": {"canary_image", "weight", "canary_replicas"},
}
"""The delivery keys each strategy takes (attribute names)."""
REQUIRED_STRATEGY_KEYS = {"blue-green": {"active"}, "canary": {"canary_image", "weight"}}


class SmokeTestConfig(_Strict):
    """The request a blue-green colour must answer before a Service routes to it (S0-09)."""

    path: Annotated[str, matches(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*", "a URL path starting with /")] = "/health"
    expected_status: Annotated[int, Field(ge=100, le=599)] = 200
    timeout_seconds: Annotated[int, Field(ge=5, le=900)] = 60


class ColourImagesConfig(_Strict):
    blue: ImageRef | None = None
    green: ImageRef | None = None


class DeliveryConfig(_Strict):
    """How a new release of the app reaches its users (X-05, X-06)."""

    strategy: Literal["rolling", "blue-green", "canary"] = "rolling"
    active: Colour | None = None
    images: ColourImagesConfig | None = None
    idle_replicas: Annotated[int, Field(ge=0, le=100)] | None = None
    smoke_test: SmokeTestConfig | None = None
    canary_image: ImageRef | None = None
    weight: Annotated[int, Field(ge=0, le=100)] | None = None
    canary_replicas: Annotated[int, Field(ge=0, le=100)] | None = None


class GatewayConfig(_Strict):
    """The Gateway (Gateway API) that serves every public host."""

    class_name: ObjectName = "envoy-gateway"
    namespace: ObjectName = "public-gateway"


class ClusterIssuerConfig(_Strict):
    name: ObjectName = "letsencrypt"
    acme_email: Email
    acme_server: HttpsUrl = "https://acme-v02.api.letsencrypt.org/directory"


class TlsConfig(_Strict):
    """Certificates of the public hosts (X-15): an ACME ClusterIssuer solving HTTP-01 through the Gateway."""

    cluster_issuer: ClusterIssuerConfig


class NetworkPolicyConfig(_Strict):
    """Whether the CNI enforces NetworkPolicy, and the addresses outside the cluster pods may reach (X-07)."""

    enforced: bool = True
    """The CNI enforces NetworkPolicy (EKS: the vpc-cni add-on with enableNetworkPolicy "true")."""
    # EKS's `kubernetes` Service: the first address of the service CIDR (172.20.0.0/16 or 10.100.0.0/16).
    api_server_cidrs: Annotated[list[Cidr], Field(min_length=1)] = [
        "172.20.0.1/32",
        "10.100.0.1/32",
    ]
    api_server_port: Annotated[int, Field(ge=1, le=65535)] = 443
    aws_endpoint_cidrs: list[Cidr] = []
    """Where S3/STS calls go (VPC endpoints); empty: the internet on 443."""


class DnsConfig(_Strict):
    """Route 53 records of the public hosts, pointing at the Gateway (optional: unset, DNS is managed elsewhere)."""

    zone_id: Annotated[str, matches(r"Z[A-Z0-9]{1,31}", "a Route 53 hosted zone id like Z0123456789ABC")] | None = None
    """Hosted zone of `domain` (e.g. Z0123456789ABCDEFGHIJ)."""
    ttl: Annotated[int, Field(ge=30, le=86400)] = 300


class RbacConfig(_Strict):
    """Groups (of the cluster's authenticator, e.g. EKS access entries) bound to each namespace's Roles (S4-07)."""

    operators_group: GroupName = "ai-platform-operators"
    deployers_group: GroupName = "ai-platform-deployers"
    oncall_group: GroupName = "ai-platform-oncall"

    @model_validator(mode="after")
    def _separate(self) -> RbacConfig:
        # One group in two bindings would give every read-only operator the right to deploy or to exec into pods.
        groups = {
            ("operatorsGroup", "read-only"): self.operators_group,
            ("deployersGroup", "deploy"): self.deployers_group,
            ("oncallGroup", "on-call"): self.oncall_group,
        }
        for (first, group), (second, other) in combinations(groups.items(), 2):
            if group == other:
                raise ValueError(
                    f"{first[0]} and {second[0]} must be two groups: {group!r} would hold both the {first[1]} and "
                    f"the {second[1]} rights"
                )
        return self


class VolumeConfig(_Strict):
    """An app's larger volume (its results, or its scratch space per pod)."""

    size: Storage | None = None
    """Its size (default: the manual's)."""
    storage_class: StorageClassName | None = None
    """Its StorageClass (default: the cluster's); a volume every pod shares needs a ReadWriteMany one (EFS)."""


class AppConfig(_Strict):
    image: ImageRef | None = None
    replicas: Replicas | None = None
    min_replicas: Replicas | None = None
    max_replicas: Replicas | None = None
    resources: ResourcesConfig | None = None
    env: dict[EnvName, str] | None = None
    """Plain values only: they land in the Deployment as they are."""
    spot: bool | None = None
    cors_origins: Annotated[list[HttpsOrigin], Field(min_length=1)] | None = None
    """Browser origins allowed to call the app (S1-03 `CORS_ORIGINS`); only for apps that read them."""
    delivery: DeliveryConfig | None = None
    volume: VolumeConfig | None = None


class QuotaConfig(_Strict):
    requests_cpu: QuotaCpu | None = None
    requests_memory: QuotaMemory | None = None
    limits_cpu: QuotaCpu | None = None
    limits_memory: QuotaMemory | None = None
    pods: Annotated[int, Field(ge=1, le=1000)] | None = None
    requests_storage: QuotaStorage | None = None
    """Sum of the namespace's volume claims (default 500Gi)."""
    persistent_volume_claims: Annotated[int, Field(ge=1, le=1000)] | None = None
    """Number of volume claims (default 10)."""


class DatabaseConfig(_Strict):
    instances: Annotated[int, Field(ge=1, le=9)] | None = None
    storage_size: Storage | None = None
    storage_class: StorageClassName | None = None
    resources: ResourcesConfig | None = None
    """Each instance's requests and limits, over the manual's (a smaller staging)."""


class CacheConfig(_Strict):
    replicas: Annotated[int, Field(ge=1, le=5)] | None = None
    storage_size: Storage | None = None
    storage_class: StorageClassName | None = None


class ServiceConfig(_Strict):
    enabled: bool = True
    apps: dict[str, AppConfig] = {}
    quota: QuotaConfig | None = None
    database: DatabaseConfig | None = None
    cache: CacheConfig | None = None


class ObjectLockConfig(_Strict):
    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    days: LockDays


class ReplicationConfig(_Strict):
    region: Region


class BackupConfig(_Strict):
    bucket_name: BucketName
    object_lock: ObjectLockConfig | None = None
    replication: ReplicationConfig | None = None
    operator_role_arn: RoleArn | None = None


class ClusterConfig(_Strict):
    name: ClusterName | None = None
    """Identifies the cluster to the Kubernetes provider across credential changes; defaults to stack/context."""
    kubeconfig: str | None = None
    context: str | None = None
    stack: StackRef | None = None
    oidc_provider_arn: OidcProviderArn | None = None
    oidc_issuer_url: HttpsUrl | None = None

    @model_validator(mode="after")
    def _one_way_in(self) -> ClusterConfig:
        chosen = [k for k in ("kubeconfig", "context", "stack") if getattr(self, k)]
        if len(chosen) != 1:
            raise ValueError(f"set exactly one of kubeconfig (secret), context or stack, got {chosen or 'none'}")
        if self.kubeconfig and not self.name:
            # A kubeconfig's contents change when it is rotated; the provider needs a stable name for the cluster.
            raise ValueError("with kubeconfig, also set name (the cluster's name, e.g. its EKS cluster name)")
        if not self.stack and not (self.oidc_provider_arn and self.oidc_issuer_url):
            # IRSA (backups) trusts the cluster's OIDC provider; a cluster stack exports it, otherwise say it.
            raise ValueError(
                f"with {chosen[0]}, also set oidcProviderArn and oidcIssuerUrl (the cluster's IRSA provider)"
            )
        return self


class TolerationConfig(_Strict):
    """A Kubernetes toleration, as the API server validates it."""

    key: LabelKey | None = None
    operator: Literal["Exists", "Equal"] = "Equal"
    value: LabelValue | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TolerationConfig:
        if self.operator == "Exists" and self.value:
            raise ValueError("with operator Exists, give no value (Exists matches any value of the key)")
        if self.key is None and self.operator != "Exists":
            raise ValueError("without a key, the operator must be Exists (tolerating every taint)")
        return self


SPOT_LABEL = "eks.amazonaws.com/capacityType"
"""EKS labels a managed node group's nodes with their capacity type (ON_DEMAND or SPOT)."""


class SpotConfig(_Strict):
    """Where apps with `spot: true` run (S4-08): nodes they require and the taints they tolerate."""

    node_selector: dict[LabelKey, LabelValue] = {SPOT_LABEL: "SPOT"}
    # Spot node groups are tainted so that only workloads that accept interruptions land on them.
    tolerations: list[TolerationConfig] = [TolerationConfig(key=SPOT_LABEL, value="SPOT", effect="NoSchedule")]


class AddonsConfig(_Strict):
    """Which operators this program installs; switch one off when the cluster team already runs it."""

    cert_manager: bool = True
    cloudnative_pg: bool = True
    barman_cloud: bool = True
    gateway: bool = True
    monitoring: bool = True
    """kube-prometheus-stack (Prometheus, Alertmanager, Grafana); off: the rules and dashboards still apply."""
    metrics_server: bool = True
    """The EKS add-on `metrics-server` (HPAs and `kubectl top`); off: the cluster must already run it."""
    eck: bool = True
    """The ECK operator (Elasticsearch, Kibana); off: the cluster team's ECK 3.x runs the log stack."""


class MonitoringConfig(_Strict):
    """Prometheus retention and storage (S3-10), replicas, runbook links."""

    retention: Annotated[str, matches(r"[1-9][0-9]*(h|d|w|y)", "a duration like 15d (units h, d, w, y)")] = "15d"
    retention_size: RetentionSize = "50GB"
    prometheus_storage_size: Storage = "64Gi"
    alertmanager_storage_size: Storage = "2Gi"
    grafana_storage_size: Storage = "10Gi"
    """Grafana's volume: its users, API keys and dashboards saved in the UI kept across restarts."""
    storage_class: StorageClassName | None = None
    prometheus_replicas: Annotated[int, Field(ge=1, le=3)] = 1
    alertmanager_replicas: Annotated[int, Field(ge=1, le=5)] = 1
    runbook_base_url: Annotated[str, https_url(query=False)] | None = None


def _quorum(value: int) -> int:
    if value == 2:
        raise ValueError("must be 1 or at least 3 (two master-eligible nodes cannot lose one and keep a quorum)")
    return value


class LoggingConfig(_Strict):
    """Log aggregation (S2-04, S2-05): Elasticsearch, Kibana, the log shipper and daily snapshots to S3."""

    enabled: bool = True
    nodes: Annotated[int, Field(ge=1, le=9), AfterValidator(_quorum)] = 3
    """Elasticsearch nodes, spread over zones."""
    memory: ElasticsearchMemory = "4Gi"
    """Memory of each Elasticsearch node (request = limit); the JVM heap is half of it."""
    cpu: Cpu = "2"
    storage_size: Storage = "100Gi"
    storage_class: StorageClassName | None = None
    retention_days: Annotated[int, Field(ge=1, le=365)] = 30
    """Days a log index is kept in Elasticsearch."""
    snapshot_retention_days: Annotated[int, Field(ge=1, le=365)] = 30
    """Days a daily snapshot is kept in S3 (S2-05, X-09)."""
    kibana_replicas: Annotated[int, Field(ge=1, le=3)] = 1


class AlertingConfig(_Strict):
    """Where alerts go by severity (X-11); the credentials are separate secrets."""

    slack_channel: Annotated[str, matches(r"#[a-z0-9_-]{1,80}", "a Slack channel like #alerts (lower-case)")]
    email_to: Email
    email_from: Email
    smtp_smarthost: HostPort
    smtp_username: Annotated[str, check(lambda v: bool(v.strip()), "the SMTP login (not empty)")]
    webhook_url: HttpsUrl | None = None


class RawSettings(_Strict):
    """The `ai-platform:*` config keys (and `aws:region`), exactly as written in the stack files."""

    environment: Literal["staging", "prod"]
    domain: DnsName
    region: Region
    cluster: ClusterConfig
    image_registry: Annotated[str, matches(*REGISTRY)]
    image_tag: ImageTag
    protect_data: bool = False
    spot: SpotConfig = SpotConfig()
    addons: AddonsConfig = AddonsConfig()
    backup: BackupConfig
    monitoring: MonitoringConfig = MonitoringConfig()
    logging: LoggingConfig = LoggingConfig()
    alerting: Annotated[AlertingConfig | None, BeforeValidator(_unset_when_empty)] = None
    pin_images: bool = False
    gateway: GatewayConfig = GatewayConfig()
    tls: TlsConfig
    network_policy: NetworkPolicyConfig = NetworkPolicyConfig()
    rbac: RbacConfig = RbacConfig()
    dns: DnsConfig = DnsConfig()
    services: dict[str, ServiceConfig] = {}
    acknowledge_data_loss: list[str] = []
    """What a prod stack gives up on purpose (settings/data_loss.py), exactly: see the README, Retiring a service."""
