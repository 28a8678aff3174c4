"""Small Kubernetes building blocks shared by the components.

Labels, hardened pod settings, resources, in-cluster DNS names, checkov findings, and the objects
several components declare alike (PodDisruptionBudget, ServiceMonitor). Every workload the platform
declares takes its security settings from here, so the Pod Security `restricted` profile is written once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi"}
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
"""ServiceAccount annotation naming the IAM role its pods assume (IRSA)."""
GATEWAY_API = "gateway.networking.k8s.io"
"""API group of the Gateway API (Gateway, HTTPRoute, ReferenceGrant)."""
SCRAPE_INTERVAL = "30s"
"""How often Prometheus scrapes the platform's own monitors."""

# Writable scratch space every hardened container gets, because the root filesystem is read-only.
TMP_SIZE_LIMIT = "256Mi"


PULUMI_WINS = {"pulumi.com/patchForce": "true"}
"""Server-side apply takes the fields the program declares even where a hand edit (`kubectl set image`,
`kubectl patch hpa`, ...) wrote them since: the next `pulumi up` restores the configured state instead of
failing on a field-manager conflict. Fields the program does not declare (an HPA's `replicas`, annotations
of `kubectl rollout restart`) are never touched."""


def app_labels(name: str, part_of: str | None = None, component: str | None = None) -> dict[str, str]:
    """Recommended labels; `app` is kept too because the manuals select on it (`-l app=...`)."""
    labels = {"app": name, "app.kubernetes.io/name": name, **MANAGED_BY}
    if part_of:
        labels["app.kubernetes.io/part-of"] = part_of
    if component:
        labels["app.kubernetes.io/component"] = component
    return labels


def selector_labels(name: str) -> dict[str, str]:
    """The immutable subset used in Deployment/StatefulSet selectors."""
    return {"app.kubernetes.io/name": name}


def child_options(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """Options for a component's children: parented, and waiting for what the caller made the component wait for.

    Pulumi does not pass a component's `depends_on` on to its children; without this a custom resource
    could be created before the operator release that defines its CRD.
    """
    return pulumi.ResourceOptions(parent=parent, depends_on=opts.depends_on if opts else None)


def metadata(
    name: pulumi.Input[str],
    namespace: pulumi.Input[str] | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, pulumi.Input[str]] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {**MANAGED_BY, **(labels or {})}}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


POD_SECURITY_VERSION = "v1.32"


def namespace_labels(name: str, enforce: str = "restricted") -> dict[str, str]:
    """A namespace's name label (selectors use it) and Pod Security labels.

    Audit and warn stay at `restricted` even where enforcement is relaxed, so every relaxation shows.
    """
    return {
        "kubernetes.io/metadata.name": name,
        "pod-security.kubernetes.io/enforce": enforce,
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
        **{f"pod-security.kubernetes.io/{mode}-version": POD_SECURITY_VERSION for mode in ("enforce", "audit", "warn")},
    }


def pod_security_context(run_as_user: int = 10001, fs_group: int | None = None) -> dict[str, Any]:
    """Pod-level settings of the `restricted` profile: non-root with a fixed UID, seccomp RuntimeDefault."""
    context: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": run_as_user,
        "runAsGroup": run_as_user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    context["fsGroup"] = fs_group if fs_group is not None else run_as_user
    return context


def container_security_context(run_as_user: int = 10001) -> dict[str, Any]:
    """Container-level settings of the `restricted` profile plus a read-only root filesystem."""
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": run_as_user,
        "runAsGroup": run_as_user,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


@dataclass(frozen=True)
class Resources:
    """Container requests and limits as Kubernetes quantities."""

    requests: Mapping[str, str]
    """Resource (`cpu`, `memory`, `ephemeral-storage`) -> amount the scheduler reserves."""
    limits: Mapping[str, str]
    """Resource -> amount the container may not exceed."""


def resources(amounts: Resources) -> dict[str, dict[str, str]]:
    """A container's `resources` field."""
    return {"requests": dict(amounts.requests), "limits": dict(amounts.limits)}


def env_vars(values: Mapping[str, pulumi.Input[str]]) -> list[dict[str, Any]]:
    """A container's `env` with plain values, by name (a stable order, so a render diffs cleanly)."""
    return [{"name": name, "value": value} for name, value in sorted(values.items())]


def empty_dir(name: str, size_limit: str) -> dict[str, Any]:
    return {"name": name, "emptyDir": {"sizeLimit": size_limit}}


def http_get(path: str, port: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}}


def checkov_skips(reasons: Mapping[str, str]) -> dict[str, str]:
    """checkov suppressions written on the object itself, each with its reason."""
    return {f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(sorted(reasons.items()), 1)}


DIGEST_SEPARATOR = "@sha256:"


UNPINNED_IMAGE_REASON = "tag-pinned image; set ai-platform:pinImages to deploy it by digest"


def unpinned_image_finding(*images: pulumi.Input[str], reason: str = UNPINNED_IMAGE_REASON) -> dict[str, str]:
    """checkov's digest check (CKV_K8S_43), accepted with its reason while an image is a plain tag.

    Images resolved to digests at deploy time arrive as Outputs and count as pinned.
    """
    if any(isinstance(image, str) and DIGEST_SEPARATOR not in image for image in images):
        return {"CKV_K8S_43": reason}
    return {}


def fixed_uid_findings(
    uid_reason: str, *images: pulumi.Input[str], unpinned_reason: str = UNPINNED_IMAGE_REASON
) -> dict[str, str]:
    """checkov findings of a pod running third-party images as their own fixed UID (CKV_K8S_40), with reasons."""
    return {"CKV_K8S_40": uid_reason, **unpinned_image_finding(*images, reason=unpinned_reason)}


def zone_spread(labels: Mapping[str, str], max_skew: int = 1) -> list[dict[str, Any]]:
    """Spread replicas over zones (and nodes) without blocking scheduling when a zone is short."""
    return [
        {
            "maxSkew": max_skew,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(labels)},
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def short_hash(text: str, length: int = 16) -> str:
    """A short SHA-256 hex digest of TEXT: content hashes in annotations, content-derived names."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def service_dns_name(service: str, namespace: str) -> str:
    """In-cluster DNS name of a Service whose name and namespace are known before deployment."""
    return f"{service}.{namespace}.svc.cluster.local"


def service_host(service: pulumi.Input[str], namespace: pulumi.Input[str]) -> pulumi.Output[str]:
    """In-cluster DNS name of a Service, e.g. `redis.team.svc.cluster.local`."""
    return pulumi.Output.all(service, namespace).apply(lambda parts: service_dns_name(*parts))


def service_url(service: pulumi.Input[str], namespace: pulumi.Input[str], port: int) -> pulumi.Output[str]:
    """In-cluster HTTP URL of a Service port, e.g. `http://app.team.svc.cluster.local:8000`."""
    return service_host(service, namespace).apply(lambda host: f"http://{host}:{port}")


def volume_claim_spec(size: str, storage_class: str | None) -> dict[str, Any]:
    """A PersistentVolumeClaim spec for one pod's volume; no StorageClass uses the cluster default."""
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return spec


def gateway_parent_ref(gateway: str, namespace: pulumi.Input[str], section: str | None = None) -> dict[str, Any]:
    """An HTTPRoute's `parentRefs` entry: a Gateway, or one listener of it when SECTION is given."""
    ref: dict[str, Any] = {"group": GATEWAY_API, "kind": "Gateway", "name": gateway, "namespace": namespace}
    if section:
        ref["sectionName"] = section
    return ref


def scrape_endpoint(port: str, path: str | None = None, job: str | None = None) -> dict[str, Any]:
    """A ServiceMonitor/PodMonitor endpoint on named PORT; JOB, when given, replaces the `job` label.

    The manuals alert on `up{job="<job>"}`, which the default job name (the Service's) would not match.
    """
    endpoint: dict[str, Any] = {"port": port, "interval": SCRAPE_INTERVAL}
    if path:
        endpoint["path"] = path
    if job:
        endpoint["relabelings"] = [{"action": "replace", "targetLabel": "job", "replacement": job}]
    return endpoint


class CustomResourceWithStatus(pulumi.CustomResource):
    """A custom resource declared by `custom_resource_with_status`."""

    status: pulumi.Output[Any]
    """The object's `status` as the cluster reports it after `pulumi up`."""


def custom_resource_with_status(
    resource_name: str,
    api_version: str,
    kind: str,
    metadata: Mapping[str, Any],
    spec: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> CustomResourceWithStatus:
    """A custom resource whose `status` is an output after `pulumi up` (`apiextensions.CustomResource` exposes
    only its inputs), e.g. the addresses a controller assigned. Same type token, so the same URN."""
    props = {"apiVersion": api_version, "kind": kind, "metadata": dict(metadata), "spec": dict(spec), "status": None}
    return CustomResourceWithStatus(f"kubernetes:{api_version}:{kind}", resource_name, props, opts)


def disruption_budget(
    resource_name: str,
    name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.policy.v1.PodDisruptionBudget:
    """A PDB letting voluntary disruptions (node drains) take one pod of workload NAME at a time."""
    return k8s.policy.v1.PodDisruptionBudget(
        resource_name,
        metadata=metadata(name, namespace, labels),
        spec={"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(name)}},
        opts=opts,
    )


def service_monitor(
    resource_name: str,
    name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    selector: Mapping[str, str],
    endpoint: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A Prometheus Operator ServiceMonitor scraping ENDPOINT of the Services matching SELECTOR."""
    spec = {"selector": {"matchLabels": dict(selector)}, "endpoints": [dict(endpoint)]}
    return _prometheus_operator_object("ServiceMonitor", resource_name, name, namespace, labels, spec, opts)


def pod_monitor(
    resource_name: str,
    name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    spec: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A Prometheus Operator PodMonitor (pods without a Service of their own: operators' pods, DaemonSets)."""
    return _prometheus_operator_object("PodMonitor", resource_name, name, namespace, labels, spec, opts)


def _prometheus_operator_object(
    kind: str,
    resource_name: str,
    name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    spec: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version="monitoring.coreos.com/v1",
        kind=kind,
        metadata=metadata(name, namespace, labels),
        spec=dict(spec),
        opts=opts,
    )


def cert_manager_object(
    resource_name: str,
    kind: str,
    name: str,
    namespace: pulumi.Input[str] | None,
    spec: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
    labels: Mapping[str, str] | None = None,
) -> k8s.apiextensions.CustomResource:
    """A cert-manager Certificate, or a ClusterIssuer (NAMESPACE None)."""
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version="cert-manager.io/v1",
        kind=kind,
        metadata=metadata(name, namespace, labels),
        spec=dict(spec),
        opts=opts,
    )


def cluster_issuer_ref(name: str) -> dict[str, str]:
    """A Certificate's `issuerRef` to the ClusterIssuer NAME."""
    return {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": name}
