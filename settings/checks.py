"""Checks that need several keys or the catalog, on the merged settings: what the components, the API server or
AWS would refuse later, refused here first, with the key the stack file sets.

Per app: scaling bounds, requests within limits, delivery keys per strategy and their sense, env values that are
secrets. Per service: a set quota that covers what the service runs at its peak, volumes that fit, caches with
room for their append-only file. For the stack: names derived from config (the log and replica buckets, IAM roles,
public hosts), Prometheus retention against its volume, the log stack's redundancy and snapshot retention in prod,
a trusted ACME directory in prod, images that do not move.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pydantic.alias_generators import to_camel

from components import quantity
from components.kube import Resources
from components.monitoring_stack import MAX_RETENTION_SHARE_OF_VOLUME
from components.validation import prometheus_size_bytes
from services.conventions import GRAFANA_HOST_LABEL, MONITORING_NAMESPACE, PROMETHEUS_HOST_LABEL
from settings import log_stack_checks
from settings.capacity_checks import check_app_volume, check_quota, check_volumes
from settings.errors import config_key, shown
from settings.models import (
    BACKUPS_OWNER,
    METRICS_OWNER,
    AppSettings,
    BackupRole,
    BlueGreenSettings,
    CanarySettings,
    ServiceSettings,
)
from settings.models import iam_role_name as role_name
from settings.schema import (
    REQUIRED_STRATEGY_KEYS,
    STRATEGY_KEYS,
    AppConfig,
    DeliveryConfig,
    QuotaConfig,
    RawSettings,
    ServiceConfig,
)
from settings.values import (
    CREDENTIAL_VALUE,
    bucket_name_problem,
    image_tag,
    issues_untrusted_certificates,
    moving_tag,
    secret_env_name,
)

SERVICES_KEY = config_key("services")
PRODUCTION = "prod"
"""The environment whose stacks hold production data and serve the public."""
_MAX_IAM_ROLE_NAME = 64
_MAX_HOST = 253 - len("https-")
"""A public host's listener is `https-<host with dots as dashes>`, a Gateway API section name (253 at most)."""
_RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_DATABASE_ROLES = (BackupRole.WAL, BackupRole.DUMP, BackupRole.RESTORE_CHECK, BackupRole.PITR_DRILL)


# --- apps -------------------------------------------------------------------------------------------


def check_services(services: Mapping[str, ServiceSettings], overrides: Mapping[str, ServiceConfig]) -> list[str]:
    problems = []
    for name, service in services.items():
        given = overrides.get(name, ServiceConfig())
        for store, kind in (("database", "Postgres"), ("cache", "Redis")):
            if getattr(service, store) is None and getattr(given, store):
                problems.append(f"{SERVICES_KEY}.{name}.{store}: {name} has no {kind} in its manual")
        if service.database is not None:
            problems += _check_requests_within_limits(f"{SERVICES_KEY}.{name}.database", service.database.resources)
        for app_name, app in service.apps.items():
            path = f"{SERVICES_KEY}.{name}.apps.{app_name}"
            app_given = given.apps.get(app_name, AppConfig())
            problems += _check_scaling(path, app, app_given.model_fields_set)
            problems += _check_requests_within_limits(path, app.resources)
            problems += _check_delivery(f"{path}.delivery", app, app_given.delivery)
            problems += _check_env(f"{path}.env", app)
            problems += _check_derived_env(path, app, app_given)
            problems += check_app_volume(f"{path}.volume", app, app_given.volume)
        if given.quota is not None:
            problems += check_quota(f"{SERVICES_KEY}.{name}.quota", service, given.quota)
        problems += check_volumes(f"{SERVICES_KEY}.{name}", service, given.quota or QuotaConfig())
    return problems


def _check_scaling(path: str, app: AppSettings, override: set[str]) -> list[str]:
    scaling = app.autoscaling
    if scaling is None and ({"min_replicas", "max_replicas"} & set(override)):
        return [f"{path}: this app is not autoscaled; set replicas instead of minReplicas/maxReplicas"]
    if scaling is not None and "replicas" in override:
        return [f"{path}.replicas: this app is autoscaled (the HPA owns replicas); set minReplicas/maxReplicas"]
    if scaling is not None and scaling.min_replicas > scaling.max_replicas:
        return [f"{path}.minReplicas: must be <= maxReplicas ({scaling.max_replicas}), got {scaling.min_replicas}"]
    return []


def _check_requests_within_limits(path: str, resources: Resources) -> list[str]:
    problems = []
    for resource, request in resources.requests.items():
        limit = resources.limits.get(resource)
        if limit is not None and quantity.parse(request) > quantity.parse(limit):
            problems.append(f"{path}.resources.requests.{resource}: must be <= the limit {limit}, got {request}")
    return problems


def _check_delivery(path: str, app: AppSettings, given: DeliveryConfig | None) -> list[str]:
    """Each strategy takes only its own keys, needs the ones it cannot guess, and must make sense for the app."""
    if given is None:
        return []
    strategy, chosen = given.strategy, given.model_fields_set - {"strategy"}
    problems = [
        f"{path}.{to_camel(key)}: only applies to strategy {_strategy_of(key)}, not {strategy}"
        for key in sorted(chosen - STRATEGY_KEYS[strategy])
    ]
    problems += [
        f"{path}.{to_camel(key)}: is required for strategy {strategy}"
        for key in sorted(REQUIRED_STRATEGY_KEYS.get(strategy, set()) - chosen)
    ]
    if strategy != "rolling" and not app.spec.serves_requests:
        problems.append(
            f"{path}.strategy: {strategy} switches or splits the requests its Service receives, and {app.spec.name} "
            "serves none (it takes its work from a queue), so must be rolling"
        )
    elif strategy == "canary" and not app.spec.public:
        problems.append(f"{path}.strategy: canary splits public traffic at the Gateway; {app.spec.name} is not public")
    most = app.autoscaling.max_replicas if app.autoscaling else app.replicas
    match app.delivery:
        case BlueGreenSettings(idle_replicas=int(idle)) if idle > most:
            problems.append(f"{path}.idleReplicas: must be at most what the active colour may run ({most}), got {idle}")
        case CanarySettings(weight=weight, replicas=0) if weight > 0:
            problems.append(f"{path}.canaryReplicas: must be >= 1 while weight is above 0, got 0")
        case CanarySettings(replicas=replicas) if replicas > most:
            problems.append(f"{path}.canaryReplicas: must be at most the stable app's maximum ({most}), got {replicas}")
    return problems


def _strategy_of(key: str) -> str:
    return next(strategy for strategy, keys in STRATEGY_KEYS.items() if key in keys)


def _check_env(path: str, app: AppSettings) -> list[str]:
    problems = []
    clash = sorted(set(app.env) & set(app.spec.secret_env))
    if clash:
        problems.append(f"{path}: {', '.join(clash)} come from Secrets and cannot be set as plain env")
    for name, value in sorted(app.env.items()):
        # A name the manual itself gives a plain value (e.g. a pool size) is a setting, whatever it is called.
        named_secret = secret_env_name(name) and name not in app.spec.env
        if name not in clash and (named_secret or CREDENTIAL_VALUE.search(value)):
            problems.append(
                f"{path}.{name}: must be a plain setting, not a secret: env values are written into the Deployment "
                "as they are; provider keys are secrets of their own (`pulumi config set --secret openaiApiKey`, "
                f"...), got {shown(value, secret=True)}"
            )
    return problems


def _check_derived_env(path: str, app: AppSettings, given: AppConfig) -> list[str]:
    """Env the program derives (callee URLs, allowed origins) is not set by hand; corsOrigins only where it applies."""
    problems = []
    calls = sorted(set(given.env or {}) & set(app.spec.calls))
    if calls:
        problems.append(f"{path}.env: {', '.join(calls)} are the URLs of the apps it calls, set by the program")
    cors = app.spec.cors_origins_env
    if cors is None and given.cors_origins is not None:
        problems.append(f"{path}.corsOrigins: {app.spec.name} reads no allowed origins")
    if cors is not None and cors in (given.env or {}):
        problems.append(f"{path}.env.{cors}: set corsOrigins instead (a list of https:// origins)")
    return problems


# --- the stack ---------------------------------------------------------------------------------------


def check_stack(
    raw: RawSettings, services: Mapping[str, ServiceSettings], overrides: Mapping[str, ServiceConfig], stack: str
) -> list[str]:
    return [
        *_check_buckets(raw),
        *_check_role_names(raw, services, stack),
        *_check_hosts(raw, services),
        *_check_monitoring(raw),
        *log_stack_checks.check(raw, raw.environment == PRODUCTION),
        *_check_tls(raw),
        *_check_gateway_namespace(raw, services),
        *_check_images(raw, overrides),
        *_check_metrics_server(raw),
    ]


def _check_buckets(raw: RawSettings) -> list[str]:
    """The access-log bucket and the replica are named after the bucket: their names must be valid too."""
    backup, key = raw.backup, config_key("backup")
    problems = []
    derived = {"access-log bucket": f"{backup.bucket_name}-logs"}
    replication = backup.replication
    if replication is not None:
        derived["replica bucket"] = f"{backup.bucket_name}-replica"
        if replication.region == raw.region:
            problems.append(
                f"{key}.replication.region: must be another region than aws:region ({raw.region}), "
                f"got {replication.region!r}"
            )
    for what, name in derived.items():
        problem = bucket_name_problem(name)
        if problem:
            longest = 63 - (len(name) - len(backup.bucket_name))
            problems.append(
                f"{key}.bucketName: the {what} {name!r} named after it must be {problem}: use a bucket name of at "
                f"most {longest} characters, got {backup.bucket_name!r}"
            )
    return problems


def _check_role_names(raw: RawSettings, services: Mapping[str, ServiceSettings], stack: str) -> list[str]:
    """IAM role names carry the stack, the owner and the role: at most 64 characters."""
    names = [
        role_name(stack, name, role)
        for name, service in services.items()
        if service.enabled and service.database is not None
        for role in _DATABASE_ROLES
    ]
    if raw.backup.replication is not None:
        names.append(role_name(stack, BACKUPS_OWNER, BackupRole.REPLICATION))
    names += log_stack_checks.role_names(raw, stack)
    if raw.addons.monitoring:
        names.append(role_name(stack, METRICS_OWNER, BackupRole.METRICS_COPY))
    too_long = [name for name in names if len(name) > _MAX_IAM_ROLE_NAME]
    if not too_long:
        return []
    longest = max(too_long, key=len)
    return [
        f"stack {stack!r}: its name is part of every IAM role name, and {longest!r} would have {len(longest)} "
        f"characters (IAM allows {_MAX_IAM_ROLE_NAME}): use a stack name of at most "
        f"{len(stack) - (len(longest) - _MAX_IAM_ROLE_NAME)} characters"
    ]


def _check_hosts(raw: RawSettings, services: Mapping[str, ServiceSettings]) -> list[str]:
    labels = [
        app.spec.public_host_label for s in services.values() if s.enabled for app in s.apps.values() if app.spec.public
    ]
    if raw.addons.monitoring and raw.addons.gateway:  # behind the login only our Envoy Gateway asks for
        labels += [PROMETHEUS_HOST_LABEL, GRAFANA_HOST_LABEL]
    labels += log_stack_checks.host_labels(raw)
    too_long = [f"{label}.{raw.domain}" for label in labels if len(label) + 1 + len(raw.domain) > _MAX_HOST]
    if not too_long:
        return []
    longest = max(too_long, key=len)
    allowed = len(raw.domain) - (len(longest) - _MAX_HOST)
    return [
        f"{config_key('domain')}: must be at most {allowed} characters: the public host {longest[:40]}... would have "
        f"{len(longest)} (at most {_MAX_HOST}, its HTTPS listener's name), got a domain of {len(raw.domain)}"
    ]


def _check_monitoring(raw: RawSettings) -> list[str]:
    monitoring, key = raw.monitoring, config_key("monitoring")
    retained = prometheus_size_bytes(monitoring.retention_size)  # the schema checked its form
    volume = quantity.parse(monitoring.prometheus_storage_size)
    if not raw.addons.monitoring or retained is None or retained <= volume * MAX_RETENTION_SHARE_OF_VOLUME:
        return []
    return [
        f"{key}.retentionSize: must be at most {int(MAX_RETENTION_SHARE_OF_VOLUME * 100)} % of prometheusStorageSize "
        f"({monitoring.prometheus_storage_size}; the rest holds the head block and WAL), got "
        f"{monitoring.retention_size}: lower it or grow the volume"
    ]


def _check_metrics_server(raw: RawSettings) -> list[str]:
    """The EKS add-on needs the cluster's EKS name: `cluster.name`, or the cluster stack's `clusterName` output."""
    if not raw.addons.metrics_server or raw.cluster.stack or raw.cluster.name:
        return []
    return [
        f"{config_key('addons')}.metricsServer: installing the EKS add-on metrics-server needs the EKS cluster's "
        f"name: set {config_key('cluster')}.name (it also becomes the provider's clusterIdentifier: on a deployed "
        "stack that replaces the provider), or set addons.metricsServer to false when the cluster already runs "
        "metrics-server (every HPA and `kubectl top` need it)"
    ]


def _check_tls(raw: RawSettings) -> list[str]:
    directory = raw.tls.cluster_issuer.acme_server
    if raw.environment == PRODUCTION and issues_untrusted_certificates(directory):
        return [
            f"{config_key('tls')}.clusterIssuer.acmeServer: must be a production ACME directory in {PRODUCTION} "
            f"(like https://acme-v02.api.letsencrypt.org/directory): this one issues certificates no browser "
            f"trusts, got {directory!r}"
        ]
    return []


def _check_gateway_namespace(raw: RawSettings, services: Mapping[str, ServiceSettings]) -> list[str]:
    taken = {ns for service in services.values() for ns in service.spec.namespaces}
    taken |= {MONITORING_NAMESPACE, *log_stack_checks.NAMESPACES}
    namespace = raw.gateway.namespace
    if namespace in taken or namespace in _RESERVED_NAMESPACES or namespace.startswith("kube-"):
        return [
            f"{config_key('gateway')}.namespace: must be a namespace of its own, not a service's, the monitoring "
            f"or log stack's or a system one ({', '.join(_RESERVED_NAMESPACES)}, kube-*), got {namespace!r}"
        ]
    return []


def _check_images(raw: RawSettings, overrides: Mapping[str, ServiceConfig]) -> list[str]:
    """No level where an image is set names a tag that moves (`latest`; with pinImages, a channel or a partial
    version too): the release tag, an app's image, a colour's, the canary's."""
    problems = []
    reason = moving_tag(raw.image_tag, raw.pin_images)
    if reason:
        problems.append(f"{config_key('imageTag')}: must name one release: {reason}, got {raw.image_tag!r}")
    for path, image in _given_images(overrides):
        tag, pinned = image_tag(image)
        reason = moving_tag(tag, raw.pin_images) if tag and not pinned else None
        if reason:
            problems.append(f"{path}: must name one release or a digest: {reason}, got {image!r}")
    return problems


def _given_images(overrides: Mapping[str, ServiceConfig]) -> Iterator[tuple[str, str]]:
    """(key path, image) of every image the stack sets (the rest follow imageTag)."""
    for name, service in overrides.items():
        for app_name, app in service.apps.items():
            path = f"{SERVICES_KEY}.{name}.apps.{app_name}"
            delivery = app.delivery or DeliveryConfig()
            colours = delivery.images.model_dump(exclude_none=True) if delivery.images else {}
            candidates = {
                f"{path}.image": app.image,
                f"{path}.delivery.canaryImage": delivery.canary_image,
                **{f"{path}.delivery.images.{colour}": image for colour, image in colours.items()},
            }
            yield from ((key, image) for key, image in candidates.items() if image is not None)
