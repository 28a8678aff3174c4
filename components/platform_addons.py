"""PlatformAddons: the operators the platform's custom resources need, installed by Helm first.

Each add-on is a pinned chart in its own namespace; add-ons may wait for others (the Barman Cloud
plugin needs cert-manager, for instance). Callers make their custom resources depend on
`releases[...]` so nothing is applied before its CRDs exist.

Every namespace created here denies all traffic by default and allows exactly the given flows (the
same flow list can be handed to every namespace's policies; each writes its own side). A release is
installed once its namespace's policies exist, so its hooks and pods start isolated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import kube
from components.network_policies import Flow, NetworkPolicies, NetworkPoliciesArgs


@dataclass(frozen=True)
class HelmAddon:
    """One operator chart."""

    name: str
    """Release name."""
    chart: str
    """Chart name, or an `oci://` reference."""
    version: str
    """Pinned chart version."""
    namespace: str
    """Namespace of the release; created here, shared by add-ons that name the same one."""
    repository: str | None = None
    """Chart repository URL (None for OCI charts)."""
    values: Mapping[str, Any] = field(default_factory=dict)
    """Helm values of the release."""
    after: tuple[str, ...] = ()
    """Names of add-ons that must be installed first (ignored when left out: the cluster runs them)."""
    pod_security: str = "restricted"
    """Pod Security level of the add-on's namespace (some operators need `baseline` or `privileged`)."""


@dataclass(frozen=True)
class PlatformAddonsArgs:
    """The add-ons to install (the caller leaves out those the cluster team already runs)."""

    addons: Sequence[HelmAddon]
    """The charts, installed after the add-ons each one names in `after`."""
    timeout_seconds: int = 900
    """How long Helm waits for each release to become ready."""
    flows: Sequence[Flow] = ()
    """Connections the add-ons' pods may open or accept (each namespace writes its side; default deny)."""


class PlatformAddons(pulumi.ComponentResource):
    """Namespaces and Helm releases of the platform's operators, in dependency order."""

    releases: dict[str, k8s.helm.v3.Release]
    """Release per add-on name: depend on it before creating the add-on's custom resources."""
    namespaces: dict[str, k8s.core.v1.Namespace]
    """Namespace per name."""

    def __init__(self, name: str, args: PlatformAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:platform_addons:PlatformAddons", name, None, opts)
        child = kube.child_options(self, opts)
        self.namespaces = self._namespaces(name, args.addons, child)
        isolation = {
            namespace: NetworkPolicies(
                f"{name}-{namespace}-isolation",
                NetworkPoliciesArgs(namespace, args.flows, resource.metadata.name, deny_by_default=True),
                child,
            )
            for namespace, resource in self.namespaces.items()
        }
        self.releases = {}
        for addon in _in_dependency_order(args.addons):
            self.releases[addon.name] = k8s.helm.v3.Release(
                f"{name}-{addon.name}",
                name=addon.name,
                chart=addon.chart,
                version=addon.version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=addon.repository) if addon.repository else None,
                namespace=self.namespaces[addon.namespace].metadata.name,
                values=dict(addon.values),
                atomic=True,
                cleanup_on_fail=True,
                timeout=args.timeout_seconds,
                opts=pulumi.ResourceOptions.merge(
                    child,
                    pulumi.ResourceOptions(
                        depends_on=[
                            isolation[addon.namespace],
                            *(self.releases[o] for o in addon.after if o in self.releases),
                        ]
                    ),
                ),
            )
        self.register_outputs({"releases": sorted(self.releases)})

    def _namespaces(
        self, name: str, addons: Sequence[HelmAddon], opts: pulumi.ResourceOptions
    ) -> dict[str, k8s.core.v1.Namespace]:
        levels: dict[str, str] = {}
        for addon in addons:
            # The least restrictive level any add-on in a shared namespace needs wins.
            current = levels.get(addon.namespace, "restricted")
            levels[addon.namespace] = max(current, addon.pod_security, key=_LEVELS.index)
        return {
            namespace: k8s.core.v1.Namespace(
                f"{name}-{namespace}",
                metadata=kube.metadata(namespace, labels=kube.namespace_labels(namespace, enforce=level)),
                opts=opts,
            )
            for namespace, level in levels.items()
        }


_LEVELS = ["restricted", "baseline", "privileged"]


def _in_dependency_order(addons: Sequence[HelmAddon]) -> list[HelmAddon]:
    by_name = {addon.name: addon for addon in addons}
    ordered: list[HelmAddon] = []
    visiting: set[str] = set()

    def visit(addon: HelmAddon) -> None:
        if addon in ordered:
            return
        if addon.name in visiting:
            raise ValueError(f"add-on {addon.name!r} depends on itself through {sorted(visiting)}")
        visiting.add(addon.name)
        for other in addon.after:
            if other in by_name:
                visit(by_name[other])
        visiting.discard(addon.name)
        ordered.append(addon)

    for addon in addons:
        visit(addon)
    return ordered
