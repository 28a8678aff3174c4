"""MetricsServer: the Kubernetes metrics API (`metrics.k8s.io`) as the EKS add-on `metrics-server` (X-04).

Every HPA scales on CPU and memory, and `kubectl top` reads the same API; EKS does not install it. The EKS
community add-on runs metrics-server in `kube-system` (two replicas and a PodDisruptionBudget) and is installed
and upgraded through the EKS API, so it needs no chart archive and no Kubernetes object of this program. A
metrics-server installed another way makes the create fail on the conflict (nothing is taken over); an update
takes back what was changed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

import versions

ADDON_NAME = "metrics-server"


@dataclass(frozen=True)
class MetricsServerArgs:
    """The EKS cluster that gets the add-on, and its version."""

    cluster_name: pulumi.Input[str]
    """Name of the EKS cluster."""
    version: str = versions.METRICS_SERVER_EKS_ADDON
    """EKS add-on version (`aws eks describe-addon-versions --addon-name metrics-server`)."""


class MetricsServer(pulumi.ComponentResource):
    """The EKS add-on `metrics-server` on one cluster."""

    addon: aws.eks.Addon

    def __init__(self, name: str, args: MetricsServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:metrics_server:MetricsServer", name, None, opts)
        self.addon = aws.eks.Addon(
            f"{name}-addon",
            cluster_name=args.cluster_name,
            addon_name=ADDON_NAME,
            addon_version=args.version,
            resolve_conflicts_on_create="NONE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"addonName": ADDON_NAME, "version": args.version})
