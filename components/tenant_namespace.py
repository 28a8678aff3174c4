"""TenantNamespace: a namespace that is safe by default.

Pod Security `restricted` (enforce, audit, warn), a ResourceQuota and LimitRange, default-deny
ingress and egress, and the one exception every pod needs: DNS to kube-dns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import kube
from components.network_policies import Pods, baseline_specs


@dataclass(frozen=True)
class Quota:
    """ResourceQuota hard limits for the namespace."""

    requests_cpu: str
    """Sum of CPU requests (`requests.cpu`)."""
    requests_memory: str
    """Sum of memory requests (`requests.memory`)."""
    limits_cpu: str
    """Sum of CPU limits (`limits.cpu`)."""
    limits_memory: str
    """Sum of memory limits (`limits.memory`)."""
    pods: int
    """Number of pods."""
    persistent_volume_claims: int = 10
    """Number of PersistentVolumeClaims."""
    requests_storage: str = "500Gi"
    """Sum of the PersistentVolumeClaims' storage requests."""


@dataclass(frozen=True)
class ContainerDefaults:
    """LimitRange defaults for containers that declare no resources of their own."""

    default_request_cpu: str = "100m"
    """CPU request of a container that sets none."""
    default_request_memory: str = "128Mi"
    """Memory request of a container that sets none."""
    default_limit_cpu: str = "500m"
    """CPU limit of a container that sets none."""
    default_limit_memory: str = "512Mi"
    """Memory limit of a container that sets none."""


@dataclass(frozen=True)
class TenantNamespaceArgs:
    """A namespace, its budget and its network baseline."""

    quota: Quota | None
    """Hard limits on what the namespace may request; None for a node agent's namespace, whose pod count follows
    the number of nodes."""
    container_defaults: ContainerDefaults = field(default_factory=ContainerDefaults)
    """Defaults applied by the LimitRange."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra namespace labels (e.g. `app.kubernetes.io/part-of`)."""
    dns_namespace: str = "kube-system"
    """Namespace of the cluster DNS pods."""
    dns_pod_labels: Mapping[str, str] = field(default_factory=lambda: {"k8s-app": "kube-dns"})
    """Labels of the cluster DNS pods that every pod may query on port 53."""
    pod_security: str = "restricted"
    """Pod Security level enforced: `privileged` only for a namespace whose one workload needs the host; audit
    and warn stay `restricted`, so every relaxation shows."""
    protect: bool = False
    """Protect the Namespace from deletion and keep it when it leaves the program: deleting a namespace
    deletes everything in it, volumes included."""


class TenantNamespace(pulumi.ComponentResource):
    """Namespace with Pod Security labels, quota, limits, default-deny and DNS egress."""

    name: str
    """The namespace name (as given: manuals run commands against it)."""
    namespace: k8s.core.v1.Namespace

    def __init__(self, name: str, args: TenantNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:tenant_namespace:TenantNamespace", name, None, opts)
        self.name = name
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=kube.metadata(
                name, labels={**args.labels, **kube.namespace_labels(name, enforce=args.pod_security)}
            ),
            opts=pulumi.ResourceOptions.merge(
                kube.child_options(self, opts),
                pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect),
            ),
        )
        # Everything else lives inside the namespace, so it waits for it.
        inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])  # implies the caller's depends_on
        if args.quota is not None:
            self._quota(name, args.quota, inside)
        self._limit_range(name, args.container_defaults, inside)
        self._baseline(name, args, inside)
        self.register_outputs({"name": name})

    def _quota(self, name: str, quota: Quota, opts: pulumi.ResourceOptions) -> None:
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=kube.metadata("compute-quota", name),
            spec={
                "hard": {
                    "requests.cpu": quota.requests_cpu,
                    "requests.memory": quota.requests_memory,
                    "limits.cpu": quota.limits_cpu,
                    "limits.memory": quota.limits_memory,
                    "pods": str(quota.pods),
                    "persistentvolumeclaims": str(quota.persistent_volume_claims),
                    "requests.storage": quota.requests_storage,
                }
            },
            opts=opts,
        )

    def _limit_range(self, name: str, defaults: ContainerDefaults, opts: pulumi.ResourceOptions) -> None:
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=kube.metadata("container-defaults", name),
            spec={
                "limits": [
                    {
                        "type": "Container",
                        "defaultRequest": {
                            "cpu": defaults.default_request_cpu,
                            "memory": defaults.default_request_memory,
                        },
                        "default": {"cpu": defaults.default_limit_cpu, "memory": defaults.default_limit_memory},
                    }
                ]
            },
            opts=opts,
        )

    def _baseline(self, name: str, args: TenantNamespaceArgs, opts: pulumi.ResourceOptions) -> None:
        dns = Pods("kube-dns", args.dns_namespace, args.dns_pod_labels)
        for policy, spec in baseline_specs(dns).items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{_BASELINE_RESOURCE_ROLES[policy]}",
                metadata=kube.metadata(policy, name),
                spec=spec,
                opts=opts,
            )


# Pulumi names (as deployed) of the baseline policies.
_BASELINE_RESOURCE_ROLES = {
    "default-deny-ingress": "default-deny-ingress",
    "default-deny-egress": "default-deny-egress",
    "allow-dns-egress": "allow-dns",
}
