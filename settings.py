"""Typed, validated settings of one stack: the only reader of Pulumi config.

Every problem in the config is reported at once, each with its key path and what is allowed, before
any resource is registered; missing secrets are listed with the command that sets them.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import pulumi
import pulumi.runtime
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from components import quantity
from components.app_deployment import Autoscaling, Resources, Scheduling
from components.backup_bucket import BACKUP_WINDOW_DAYS
from components.validation import DNS_LABEL, DNS_NAME
from services import CATALOG
from services.catalog import AppSpec, CacheSpec, ConfigSecret, DatabaseSpec, ServiceSpec
from services.common import ALERTING_SECRETS

PROJECT = "ai-platform"
STACKS = ("staging", "prod")

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


class SettingsError(pulumi.RunError):
    """Invalid or incomplete config; the message lists every problem."""

    def __init__(self, problems: list[str], missing_secrets: list[str] | None = None) -> None:
        self.problems = problems
        self.missing_secrets = missing_secrets or []
        lines = []
        if problems:
            lines.append(f"Invalid configuration for stack {pulumi.get_stack()!r}:")
            lines += [f"  - {p}" for p in problems]
        if self.missing_secrets:
            lines.append("Missing secrets; set each with:")
            lines += [f"  {c}" for c in self.missing_secrets]
        super().__init__("\n".join(lines))


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
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


_M = TypeVar("_M", bound=BaseModel)


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
    "blue-green": {"active", "images", "idleReplicas", "smokeTest"},
    "canary": {"canaryImage", "weight", "canaryReplicas"},
}
REQUIRED_STRATEGY_KEYS = {"blue-green": {"active"}, "canary": {"canaryImage", "weight"}}


class SmokeTestConfig(_Strict):
    """The request a blue-green colour must answer before a Service routes to it (S0-09)."""

    path: Annotated[str, _check(_URL_PATH, "a URL path starting with /")] = "/health"
    expectedStatus: Annotated[int, Field(ge=100, le=599)] = 200  # noqa: N815
    timeoutSeconds: Annotated[int, Field(ge=5, le=900)] = 60  # noqa: N815


class ColourImagesConfig(_Strict):
    blue: ImageRef | None = None
    green: ImageRef | None = None


class DeliveryConfig(_Strict):
    """How a new release of the app reaches its users (X-05, X-06)."""

    strategy: Literal["rolling", "blue-green", "canary"] = "rolling"
    active: Colour | None = None
    images: ColourImagesConfig | None = None
    idleReplicas: Annotated[int, Field(ge=0, le=100)] | None = None  # noqa: N815
    smokeTest: SmokeTestConfig | None = None  # noqa: N815
    canaryImage: ImageRef | None = None  # noqa: N815
    weight: Annotated[int, Field(ge=0, le=100)] | None = None
    canaryReplicas: Annotated[int, Field(ge=0, le=100)] | None = None  # noqa: N815


class GatewayConfig(_Strict):
    """The Gateway (Gateway API) that serves every public host."""

    className: ObjectName = "envoy-gateway"  # noqa: N815
    namespace: ObjectName = "public-gateway"


class ClusterIssuerConfig(_Strict):
    name: ObjectName = "letsencrypt"
    acmeEmail: Annotated[str, _check(_EMAIL, "an e-mail address")]  # noqa: N815
    acmeServer: Annotated[str, Field(pattern=r"^https://")] = "https://acme-v02.api.letsencrypt.org/directory"  # noqa: N815


class TlsConfig(_Strict):
    """Certificates of the public hosts (X-15): an ACME ClusterIssuer solving HTTP-01 through the Gateway."""

    clusterIssuer: ClusterIssuerConfig  # noqa: N815


class NetworkPolicyConfig(_Strict):
    """Whether the CNI enforces NetworkPolicy, and the addresses outside the cluster pods may reach (X-07)."""

    enforced: bool = True
    """The CNI enforces NetworkPolicy (EKS: the vpc-cni add-on with enableNetworkPolicy "true")."""
    # EKS's `kubernetes` Service: the first address of the service CIDR (172.20.0.0/16 or 10.100.0.0/16).
    apiServerCidrs: Annotated[list[Annotated[str, AfterValidator(_cidr)]], Field(min_length=1)] = [  # noqa: N815
        "172.20.0.1/32",
        "10.100.0.1/32",
    ]
    apiServerPort: Annotated[int, Field(ge=1, le=65535)] = 443  # noqa: N815
    awsEndpointCidrs: list[Annotated[str, AfterValidator(_cidr)]] = []  # noqa: N815
    """Where S3/STS calls go (VPC endpoints); empty: the internet on 443."""


class DnsConfig(_Strict):
    """Route 53 records of the public hosts, pointing at the Gateway (optional: unset, DNS is managed elsewhere)."""

    zoneId: Annotated[str, Field(pattern=r"^Z[A-Z0-9]{1,31}$")] | None = None  # noqa: N815
    """Hosted zone of `domain` (e.g. Z0123456789ABCDEFGHIJ)."""
    ttl: Annotated[int, Field(ge=30, le=86400)] = 300


class RbacConfig(_Strict):
    """Groups (of the cluster's authenticator, e.g. EKS access entries) bound to each namespace's Roles (S4-07)."""

    operatorsGroup: Annotated[str, AfterValidator(_group)] = "ai-platform-operators"  # noqa: N815
    deployersGroup: Annotated[str, AfterValidator(_group)] = "ai-platform-deployers"  # noqa: N815


class AppConfig(_Strict):
    image: ImageRef | None = None
    replicas: Replicas | None = None
    minReplicas: Replicas | None = None  # noqa: N815 - config keys are camelCase
    maxReplicas: Replicas | None = None  # noqa: N815
    resources: ResourcesConfig | None = None
    env: dict[EnvName, str] | None = None
    spot: bool | None = None
    delivery: DeliveryConfig | None = None


class QuotaConfig(_Strict):
    requestsCpu: Quantity | None = None  # noqa: N815
    requestsMemory: Quantity | None = None  # noqa: N815
    limitsCpu: Quantity | None = None  # noqa: N815
    limitsMemory: Quantity | None = None  # noqa: N815
    pods: Annotated[int, Field(ge=1, le=1000)] | None = None


class DatabaseConfig(_Strict):
    instances: Annotated[int, Field(ge=1, le=9)] | None = None
    storageSize: Quantity | None = None  # noqa: N815
    storageClass: str | None = None  # noqa: N815


class CacheConfig(_Strict):
    replicas: Annotated[int, Field(ge=1, le=5)] | None = None
    storageSize: Quantity | None = None  # noqa: N815
    storageClass: str | None = None  # noqa: N815


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
    bucketName: Annotated[str, _check(_BUCKET, "an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)")]  # noqa: N815
    objectLock: ObjectLockConfig | None = None  # noqa: N815
    replication: ReplicationConfig | None = None
    operatorRoleArn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$")] | None = None  # noqa: N815


class ClusterConfig(_Strict):
    name: Annotated[str, _check(_CLUSTER_NAME, "a cluster name (letters, digits, '.', '_', '/', '-')")] | None = None
    """Identifies the cluster to the Kubernetes provider across credential changes; defaults to stack/context."""
    kubeconfig: str | None = None
    context: str | None = None
    stack: Annotated[str, _check(_STACK_REF, "a stack reference like org/project/stack")] | None = None
    oidcProviderArn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+$")] | None = None  # noqa: N815
    oidcIssuerUrl: Annotated[str, Field(pattern=r"^https://")] | None = None  # noqa: N815

    @model_validator(mode="after")
    def _one_way_in(self) -> ClusterConfig:
        chosen = [k for k in ("kubeconfig", "context", "stack") if getattr(self, k)]
        if len(chosen) != 1:
            raise ValueError(f"set exactly one of kubeconfig (secret), context or stack, got {chosen or 'none'}")
        if self.kubeconfig and not self.name:
            # A kubeconfig's contents change when it is rotated; the provider needs a stable name for the cluster.
            raise ValueError("with kubeconfig, also set name (the cluster's name, e.g. its EKS cluster name)")
        if not self.stack and not (self.oidcProviderArn and self.oidcIssuerUrl):
            # IRSA (backups) trusts the cluster's OIDC provider; a cluster stack exports it, otherwise say it.
            raise ValueError(
                f"with {chosen[0]}, also set oidcProviderArn and oidcIssuerUrl (the cluster's IRSA provider)"
            )
        return self


class SpotConfig(_Strict):
    nodeSelector: dict[str, str] = {"eks.amazonaws.com/capacityType": "SPOT"}  # noqa: N815
    tolerations: list[dict[str, str]] = []


class AddonsConfig(_Strict):
    """Which operators this program installs; switch one off when the cluster team already runs it."""

    certManager: bool = True  # noqa: N815
    cloudnativePg: bool = True  # noqa: N815
    barmanCloud: bool = True  # noqa: N815
    gateway: bool = True
    monitoring: bool = True
    """kube-prometheus-stack (Prometheus, Alertmanager, Grafana); off: the rules and dashboards still apply."""


class MonitoringConfig(_Strict):
    """Prometheus retention and storage (S3-10), replicas, runbook links."""

    retention: Annotated[str, Field(pattern=r"^[1-9][0-9]*(h|d|w|y)$")] = "15d"
    retentionSize: Annotated[str, Field(pattern=r"^[1-9][0-9]*(MB|GB|TB)$")] = "50GB"  # noqa: N815
    prometheusStorageSize: Quantity = "64Gi"  # noqa: N815
    alertmanagerStorageSize: Quantity = "2Gi"  # noqa: N815
    storageClass: str | None = None  # noqa: N815
    prometheusReplicas: Annotated[int, Field(ge=1, le=3)] = 1  # noqa: N815
    alertmanagerReplicas: Annotated[int, Field(ge=1, le=5)] = 1  # noqa: N815
    runbookBaseUrl: Annotated[str, Field(pattern=r"^https://")] | None = None  # noqa: N815


class AlertingConfig(_Strict):
    """Where alerts go by severity (X-11); the credentials are separate secrets."""

    slackChannel: Annotated[str, Field(pattern=r"^#[a-z0-9_-]{1,80}$")]  # noqa: N815
    emailTo: Annotated[str, _check(_EMAIL, "an e-mail address")]  # noqa: N815
    emailFrom: Annotated[str, _check(_EMAIL, "an e-mail address")]  # noqa: N815
    smtpSmarthost: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")]  # noqa: N815
    smtpUsername: str  # noqa: N815
    webhookUrl: Annotated[str, Field(pattern=r"^https://")] | None = None  # noqa: N815


class RawSettings(_Strict):
    """The `ai-platform:*` config keys (and `aws:region`), exactly as written in the stack files."""

    environment: Literal["staging", "prod"]
    domain: DnsName
    region: Annotated[str, _check(_REGION, "an AWS region like eu-west-1")]
    cluster: ClusterConfig
    imageRegistry: Annotated[str, _check(_REGISTRY, "a registry host with optional path, like registry.example.com/ai")]  # noqa: N815
    imageTag: Annotated[str, Field(pattern=r"^[\w][\w.-]{0,127}$")]  # noqa: N815
    protectData: bool = False  # noqa: N815
    spot: SpotConfig = SpotConfig()
    addons: AddonsConfig = AddonsConfig()
    backup: BackupConfig
    monitoring: MonitoringConfig = MonitoringConfig()
    alerting: Annotated[AlertingConfig | None, BeforeValidator(_unset_when_empty)] = None
    pinImages: bool = False  # noqa: N815
    gateway: GatewayConfig = GatewayConfig()
    tls: TlsConfig
    networkPolicy: NetworkPolicyConfig = NetworkPolicyConfig()  # noqa: N815
    rbac: RbacConfig = RbacConfig()
    dns: DnsConfig = DnsConfig()
    services: dict[str, ServiceConfig] = {}


# Where each RawSettings field is read from, and the secrets the program may ask for.
CONFIG_KEYS = {name: f"{PROJECT}:{name}" for name in RawSettings.model_fields if name != "region"} | {
    "region": "aws:region"
}


# ---------------------------------------------------------------------------------------------------
# The validated settings the program uses


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


@dataclass(frozen=True)
class DatabaseSettings:
    spec: DatabaseSpec
    instances: int
    storage_size: str
    storage_class: str | None


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
    cache: CacheSettings | None


@dataclass(frozen=True)
class ClusterSettings:
    """How to reach the cluster; exactly one of kubeconfig, context, stack is set."""

    identifier: str
    """The cluster's stable name for the Kubernetes provider (`clusterIdentifier`)."""

    kubeconfig: pulumi.Output[str] | None
    context: str | None
    stack: str | None
    oidc_provider_arn: str | None
    oidc_issuer_url: str | None


@dataclass(frozen=True)
class Settings:
    stack: str
    environment: str
    domain: str
    region: str
    cluster: ClusterSettings
    image_registry: str
    protect_data: bool
    addons: AddonsConfig
    backup: BackupConfig
    monitoring: MonitoringConfig
    alerting: AlertingConfig | None
    """Set whenever the monitoring add-on is on."""
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


# ---------------------------------------------------------------------------------------------------
# Loading


def load() -> Settings:
    """Read, validate and merge this stack's config; raise SettingsError listing every problem."""
    raw_values, secret_keys = _read_raw()
    problems = _unknown_keys()
    services_raw = raw_values.get("services") or {}
    # Services are validated one by one so that a mistake in one still lets the others be checked.
    raw = _validate(RawSettings, {**raw_values, "services": {}}, (), problems)
    problems += _check_environment(raw_values.get("environment"))
    overrides = _validate_services(services_raw, problems)
    if raw is not None and raw.cluster.kubeconfig and CONFIG_KEYS["cluster"] not in secret_keys:
        problems.append(f"{CONFIG_KEYS['cluster']}.kubeconfig: must be set with --secret")
    # With invalid top-level keys, the overrides are still merged onto the catalog to check them too.
    services = _merge(raw or RawSettings.model_construct(imageRegistry="", imageTag=""), overrides)
    problems += _check_merged(services, overrides)
    problems += _check_replication(raw)
    if raw is not None and raw.addons.monitoring and raw.alerting is None:
        problems.append(f"{CONFIG_KEYS['alerting']}: is required while addons.monitoring is on (where alerts go)")
    needed = _secret_requirements(
        [name for name, service in services.items() if service.enabled],
        monitoring=raw is not None and raw.addons.monitoring,
        webhook=bool(raw and raw.alerting and raw.alerting.webhookUrl),
    )
    missing = _missing_secrets(needed)
    problems += missing.plain
    if problems or missing.commands:
        raise SettingsError(problems, missing.commands)
    assert raw is not None
    config = pulumi.Config(PROJECT)
    return Settings(
        stack=pulumi.get_stack(),
        environment=raw.environment,
        domain=raw.domain,
        region=raw.region,
        cluster=_cluster(raw.cluster),
        image_registry=raw.imageRegistry,
        protect_data=raw.protectData,
        addons=raw.addons,
        backup=raw.backup,
        monitoring=raw.monitoring,
        alerting=raw.alerting,
        pin_images=raw.pinImages,
        gateway=raw.gateway,
        tls=raw.tls,
        network_policy=raw.networkPolicy,
        rbac=raw.rbac,
        dns=raw.dns,
        services=services,
        secrets={key: config.require_secret(key) for key in sorted(needed)},
    )


def _check_replication(raw: RawSettings | None) -> list[str]:
    """The backup copy must survive the loss of the bucket's region, and its derived name must be valid."""
    replication = raw.backup.replication if raw is not None else None
    if raw is None or replication is None:
        return []
    key = f"{CONFIG_KEYS['backup']}.replication.region"
    problems = []
    if replication.region == raw.region:
        problems.append(f"{key}: must be another region than aws:region ({raw.region}), got {replication.region!r}")
    replica = f"{raw.backup.bucketName}-replica"
    if len(replica) > 63:
        problems.append(
            f"{CONFIG_KEYS['backup']}.bucketName: the replica bucket {replica!r} would be longer than 63 characters; "
            "use a bucket name of at most 55"
        )
    return problems


def _validate(model: type[_M], value: Any, prefix: tuple[str, ...], problems: list[str]) -> _M | None:
    try:
        return model.model_validate(value)
    except ValidationError as error:
        problems += _describe(error, prefix)
        return None


def _validate_services(services: Any, problems: list[str]) -> dict[str, ServiceConfig]:
    if not isinstance(services, dict):
        problems.append(f"{CONFIG_KEYS['services']}: must be a map of service name to settings, got {services!r}")
        return {}
    problems += _check_names(services)
    validated = {}
    for name, value in services.items():
        if name in CATALOG:
            config = _validate(ServiceConfig, value, ("services", name), problems)
            if config is not None:
                validated[name] = config
    return validated


def required_secret_keys(values: Mapping[str, Any]) -> list[str]:
    """Fully qualified config secrets a stack needs, given its stack-file config VALUES (for offline renders)."""

    def structured(field: str) -> dict[str, Any]:
        value = values.get(CONFIG_KEYS[field]) or {}
        return value if isinstance(value, dict) else {}

    overrides = structured("services")
    needed = _secret_requirements(
        [name for name in CATALOG if (overrides.get(name) or {}).get("enabled", True) is not False],
        monitoring=structured("addons").get("monitoring", True) is not False,
        webhook=bool(structured("alerting").get("webhookUrl")),
    )
    return sorted(f"{PROJECT}:{key}" for key in needed)


def _secret_requirements(
    services: Iterable[str], monitoring: bool, webhook: bool
) -> dict[str, tuple[ConfigSecret, list[str]]]:
    """Config secret key -> (the secret, who needs it), for the enabled SERVICES and the alerting."""
    needed: dict[str, tuple[ConfigSecret, list[str]]] = {}
    for service in services:
        for secret in CATALOG[service].config_secrets:
            needed.setdefault(secret.config_key, (secret, []))[1].append(service)
    if monitoring:
        for name, secret in ALERTING_SECRETS.items():
            if name != "webhook" or webhook:
                needed[secret.config_key] = (secret, ["alerting"])
    return needed


def _read_raw() -> tuple[dict[str, Any], set[str]]:
    values: dict[str, Any] = {}
    secret: set[str] = set()
    for field, key in CONFIG_KEYS.items():
        text = pulumi.runtime.get_config(key)
        if text is None:
            continue
        if pulumi.runtime.is_config_secret(key):
            secret.add(key)
        values[field] = _parse(field, text)
    return values, secret


def _parse(field: str, text: str) -> Any:
    """Config arrives as strings; objects and booleans are JSON. Bad JSON is left for validation to report."""
    if _is_string_field(field):
        return text
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return text


def _is_string_field(field: str) -> bool:
    annotation = RawSettings.model_fields[field].annotation
    return annotation is str or (
        get_origin(annotation) is Literal and all(isinstance(a, str) for a in get_args(annotation))
    )


def _all_config_keys() -> Iterable[str]:
    from pulumi.runtime import config as runtime_config

    yield from runtime_config.CONFIG.get().keys()
    yield from (runtime_config.get_config_env() or {}).keys()


def _known_secret_keys() -> set[str]:
    secrets = [*ALERTING_SECRETS.values(), *(s for spec in CATALOG.values() for s in spec.config_secrets)]
    return {f"{PROJECT}:{s.config_key}" for s in secrets}


def _unknown_keys() -> list[str]:
    known = set(CONFIG_KEYS.values()) | _known_secret_keys()
    allowed = ", ".join(sorted(k.split(":", 1)[1] for k in known if k.startswith(f"{PROJECT}:")))
    return [
        f"{key}: unknown key; allowed keys are {allowed}"
        for key in sorted(set(_all_config_keys()))
        if key.startswith(f"{PROJECT}:") and key not in known
    ]


def _describe(error: ValidationError, prefix: tuple[str, ...] = ()) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        loc = (*prefix, *item["loc"])
        path = _key_path(loc)
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = f"unknown key; allowed keys are {', '.join(_allowed_at(loc[:-1]))}"
        elif item["type"] == "missing":
            message = "is required"
        elif "input" in item and item["type"] not in ("value_error",):
            message = f"{message}, got {item['input']!r}"
        problems.append(f"{path}: {message.removeprefix('Value error, ')}")
    return problems


def _key_path(loc: tuple[Any, ...]) -> str:
    head, *rest = [str(part) for part in loc] or ["config"]
    key = CONFIG_KEYS.get(head, f"{PROJECT}:{head}")
    return ".".join([key, *rest])


def _allowed_at(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at LOC (skipping map keys), for 'allowed keys' hints."""
    model: type[BaseModel] = RawSettings
    skip_key = False
    for part in loc:
        if skip_key:
            skip_key = False
            continue
        annotation = model.model_fields[str(part)].annotation
        model, skip_key = _model_of(annotation)
    return sorted(model.model_fields)


def _model_of(annotation: Any) -> tuple[type[BaseModel], bool]:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate, False
        if get_origin(candidate) is dict:
            inner, _ = _model_of(get_args(candidate)[1])
            return inner, True
    raise KeyError(annotation)


def _check_names(services: dict[str, Any]) -> list[str]:
    """Service and app names must be the catalog's (named as the manuals name them)."""
    problems = []
    base = CONFIG_KEYS["services"]
    for name, override in services.items():
        if name not in CATALOG:
            problems.append(f"{base}.{name}: unknown service; allowed are {', '.join(CATALOG)}")
            continue
        apps = (override or {}).get("apps") if isinstance(override, dict) else None
        for app in apps or {}:
            known = [a.name for a in CATALOG[name].apps]
            if app not in known:
                problems.append(f"{base}.{name}.apps.{app}: unknown app; allowed are {', '.join(known)}")
    return problems


def _check_environment(environment: Any) -> list[str]:
    stack = pulumi.get_stack()
    if stack in STACKS and environment in STACKS and environment != stack:
        return [f"{CONFIG_KEYS['environment']}: must match the stack {stack!r}, got {environment!r}"]
    return []


def _merge(raw: RawSettings, overrides: Mapping[str, ServiceConfig]) -> dict[str, ServiceSettings]:
    merged = {}
    spot = Scheduling(dict(raw.spot.nodeSelector), tuple(raw.spot.tolerations))
    for name, spec in CATALOG.items():
        override = overrides.get(name, ServiceConfig())
        apps = {app.name: _merge_app(app, override.apps.get(app.name, AppConfig()), raw, spot) for app in spec.apps}
        merged[name] = ServiceSettings(
            spec,
            override.enabled,
            apps,
            override.quota,
            _merge_database(spec.database, override.database),
            _merge_cache(spec.cache, override.cache),
        )
    return merged


def _merge_app(spec: AppSpec, override: AppConfig, raw: RawSettings, spot: Scheduling) -> AppSettings:
    autoscaling = spec.autoscaling
    if autoscaling is not None:
        autoscaling = replace(
            autoscaling,
            min_replicas=override.minReplicas or autoscaling.min_replicas,
            max_replicas=override.maxReplicas or autoscaling.max_replicas,
        )
    resources = spec.resources
    if override.resources is not None:
        resources = Resources(
            _merge_amounts(spec.resources.requests, override.resources.requests),
            _merge_amounts(spec.resources.limits, override.resources.limits),
        )
    on_spot = spec.spot if override.spot is None else override.spot
    image = override.image or f"{raw.imageRegistry}/{spec.image_repository}:{raw.imageTag}"
    return AppSettings(
        spec=spec,
        image=image,
        replicas=override.replicas or spec.replicas,
        autoscaling=autoscaling,
        resources=resources,
        env={**spec.env, **(override.env or {})},
        scheduling=spot if on_spot else None,
        delivery=_merge_delivery(override.delivery, image),
    )


def _merge_delivery(override: DeliveryConfig | None, image: str) -> BlueGreenSettings | CanarySettings | None:
    """The app's delivery strategy; a colour or canary without its own image runs the app's image."""
    if override is None or override.strategy == "rolling":
        return None
    if override.strategy == "blue-green":
        images = override.images or ColourImagesConfig()
        return BlueGreenSettings(
            active=override.active or "blue",
            images={"blue": images.blue or image, "green": images.green or image},
            idle_replicas=override.idleReplicas,
            smoke_test=override.smokeTest or SmokeTestConfig(),
        )
    return CanarySettings(
        image=override.canaryImage or image,
        weight=override.weight or 0,
        replicas=1 if override.canaryReplicas is None else override.canaryReplicas,
    )


def _merge_database(spec: DatabaseSpec | None, override: DatabaseConfig | None) -> DatabaseSettings | None:
    if spec is None:
        return None
    override = override or DatabaseConfig()
    return DatabaseSettings(
        spec, override.instances or spec.instances, override.storageSize or spec.storage_size, override.storageClass
    )


def _merge_cache(spec: CacheSpec | None, override: CacheConfig | None) -> CacheSettings | None:
    if spec is None:
        return None
    override = override or CacheConfig()
    return CacheSettings(
        spec, override.replicas or spec.replicas, override.storageSize or spec.storage_size, override.storageClass
    )


def _merge_amounts(base: Mapping[str, str], override: ResourceAmounts | None) -> dict[str, str]:
    merged = dict(base)
    if override is not None:
        merged.update({k: v for k, v in override.model_dump().items() if v is not None})
    return merged


def _check_merged(services: Mapping[str, ServiceSettings], overrides: Mapping[str, ServiceConfig]) -> list[str]:
    problems = []
    for name, service in services.items():
        for store, kind in (("database", "Postgres"), ("cache", "Redis")):
            if getattr(service, store) is None and name in overrides and getattr(overrides[name], store):
                problems.append(f"{CONFIG_KEYS['services']}.{name}.{store}: {name} has no {kind} in its manual")
        for app_name, app in service.apps.items():
            path = f"{CONFIG_KEYS['services']}.{name}.apps.{app_name}"
            given = overrides[name].apps.get(app_name) if name in overrides else None
            problems += _check_scaling(path, app, given.model_fields_set if given else set())
            problems += _check_requests_within_limits(path, app)
            problems += _check_delivery(f"{path}.delivery", app, given.delivery if given else None)
            clash = sorted(set(app.env) & set(app.spec.secret_env))
            if clash:
                problems.append(f"{path}.env: {', '.join(clash)} come from Secrets and cannot be set as plain env")
    return problems


def _check_scaling(path: str, app: AppSettings, override: set[str]) -> list[str]:
    scaling = app.autoscaling
    if scaling is None and ({"minReplicas", "maxReplicas"} & set(override)):
        return [f"{path}: this app is not autoscaled; set replicas instead of minReplicas/maxReplicas"]
    if scaling is not None and "replicas" in override:
        return [f"{path}.replicas: this app is autoscaled (the HPA owns replicas); set minReplicas/maxReplicas"]
    if scaling is not None and scaling.min_replicas > scaling.max_replicas:
        return [f"{path}.minReplicas: must be <= maxReplicas ({scaling.max_replicas}), got {scaling.min_replicas}"]
    return []


def _check_delivery(path: str, app: AppSettings, given: DeliveryConfig | None) -> list[str]:
    """Each strategy takes only its own keys, and needs the ones it cannot guess."""
    if given is None:
        return []
    strategy, chosen = given.strategy, given.model_fields_set - {"strategy"}
    problems = [
        f"{path}.{key}: only applies to strategy {_strategy_of(key)}, not {strategy}"
        for key in sorted(chosen - STRATEGY_KEYS[strategy])
    ]
    problems += [
        f"{path}.{key}: is required for strategy {strategy}"
        for key in sorted(REQUIRED_STRATEGY_KEYS.get(strategy, set()) - chosen)
    ]
    if strategy == "canary" and not app.spec.public:
        problems.append(f"{path}.strategy: canary splits public traffic at the Gateway; {app.spec.name} is not public")
    canary = app.delivery
    if isinstance(canary, CanarySettings) and canary.weight > 0 and canary.replicas == 0:
        problems.append(f"{path}.canaryReplicas: must be >= 1 while weight is above 0, got 0")
    return problems


def _strategy_of(key: str) -> str:
    return next(strategy for strategy, keys in STRATEGY_KEYS.items() if key in keys)


def _check_requests_within_limits(path: str, app: AppSettings) -> list[str]:
    problems = []
    for resource, request in app.resources.requests.items():
        limit = app.resources.limits.get(resource)
        if limit is not None and quantity.parse(request) > quantity.parse(limit):
            problems.append(f"{path}.resources.requests.{resource}: must be <= the limit {limit}, got {request}")
    return problems


@dataclass(frozen=True)
class _MissingSecrets:
    commands: list[str]
    plain: list[str]


def _missing_secrets(needed: Mapping[str, tuple[ConfigSecret, list[str]]]) -> _MissingSecrets:
    commands, plain = [], []
    for key, (secret, users) in sorted(needed.items()):
        full = f"{PROJECT}:{key}"
        if not pulumi.runtime.get_config(full):  # the project default "" means unset
            commands.append(f"pulumi config set --secret {key} <value>   # {secret.description} ({', '.join(users)})")
        elif not pulumi.runtime.is_config_secret(full):
            plain.append(f"{full}: is stored in plain text; set it again with `pulumi config set --secret {key}`")
    return _MissingSecrets(commands, plain)


def _cluster(cluster: ClusterConfig) -> ClusterSettings:
    identifier = cluster.name or cluster.stack or cluster.context
    assert identifier is not None  # ClusterConfig requires a name with kubeconfig
    return ClusterSettings(
        identifier=identifier,
        kubeconfig=pulumi.Output.secret(cluster.kubeconfig) if cluster.kubeconfig else None,
        context=cluster.context,
        stack=cluster.stack,
        oidc_provider_arn=cluster.oidcProviderArn,
        oidc_issuer_url=cluster.oidcIssuerUrl,
    )
