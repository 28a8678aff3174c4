"""Small Kubernetes building blocks shared by the components (labels, hardened pod settings).

Every workload the platform declares takes its security settings from here, so the Pod Security
`restricted` profile is written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi"}

# Writable scratch space every hardened container gets, because the root filesystem is read-only.
TMP_SIZE_LIMIT = "256Mi"


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


def resources(requests: Mapping[str, str], limits: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {"requests": dict(requests), "limits": dict(limits)}


def empty_dir(name: str, size_limit: str) -> dict[str, Any]:
    return {"name": name, "emptyDir": {"sizeLimit": size_limit}}


def http_get(path: str, port: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}}


def checkov_skips(reasons: Mapping[str, str]) -> dict[str, str]:
    """checkov suppressions written on the object itself, each with its reason."""
    return {f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(sorted(reasons.items()), 1)}


DIGEST_SEPARATOR = "@sha256:"


def unpinned_image_finding(*images: pulumi.Input[str]) -> dict[str, str]:
    """checkov's digest check (CKV_K8S_43), accepted with its reason while an image is a plain tag.

    Images resolved to digests at deploy time arrive as Outputs and count as pinned.
    """
    if any(isinstance(image, str) and DIGEST_SEPARATOR not in image for image in images):
        return {"CKV_K8S_43": "tag-pinned image; set ai-platform:pinImages to deploy it by digest"}
    return {}


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
