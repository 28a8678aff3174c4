"""The config schema: every `ai-platform:*` key (and `aws:region`) as the stack files write it.

Keys are camelCase in the stack files and snake_case in the program (pydantic aliases); values are checked
here, one key at a time. Checks that need several keys, or the catalog, are in `settings.overrides`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from components import quantity
from components.backup_bucket import BACKUP_WINDOW_DAYS
from components.validation import DNS_LABEL, DNS_NAME

_REGISTRY = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
_BUCKET = re.compile(r"^(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_URL_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_OBJECT_NAME = re.compile(rf"^{DNS_LABEL}$")
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,199}$")
_STACK_REF = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


# ---------------------------------------------------------------------------------------------------
# Value checks shared by the config models


def _check(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def validate(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"must be {what}, got {value!r}")
        return value

    return AfterValidator(validate)


def _image(value: str) -> str:
    match = _IMAGE.match(value)
    if not match:
        raise ValueError(f"must be an image reference like registry/repo:tag or repo@sha256:<digest>, got {value!r}")
    if not (match["tag"] or match["digest"]):
        raise ValueError(f"must name a tag or a digest (an implicit :latest can move), got {value!r}")
    if match["tag"] == "latest" and not match["digest"]:
        raise ValueError(f"must not use the moving tag :latest, got {value!r}")
    return value


def _cidr(value: str) -> str:
    try:
        if "/" not in value:  # a bare address would silently mean /32
            raise ValueError(value)
        ipaddress.ip_network(value)
    except ValueError:
        raise ValueError(f"must be a CIDR like 10.0.0.0/16 with no host bits set, got {value!r}") from None
    return value


def _group(value: str) -> str:
    # A Role bound to a `system:` group (e.g. system:authenticated) would grant it to every user.
    if not value.strip() or value.startswith("system:"):
        raise ValueError(f"must be a group of your authenticator, not empty or a system: group, got {value!r}")
    return value


def _unset_when_empty(value: Any) -> Any:
    """An optional section's project default `{}` means the section is not set."""
    return None if value == {} else value


DnsName = Annotated[str, _check(DNS_NAME, "a DNS name like example.com")]
Quantity = Annotated[str, _check(quantity.QUANTITY_PATTERN, "a Kubernetes quantity like 500m, 2, 512Mi or 4Gi")]
ImageRef = Annotated[str, AfterValidator(_image)]
EnvName = Annotated[str, _check(_ENV_NAME, "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")]
Replicas = Annotated[int, Field(ge=1, le=100)]


class _Strict(BaseModel):
    """Config as written: camelCase keys (aliases) at the edge, snake_case attributes in the program."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, alias_generator=to_camel)


class ResourceAmounts(_Strict):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class ResourcesConfig(_Strict):
    requests: ResourceAmounts | None = None
    limits: ResourceAmounts | None = None


Colour = Literal["blue", "green"]
ObjectName = Annotated[str, _check(_OBJECT_NAME, "a lower-case DNS label (letters, digits, '-')")]
STRATEGY_KEYS = {
    "rolling": set(),
    "blue-green": {"active", "images", "idle_replicas", "smoke_test"},
    "canary": {"canary_image", "weight", "canary_replicas"},
}
"""The delivery keys each strategy takes (attribute names)."""
REQUIRED_STRATEGY_KEYS = {"blue-green": {"active"}, "canary": {"canary_image", "weight"}}


class SmokeTestConfig(_Strict):
    """The request a blue-green colour must answer before a Service routes to it (S0-09)."""

    path: Annotated[str, _check(_URL_PATH, "a URL path starting with /")] = "/health"
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
    acme_email: Annotated[str, _check(_EMAIL, "an e-mail address")]
    acme_server: Annotated[str, Field(pattern=r"^https://")] = "https://acme-v02.api.letsencrypt.org/directory"


class TlsConfig(_Strict):
    """Certificates of the public hosts (X-15): an ACME ClusterIssuer solving HTTP-01 through the Gateway."""

    cluster_issuer: ClusterIssuerConfig


class NetworkPolicyConfig(_Strict):
    """Whether the CNI enforces NetworkPolicy, and the addresses outside the cluster pods may reach (X-07)."""

    enforced: bool = True
    """The CNI enforces NetworkPolicy (EKS: the vpc-cni add-on with enableNetworkPolicy "true")."""
    # EKS's `kubernetes` Service: the first address of the service CIDR (172.20.0.0/16 or 10.100.0.0/16).
    api_server_cidrs: Annotated[list[Annotated[str, AfterValidator(_cidr)]], Field(min_length=1)] = [
        "172.20.0.1/32",
        "10.100.0.1/32",
    ]
    api_server_port: Annotated[int, Field(ge=1, le=65535)] = 443
    aws_endpoint_cidrs: list[Annotated[str, AfterValidator(_cidr)]] = []
    """Where S3/STS calls go (VPC endpoints); empty: the internet on 443."""


class DnsConfig(_Strict):
    """Route 53 records of the public hosts, pointing at the Gateway (optional: unset, DNS is managed elsewhere)."""

    zone_id: Annotated[str, Field(pattern=r"^Z[A-Z0-9]{1,31}$")] | None = None
    """Hosted zone of `domain` (e.g. Z0123456789ABCDEFGHIJ)."""
    ttl: Annotated[int, Field(ge=30, le=86400)] = 300


class RbacConfig(_Strict):
    """Groups (of the cluster's authenticator, e.g. EKS access entries) bound to each namespace's Roles (S4-07)."""

    operators_group: Annotated[str, AfterValidator(_group)] = "ai-platform-operators"
    deployers_group: Annotated[str, AfterValidator(_group)] = "ai-platform-deployers"


class AppConfig(_Strict):
    image: ImageRef | None = None
    replicas: Replicas | None = None
    min_replicas: Replicas | None = None
    max_replicas: Replicas | None = None
    resources: ResourcesConfig | None = None
    env: dict[EnvName, str] | None = None
    spot: bool | None = None
    delivery: DeliveryConfig | None = None


class QuotaConfig(_Strict):
    requests_cpu: Quantity | None = None
    requests_memory: Quantity | None = None
    limits_cpu: Quantity | None = None
    limits_memory: Quantity | None = None
    pods: Annotated[int, Field(ge=1, le=1000)] | None = None


class DatabaseConfig(_Strict):
    instances: Annotated[int, Field(ge=1, le=9)] | None = None
    storage_size: Quantity | None = None
    storage_class: str | None = None


class CacheConfig(_Strict):
    replicas: Annotated[int, Field(ge=1, le=5)] | None = None
    storage_size: Quantity | None = None
    storage_class: str | None = None


class ServiceConfig(_Strict):
    enabled: bool = True
    apps: dict[str, AppConfig] = {}
    quota: QuotaConfig | None = None
    database: DatabaseConfig | None = None
    cache: CacheConfig | None = None


def _covers_backup_window(days: int) -> int:
    # A lock shorter than the backups' 30 days would let them be deleted while they are still the only copy.
    if days < BACKUP_WINDOW_DAYS:
        raise ValueError(
            f"must be at least {BACKUP_WINDOW_DAYS} (the backup window: dumps, base backups and WAL are kept "
            f"{BACKUP_WINDOW_DAYS} days, and a shorter lock leaves them deletable), got {days}"
        )
    return days


class ObjectLockConfig(_Strict):
    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    days: Annotated[int, Field(le=3650), AfterValidator(_covers_backup_window)]


class ReplicationConfig(_Strict):
    region: Annotated[str, _check(_REGION, "an AWS region like eu-central-1")]


class BackupConfig(_Strict):
    bucket_name: Annotated[str, _check(_BUCKET, "an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)")]
    object_lock: ObjectLockConfig | None = None
    replication: ReplicationConfig | None = None
    operator_role_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$")] | None = None


class ClusterConfig(_Strict):
    name: Annotated[str, _check(_CLUSTER_NAME, "a cluster name (letters, digits, '.', '_', '/', '-')")] | None = None
    """Identifies the cluster to the Kubernetes provider across credential changes; defaults to stack/context."""
    kubeconfig: str | None = None
    context: str | None = None
    stack: Annotated[str, _check(_STACK_REF, "a stack reference like org/project/stack")] | None = None
    oidc_provider_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+$")] | None = None
    oidc_issuer_url: Annotated[str, Field(pattern=r"^https://")] | None = None

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


class SpotConfig(_Strict):
    node_selector: dict[str, str] = {"eks.amazonaws.com/capacityType": "SPOT"}
    tolerations: list[dict[str, str]] = []


class AddonsConfig(_Strict):
    """Which operators this program installs; switch one off when the cluster team already runs it."""

    cert_manager: bool = True
    cloudnative_pg: bool = True
    barman_cloud: bool = True
    gateway: bool = True
    monitoring: bool = True
    """kube-prometheus-stack (Prometheus, Alertmanager, Grafana); off: the rules and dashboards still apply."""


class MonitoringConfig(_Strict):
    """Prometheus retention and storage (S3-10), replicas, runbook links."""

    retention: Annotated[str, Field(pattern=r"^[1-9][0-9]*(h|d|w|y)$")] = "15d"
    retention_size: Annotated[str, Field(pattern=r"^[1-9][0-9]*(MB|GB|TB)$")] = "50GB"
    prometheus_storage_size: Quantity = "64Gi"
    alertmanager_storage_size: Quantity = "2Gi"
    storage_class: str | None = None
    prometheus_replicas: Annotated[int, Field(ge=1, le=3)] = 1
    alertmanager_replicas: Annotated[int, Field(ge=1, le=5)] = 1
    runbook_base_url: Annotated[str, Field(pattern=r"^https://")] | None = None


class AlertingConfig(_Strict):
    """Where alerts go by severity (X-11); the credentials are separate secrets."""

    slack_channel: Annotated[str, Field(pattern=r"^#[a-z0-9_-]{1,80}$")]
    email_to: Annotated[str, _check(_EMAIL, "an e-mail address")]
    email_from: Annotated[str, _check(_EMAIL, "an e-mail address")]
    smtp_smarthost: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")]
    smtp_username: str
    webhook_url: Annotated[str, Field(pattern=r"^https://")] | None = None


class RawSettings(_Strict):
    """The `ai-platform:*` config keys (and `aws:region`), exactly as written in the stack files."""

    environment: Literal["staging", "prod"]
    domain: DnsName
    region: Annotated[str, _check(_REGION, "an AWS region like eu-west-1")]
    cluster: ClusterConfig
    image_registry: Annotated[
        str, _check(_REGISTRY, "a registry host with optional path, like registry.example.com/ai")
    ]
    image_tag: Annotated[str, Field(pattern=r"^[\w][\w.-]{0,127}$")]
    protect_data: bool = False
    spot: SpotConfig = SpotConfig()
    addons: AddonsConfig = AddonsConfig()
    backup: BackupConfig
    monitoring: MonitoringConfig = MonitoringConfig()
    alerting: Annotated[AlertingConfig | None, BeforeValidator(_unset_when_empty)] = None
    pin_images: bool = False
    gateway: GatewayConfig = GatewayConfig()
    tls: TlsConfig
    network_policy: NetworkPolicyConfig = NetworkPolicyConfig()
    rbac: RbacConfig = RbacConfig()
    dns: DnsConfig = DnsConfig()
    services: dict[str, ServiceConfig] = {}
