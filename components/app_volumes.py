"""Where an app's pods may write: their root filesystem is read-only (Pod Security `restricted` plus
`readOnlyRootFilesystem`), so every writable path is a volume (used by AppDeployment).

- `/tmp`: a small emptyDir, unless a scratch volume takes its place;
- `WritableDir`: an emptyDir on the node's disk, counted against the pod's ephemeral storage;
- `ScratchVolume`: a volume of its own per pod on a cloud disk (a generic ephemeral volume: its claim is created
  with the pod and deleted with it), for scratch space a node's root disk cannot hold (S2-02);
- `ClaimMount`: an existing PersistentVolumeClaim, e.g. one that every pod of the app shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components import kube, quantity

TMP = "/tmp"


@dataclass(frozen=True)
class WritableDir:
    """An emptyDir mounted where the app writes; gone when the pod goes."""

    path: str
    """Mount path."""
    size_limit: str
    """emptyDir `sizeLimit` (a quantity, e.g. `1Gi`); counts against the ephemeral-storage limit."""
    logs: bool = False
    """The app writes log files (`*.log`) here; the log follower (`AppDeploymentArgs.log_follower`) ships them."""


@dataclass(frozen=True)
class ScratchVolume:
    """A volume per pod, created with it and deleted with it, on the StorageClass's disks (not the node's)."""

    path: str
    """Mount path (`/tmp` replaces the default /tmp emptyDir)."""
    size: str
    """Size of each pod's volume (a quantity, e.g. `50Gi`)."""
    storage_class: str | None = None
    """StorageClass of the volumes; None uses the cluster default."""
    name: str = "scratch"
    """Volume name; each pod's claim is `<pod>-<name>`."""


@dataclass(frozen=True)
class ClaimMount:
    """An existing PersistentVolumeClaim mounted read-write."""

    path: str
    """Mount path."""
    claim: str
    """Name of the claim (in the app's namespace)."""


def pod_volumes(
    writable_dirs: Sequence[WritableDir], scratch: ScratchVolume | None, claims: Sequence[ClaimMount]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The pod's `volumes` and the container's `volumeMounts` for these writable paths (and /tmp)."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    if scratch is None or scratch.path != TMP:
        volumes.append(kube.empty_dir("tmp", kube.TMP_SIZE_LIMIT))
        mounts.append({"name": "tmp", "mountPath": TMP})
    for i, writable in enumerate(writable_dirs):
        volumes.append(kube.empty_dir(f"writable-{i}", writable.size_limit))
        mounts.append({"name": f"writable-{i}", "mountPath": writable.path})
    if scratch is not None:
        claim = {"spec": kube.volume_claim_spec(scratch.size, scratch.storage_class)}
        volumes.append({"name": scratch.name, "ephemeral": {"volumeClaimTemplate": claim}})
        mounts.append({"name": scratch.name, "mountPath": scratch.path})
    for i, mount in enumerate(claims):
        volumes.append({"name": f"claim-{i}", "persistentVolumeClaim": {"claimName": mount.claim}})
        mounts.append({"name": f"claim-{i}", "mountPath": mount.path})
    return volumes, mounts


def check_volumes(
    limits: Mapping[str, str],
    writable_dirs: Sequence[WritableDir],
    scratch: ScratchVolume | None,
    claims: Sequence[ClaimMount],
) -> None:
    """Raise ValueError unless every path is mounted once and the emptyDirs fit the ephemeral-storage limit."""
    tmp_on_node = scratch is None or scratch.path != TMP
    paths = [*([TMP] if tmp_on_node else []), *(d.path for d in writable_dirs)]
    paths += [*([scratch.path] if scratch else []), *(mount.path for mount in claims)]
    if duplicate := sorted({path for path in paths if paths.count(path) > 1}):
        raise ValueError(f"paths mounted twice: {', '.join(duplicate)}")
    on_node = [*([kube.TMP_SIZE_LIMIT] if tmp_on_node else []), *(d.size_limit for d in writable_dirs)]
    limit = limits.get("ephemeral-storage")
    if limit and sum(quantity.parse(q) for q in on_node) > quantity.parse(limit):
        # The kubelet evicts a pod over its limit before any one emptyDir reaches its own sizeLimit.
        raise ValueError(
            f"the writable dirs and /tmp ({', '.join(on_node)}) exceed the ephemeral-storage limit {limit}"
        )
