"""The ai-platform policies (Pulumi CrossGuard), mandatory in every `pulumi preview` and `pulumi up` of CI (X-16).

Each policy sees what the engine sends it: a resource's inputs as the provider receives them (Kubernetes objects in
camelCase, secrets unwrapped), its options (`protect`), and, for stack policies, every resource of the stack. Helm
releases are checked as releases: the objects a chart renders are not Pulumi resources, so the chart tests check
them (`helm template` in the test suite), not this pack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
LONG_RUNNING_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}
REQUIRED_RESOURCES = ("cpu", "memory")
POD_SECURITY_MODES = ("enforce", "audit", "warn")
POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
PRIVILEGED = ["node-exporter", "log-shipping"]
"""Namespaces that may enforce `privileged`: node-exporter's own and the log shipper's, which read the host."""
HOST_LOG_READERS = ["log-shipping/fluent-bit"]
"""Workloads (`namespace/name`) that may mount host paths and run as uid 0 to read the nodes' container logs; they
stay unprivileged, without escalation or host namespaces."""

S3_BUCKET = "aws:s3/bucket:Bucket"
S3_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_LOGGING = "aws:s3/bucketLogging:BucketLogging"
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")

# Resources whose deletion loses data: protected wherever the policy is enforced (prod).
STATEFUL_TYPES = (
    S3_BUCKET,
    "aws:kms/key:Key",
    "kubernetes:postgresql.cnpg.io/v1:Cluster",
    "kubernetes:core/v1:PersistentVolumeClaim",
)
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"

SECRET_NAME = re.compile(r"(?i)(pass(word|wd)?|secret|token|api[-_]?key|private[-_]?key|credential|auth[-_]?key)")
CREDENTIAL_VALUE = re.compile(
    r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"  # a URL with a password
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\bAKIA[0-9A-Z]{16}\b"  # an AWS access key id
    r"|\bsk-[A-Za-z0-9_-]{20,}"  # OpenAI/Anthropic style API keys
)


# --- where containers and images are --------------------------------------------------------------


def pod_spec(props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod spec of a Pod or of a workload's pod template, None for other objects."""
    kind = props.get("kind")
    if kind not in POD_TEMPLATE_KINDS:
        return None
    spec = props.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


def containers(spec: Mapping[str, Any], *, init: bool = True) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(`containers[name]`, container) of a pod spec; init containers with INIT."""
    for key in ("initContainers", "containers") if init else ("containers",):
        for container in spec.get(key) or []:
            yield f"{key}[{container.get('name')}]", container


def images(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, image) of every `image`/`imageName` string in a Kubernetes object (custom resources included)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in ("image", "imageName") and isinstance(item, str):
                yield where, item
            else:
                yield from images(item, where)
    elif isinstance(value, Sequence) and not isinstance(value, str):  # the engine's props are proxies
        for index, item in enumerate(value):
            yield from images(item, f"{path}[{index}]")


def is_kubernetes_object(args: ResourceValidationArgs) -> bool:
    return args.resource_type.startswith("kubernetes:") and "kind" in args.props


def label(props: Mapping[str, Any]) -> str:
    meta = props.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{props.get('kind')} {where}{meta.get('name')}"


# --- the policies ---------------------------------------------------------------------------------


def _resources_and_probes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = pod_spec(args.props) if is_kubernetes_object(args) else None
    if spec is None:
        return
    long_running = args.props.get("kind") in LONG_RUNNING_KINDS
    for where, container in containers(spec):
        resources = container.get("resources") or {}
        for side in ("requests", "limits"):
            missing = [r for r in REQUIRED_RESOURCES if r not in (resources.get(side) or {})]
            if missing:
                report(f"{label(args.props)} {where}: no {side} for {', '.join(missing)}")
        if long_running and where.startswith("containers["):
            missing = [p for p in ("readinessProbe", "livenessProbe") if not container.get(p)]
            if missing:
                report(f"{label(args.props)} {where}: no {', '.join(missing)}")


def _pinned_images(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_kubernetes_object(args):
        return
    require_digest = bool(args.get_config().get("requireDigest", False))
    for where, image in images(args.props):
        name, _, digest = image.partition("@")
        last = name.rsplit("/", 1)[-1]
        tag = last.partition(":")[2]
        if digest:
            if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
                report(f"{label(args.props)} {where}: {image!r} has a malformed digest")
        elif require_digest:
            report(f"{label(args.props)} {where}: {image!r} is not pinned by digest (image pinning is on)")
        elif not tag or tag == "latest":
            report(f"{label(args.props)} {where}: {image!r} has no tag or `latest`; pin a version")


def _pod_security(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = pod_spec(args.props) if is_kubernetes_object(args) else None
    if spec is None:
        return
    what = label(args.props)
    meta = args.props.get("metadata") or {}
    readers = args.get_config().get("hostLogReaders", HOST_LOG_READERS)
    reads_host_logs = f"{meta.get('namespace')}/{meta.get('name')}" in readers
    for key in HOST_NAMESPACES:
        if spec.get(key):
            report(f"{what}: {key} shares the node's namespace")
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume and not reads_host_logs:
            report(f"{what}: volume {volume.get('name')} mounts a host path")
    pod_context = spec.get("securityContext") or {}
    for where, container in containers(spec):
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            report(f"{what} {where}: privileged")
        if context.get("allowPrivilegeEscalation", True) is not False:
            report(f"{what} {where}: allowPrivilegeEscalation is not false")
        run_as_non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        run_as_user = context.get("runAsUser", pod_context.get("runAsUser"))
        if (run_as_non_root is not True or run_as_user == 0) and not reads_host_logs:
            report(f"{what} {where}: may run as root (runAsNonRoot {run_as_non_root}, runAsUser {run_as_user})")


def _namespace_labels(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not (is_kubernetes_object(args) and args.props.get("kind") == "Namespace"):
        return
    meta = args.props.get("metadata") or {}
    labels = meta.get("labels") or {}
    exempt = set(args.get_config().get("privilegedNamespaces", PRIVILEGED))
    for mode in POD_SECURITY_MODES:
        level = labels.get(f"pod-security.kubernetes.io/{mode}")
        if level not in POD_SECURITY_LEVELS:
            report(f"Namespace {meta.get('name')}: pod-security.kubernetes.io/{mode} is {level!r}")
    if labels.get("pod-security.kubernetes.io/enforce") == "privileged" and meta.get("name") not in exempt:
        report(f"Namespace {meta.get('name')} enforces `privileged`; only {sorted(exempt)} may")


def _no_load_balancers(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not (is_kubernetes_object(args) and args.props.get("kind") == "Service"):
        return
    if (args.props.get("spec") or {}).get("type") != "LoadBalancer":
        return
    meta = args.props.get("metadata") or {}
    allowed = set(args.get_config().get("allowed", []))
    if f"{meta.get('namespace')}/{meta.get('name')}" not in allowed:
        report(f"{label(args.props)} is a LoadBalancer; public traffic enters through the Gateway")


def _protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    stateful = args.resource_type in args.get_config().get("types", STATEFUL_TYPES)
    if args.resource_type == STATEFUL_SET:
        retention = (args.props.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
        stateful = retention.get("whenDeleted") == "Delete"  # otherwise its volumes outlive it
    if stateful and not args.opts.protect:
        report(f"{args.resource_type} {args.name} holds data and is not protected")


def _no_secret_literals(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_kubernetes_object(args):
        return
    if args.props.get("kind") == "ConfigMap":
        for field in ("data", "binaryData"):
            for key, value in (args.props.get(field) or {}).items():
                if SECRET_NAME.search(key):
                    report(f"{label(args.props)} {field}.{key}: a secret's name in a ConfigMap; use a Secret")
                if isinstance(value, str) and CREDENTIAL_VALUE.search(value):
                    report(f"{label(args.props)} {field}.{key}: holds a credential; use a Secret")
    spec = pod_spec(args.props)
    for where, container in containers(spec) if spec is not None else ():
        for env in container.get("env") or []:
            value = env.get("value")
            if value is None:
                continue
            name = env.get("name", "")
            # `X_FILE` names the path of a mounted Secret: the way to hand a secret over without a literal.
            if (SECRET_NAME.search(name) and not name.endswith("_FILE")) or CREDENTIAL_VALUE.search(str(value)):
                report(f"{label(args.props)} {where} env {env.get('name')}: a secret as a literal; use secretKeyRef")


def _buckets_encrypted_versioned_private(args: StackValidationArgs, report: ReportViolation) -> None:
    buckets = {r.props.get("bucket"): r for r in args.resources if r.resource_type == S3_BUCKET}
    settings: dict[str, dict[str, Any]] = {name: {} for name in buckets}
    for resource in args.resources:
        target = resource.props.get("bucket")
        if target in settings and resource.resource_type in (S3_ENCRYPTION, S3_VERSIONING, S3_PUBLIC_ACCESS_BLOCK):
            settings[target][resource.resource_type] = resource.props
    # S3 delivers server access logs only into buckets encrypted with S3-managed keys (SSE-S3): a log target
    # may use AES256, every other bucket a KMS key.
    log_targets = {r.props.get("targetBucket") for r in args.resources if r.resource_type == S3_LOGGING}
    for name, bucket in buckets.items():
        found = settings[name]
        rules = (found.get(S3_ENCRYPTION) or {}).get("rules") or []
        default = [(r.get("applyServerSideEncryptionByDefault") or {}) for r in rules]
        kms = any(d.get("sseAlgorithm") in ("aws:kms", "aws:kms:dsse") and d.get("kmsMasterKeyId") for d in default)
        log_target_sse_s3 = name in log_targets and any(d.get("sseAlgorithm") == "AES256" for d in default)
        if not (kms or log_target_sse_s3):
            report(f"bucket {name}: no default encryption with a KMS key", bucket.urn)
        if ((found.get(S3_VERSIONING) or {}).get("versioningConfiguration") or {}).get("status") != "Enabled":
            report(f"bucket {name}: versioning is not enabled", bucket.urn)
        block = found.get(S3_PUBLIC_ACCESS_BLOCK) or {}
        open_flags = [flag for flag in PUBLIC_ACCESS_FLAGS if block.get(flag) is not True]
        if open_flags:
            report(f"bucket {name}: public access not blocked ({', '.join(open_flags)})", bucket.urn)


POLICIES = [
    ResourceValidationPolicy(
        name="containers-resources-and-probes",
        description="Every container has CPU and memory requests and limits; long-running ones readiness and "
        "liveness probes.",
        validate=_resources_and_probes,
    ),
    ResourceValidationPolicy(
        name="images-pinned",
        description="No image without a tag or with `latest`; with image pinning on, every image by digest.",
        validate=_pinned_images,
        config_schema=PolicyConfigSchema(properties={"requireDigest": {"type": "boolean", "default": False}}),
    ),
    ResourceValidationPolicy(
        name="pods-unprivileged",
        description="No privileged container, privilege escalation, host namespace or host path; no root (the "
        "host log readers excepted from host paths and root).",
        validate=_pod_security,
        config_schema=PolicyConfigSchema(
            properties={"hostLogReaders": {"type": "array", "items": {"type": "string"}, "default": HOST_LOG_READERS}}
        ),
    ),
    ResourceValidationPolicy(
        name="namespaces-pod-security-labels",
        description="Every Namespace sets the Pod Security enforce, audit and warn levels; `privileged` only "
        "where configured.",
        validate=_namespace_labels,
        config_schema=PolicyConfigSchema(
            properties={"privilegedNamespaces": {"type": "array", "items": {"type": "string"}, "default": PRIVILEGED}}
        ),
    ),
    StackValidationPolicy(
        name="s3-buckets-encrypted-versioned-private",
        description="Every S3 bucket has KMS default encryption, versioning and all four public access blocks.",
        validate=_buckets_encrypted_versioned_private,
    ),
    ResourceValidationPolicy(
        name="no-load-balancer-services",
        description="No Service of type LoadBalancer: public traffic enters through the Gateway.",
        validate=_no_load_balancers,
        config_schema=PolicyConfigSchema(
            properties={"allowed": {"type": "array", "items": {"type": "string"}, "default": []}}
        ),
    ),
    ResourceValidationPolicy(
        name="stateful-resources-protected",
        description="Resources that hold data (buckets, KMS keys, databases, volumes) carry `protect`.",
        validate=_protected,
        config_schema=PolicyConfigSchema(
            properties={"types": {"type": "array", "items": {"type": "string"}, "default": list(STATEFUL_TYPES)}}
        ),
    ),
    ResourceValidationPolicy(
        name="no-secret-literals",
        description="No secret in a ConfigMap or in a container's literal env value.",
        validate=_no_secret_literals,
    ),
]

ENFORCEMENT = EnforcementLevel.MANDATORY
