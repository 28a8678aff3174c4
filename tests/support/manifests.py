"""A render's files and manifests: reading them, telling built-in kinds from custom resources, finding pod specs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

KUBERNETES_VERSIONS = ("1.32", "1.33")
"""The Kubernetes versions every manifest is validated for (EKS's supported releases the add-ons support)."""


def rendered_documents(root: Path) -> dict[str, dict[str, Any]]:
    """Every manifest of a render, by its path under `manifests/` (`<namespace or _cluster>/<Kind>-<name>.yaml`)."""
    folder = root / "manifests"
    return {str(path.relative_to(folder)): load(path) for path in sorted(folder.rglob("*.yaml"))}


def render_files(root: Path) -> dict[str, bytes]:
    """Every file of a render, by its path in the render's folder: two renders are the same when these are."""
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def load(path: Path) -> Any:
    """One YAML file, as yaml.safe_load reads it, through libyaml (many times faster over a render)."""
    return yaml.load(path.read_text(), Loader=yaml.CSafeLoader)


BUILTIN_API_GROUPS = {
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apps",
    "autoscaling",
    "batch",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
}


def is_builtin(doc: dict) -> bool:
    """A Kubernetes built-in kind (validated by kubernetes-validate), not a custom resource."""
    return doc["apiVersion"].rpartition("/")[0] in BUILTIN_API_GROUPS


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Pod or of a workload's pod template (a CronJob's through its job template)."""
    if doc["kind"] == "Pod":
        return doc["spec"]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every container of a pod spec: init, regular and ephemeral."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []
