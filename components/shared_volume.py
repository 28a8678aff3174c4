"""SharedVolume: one persistent volume that every pod of an app mounts, whatever node it runs on.

A `ReadWriteMany` PersistentVolumeClaim (on EKS an EFS StorageClass), for what an app keeps beyond the life of
its pods, e.g. Agent Skeptic Bench's results (manual 001: 50-200 GB). It holds data: protect it where data is
protected, and it stays in the cluster when it leaves the program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import kube


@dataclass(frozen=True)
class SharedVolumeArgs:
    """The claim's namespace, name, size and class."""

    namespace: pulumi.Input[str]
    """Namespace of the claim (the app's)."""
    claim_name: str
    """Name of the PersistentVolumeClaim the pods mount."""
    size: str
    """Requested size (a quantity, e.g. `200Gi`)."""
    storage_class: str
    """A StorageClass that provisions ReadWriteMany volumes (e.g. EFS's `efs-sc`)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on the claim."""
    protect: bool = False
    """Refuse to delete the claim (and so its data), and keep it in the cluster when it leaves the program."""


class SharedVolume(pulumi.ComponentResource):
    """A ReadWriteMany PersistentVolumeClaim."""

    claim_name: str
    claim: k8s.core.v1.PersistentVolumeClaim

    def __init__(self, name: str, args: SharedVolumeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:shared_volume:SharedVolume", name, None, opts)
        self.claim_name = args.claim_name
        spec = kube.volume_claim_spec(args.size, args.storage_class)
        self.claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-claim",
            metadata=kube.metadata(args.claim_name, args.namespace, args.labels),
            spec={**spec, "accessModes": ["ReadWriteMany"]},
            opts=pulumi.ResourceOptions.merge(
                kube.child_options(self, opts),
                pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect),
            ),
        )
        self.register_outputs({"claimName": args.claim_name})
