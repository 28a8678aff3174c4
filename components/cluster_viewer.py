"""ClusterViewer: the only cluster-wide access the platform grants: reading namespaces and nodes.

On-call needs `kubectl get namespaces`, `kubectl get/describe nodes` and `kubectl top nodes` to see
where pods run and why they do not schedule. Everything inside a namespace is granted per namespace
(NamespaceRbac). Rules go through the same checks: no wildcard, no Secret read, no escalating verb.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import kube
from components.namespace_rbac import RBAC_GROUP, READ, Rule, check_rules

VIEWER_RULES: tuple[Rule, ...] = (
    Rule("", ("namespaces", "nodes"), READ),
    Rule("metrics.k8s.io", ("nodes",), ("get", "list")),
)


@dataclass(frozen=True)
class ClusterViewerArgs:
    """Which group may read which cluster-scoped resources."""

    group: str
    """Group bound to the ClusterRole."""
    more_groups: Sequence[str] = ()
    """Further groups bound to it (on-call reads nodes as operators do)."""
    role_name: str = "ai-platform-cluster-viewer"
    """Name of the ClusterRole and its ClusterRoleBinding."""
    rules: Sequence[Rule] = VIEWER_RULES
    """Read-only rules on cluster-scoped resources."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on both objects."""


class ClusterViewer(pulumi.ComponentResource):
    """A read-only ClusterRole on namespaces and nodes, bound to groups."""

    role: k8s.rbac.v1.ClusterRole
    binding: k8s.rbac.v1.ClusterRoleBinding

    def __init__(self, name: str, args: ClusterViewerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:cluster_viewer:ClusterViewer", name, None, opts)
        check_rules(args.rules)
        if any(set(rule.verbs) - set(READ) for rule in args.rules):
            raise ValueError("ClusterViewer grants reading only: use get, list and watch")
        self.role = k8s.rbac.v1.ClusterRole(
            f"{name}-role",
            metadata=kube.metadata(args.role_name, labels=args.labels),
            rules=[rule.policy_rule() for rule in args.rules],
            opts=kube.child_options(self, opts),
        )
        self.binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-binding",
            metadata=kube.metadata(args.role_name, labels=args.labels),
            role_ref={"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": args.role_name},
            subjects=[{"apiGroup": RBAC_GROUP, "kind": "Group", "name": g} for g in (args.group, *args.more_groups)],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role]),  # the role waited for the caller's
        )
        self.register_outputs({"roleName": args.role_name})
