"""NamespaceRbac: least-privilege access to one namespace for the people who run it and the CI that deploys.

Three Roles (two where nobody deploys by hand: no deployers' group), each bound to a group of the cluster's
authenticator (on EKS: the Kubernetes group an access entry or `aws-auth` maps an IAM role to):

- `<prefix>-operator` (read-only): what on-call needs to look: workloads, pods and their logs, events,
  `kubectl top`, HPAs, NetworkPolicies, Roles, the operators' custom resources. Never Secrets.
- `<prefix>-deployer`: what a release and the manuals' delivery commands change: `kubectl set image`,
  `set env`, `set resources`, `scale`, `rollout restart` / `undo` (which read ReplicaSets and
  ControllerRevisions), `patch hpa`, deleting a pod to restart it, and every namespaced object the
  program declares for a service. Secrets are write-only (create, update, patch, delete): a deployer
  can replace a credential but not read one back. Guardrails stay read-only: ResourceQuota, LimitRange,
  NetworkPolicy, Roles and RoleBindings are changed by the cluster's admin identity only.
- `<prefix>-oncall`: what the operator reads, plus what an incident needs (S4-07, X-16): `kubectl exec` (the
  manuals' `psql`, `pg_dump` and `redis-cli` inside the database and cache pods, which read their credentials
  there, so nobody copies a secret), `port-forward`, `rollout restart` of a Deployment or StatefulSet and
  deleting a pod. No Secret through the API; what a pod can read, an exec into it can read too.

No rule uses a wildcard, and no Role may read Secrets or grant `escalate`, `bind` or `impersonate`:
the component refuses such rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import pulumi
import pulumi_kubernetes as k8s

from components import kube

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete")
RBAC_GROUP = "rbac.authorization.k8s.io"
# Verbs that let a subject grant itself more than it has, or act as someone else.
ESCALATING_VERBS = frozenset({"escalate", "bind", "impersonate"})
SECRET_READ_VERBS = frozenset(READ)


@dataclass(frozen=True)
class Rule:
    """One PolicyRule: VERBS on RESOURCES of API group API_GROUP (`""` is the core group)."""

    api_group: str
    """API group of the resources; `""` is the core group."""
    resources: tuple[str, ...]
    """Resource names (subresources as `pods/log`); never a wildcard."""
    verbs: tuple[str, ...]
    """Verbs allowed on them; never a wildcard."""
    names: tuple[str, ...] = ()
    """Only these objects (`resourceNames`; for a subresource, the parent's name); empty: every object."""

    def policy_rule(self) -> dict[str, list[str]]:
        rule = {"apiGroups": [self.api_group], "resources": list(self.resources), "verbs": list(self.verbs)}
        return rule | ({"resourceNames": list(self.names)} if self.names else {})


# Custom resources of the operators this platform runs, per API group.
CUSTOM_RESOURCES = {
    "monitoring.coreos.com": ("servicemonitors", "podmonitors", "prometheusrules"),
    "postgresql.cnpg.io": ("clusters", "backups", "scheduledbackups", "poolers"),
    "barmancloud.cnpg.io": ("objectstores",),
    "gateway.networking.k8s.io": ("httproutes", "referencegrants"),
    "cert-manager.io": ("certificates",),
}
GUARDRAILS = (
    Rule("", ("resourcequotas", "limitranges"), READ),
    Rule("networking.k8s.io", ("networkpolicies",), READ),
    Rule(RBAC_GROUP, ("roles", "rolebindings"), READ),
)

OPERATOR_RULES: tuple[Rule, ...] = (
    Rule("", ("pods", "pods/log", "services", "endpoints", "configmaps", "events"), READ),
    Rule("", ("persistentvolumeclaims", "serviceaccounts"), READ),
    Rule("apps", ("deployments", "replicasets", "statefulsets", "controllerrevisions"), READ),
    Rule("batch", ("jobs", "cronjobs"), READ),
    Rule("autoscaling", ("horizontalpodautoscalers",), READ),
    Rule("policy", ("poddisruptionbudgets",), READ),
    Rule("discovery.k8s.io", ("endpointslices",), READ),
    Rule("metrics.k8s.io", ("pods",), ("get", "list")),
    *GUARDRAILS,
    *(Rule(group, resources, READ) for group, resources in CUSTOM_RESOURCES.items()),
)
"""Read-only: on-call looks, changes nothing."""

DEPLOYER_RULES: tuple[Rule, ...] = (
    Rule("apps", ("deployments", "statefulsets"), READ + WRITE),
    Rule("apps", ("deployments/scale", "statefulsets/scale"), ("get", "update", "patch")),
    # `kubectl rollout undo/history` read the revisions they roll back to.
    Rule("apps", ("replicasets", "controllerrevisions"), READ),
    Rule("", ("pods",), (*READ, "delete")),
    Rule("", ("pods/log", "endpoints", "events"), READ),
    Rule("", ("services", "configmaps", "serviceaccounts", "persistentvolumeclaims"), READ + WRITE),
    Rule("", ("secrets",), WRITE),
    Rule("batch", ("jobs", "cronjobs"), READ + WRITE),
    Rule("autoscaling", ("horizontalpodautoscalers",), READ + WRITE),
    Rule("policy", ("poddisruptionbudgets",), READ + WRITE),
    Rule("metrics.k8s.io", ("pods",), ("get", "list")),
    *GUARDRAILS,
    *(Rule(group, resources, READ + WRITE) for group, resources in CUSTOM_RESOURCES.items()),
)
"""Releases and the manuals' delivery commands; Secrets write-only, guardrails read-only."""

ONCALL_RULES: tuple[Rule, ...] = (
    *OPERATOR_RULES,
    # SPDY clients open exec and port-forward with a POST (`create`); WebSocket clients (kubectl 1.30+) with a GET,
    # which API servers before 1.35 (AuthorizePodWebsocketUpgradeCreatePermission) authorize as `get`.
    Rule("", ("pods/exec", "pods/portforward"), ("get", "create")),
    # `kubectl rollout restart` patches the pod template's restartedAt annotation; deleting a pod restarts it.
    Rule("apps", ("deployments", "statefulsets"), ("patch",)),
    Rule("", ("pods",), ("delete",)),
)
"""Incidents: the operator's reads, exec and port-forward into pods, restarts."""


def oncall_rules_entering_only(pods: Sequence[str]) -> tuple[Rule, ...]:
    """ONCALL_RULES with exec and port-forward into PODS alone: for a namespace where other pods hold credentials
    stronger than the ones on-call is meant to use."""
    return tuple(replace(rule, names=tuple(pods)) if "pods/exec" in rule.resources else rule for rule in ONCALL_RULES)


@dataclass(frozen=True)
class NamespaceRbacArgs:
    """Who may read and who may deploy in one namespace."""

    namespace: pulumi.Input[str]
    """Namespace of the Roles and RoleBindings."""
    operators_group: str
    """Group bound to the read-only Role."""
    deployers_group: str | None
    """Group bound to the deploy Role; None: no deploy Role (a namespace nobody releases into by hand)."""
    oncall_group: str
    """Group bound to the on-call Role."""
    name_prefix: str = "ai-platform"
    """Roles and RoleBindings are `<prefix>-operator`, `<prefix>-deployer` and `<prefix>-oncall`."""
    operator_rules: Sequence[Rule] = OPERATOR_RULES
    """Rules of the read-only Role."""
    deployer_rules: Sequence[Rule] = DEPLOYER_RULES
    """Rules of the deploy Role."""
    oncall_rules: Sequence[Rule] = ONCALL_RULES
    """Rules of the on-call Role."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on every object (e.g. `app.kubernetes.io/part-of`)."""


class NamespaceRbac(pulumi.ComponentResource):
    """A read-only, a deploy and an on-call Role in one namespace, each bound to a group."""

    operator_role_name: str
    """Name of the read-only Role and its RoleBinding."""
    deployer_role_name: str
    """Name of the deploy Role and its RoleBinding."""
    oncall_role_name: str
    """Name of the on-call Role and its RoleBinding."""
    roles: dict[str, k8s.rbac.v1.Role]
    """Role per purpose (`operator`, `deployer` unless it has no group, `oncall`)."""
    bindings: dict[str, k8s.rbac.v1.RoleBinding]
    """RoleBinding per purpose."""

    def __init__(self, name: str, args: NamespaceRbacArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:namespace_rbac:NamespaceRbac", name, None, opts)
        child = kube.child_options(self, opts)
        self.operator_role_name = f"{args.name_prefix}-operator"
        self.deployer_role_name = f"{args.name_prefix}-deployer"
        self.oncall_role_name = f"{args.name_prefix}-oncall"
        wanted = {
            "operator": (self.operator_role_name, args.operator_rules, args.operators_group),
            "deployer": (self.deployer_role_name, args.deployer_rules, args.deployers_group),
            "oncall": (self.oncall_role_name, args.oncall_rules, args.oncall_group),
        }
        self.roles, self.bindings = {}, {}
        for purpose, (role_name, rules, group) in wanted.items():
            if group is None:
                continue
            check_rules(rules)
            self.roles[purpose] = k8s.rbac.v1.Role(
                f"{name}-{purpose}-role",
                metadata=kube.metadata(role_name, args.namespace, args.labels),
                rules=[rule.policy_rule() for rule in rules],
                opts=child,
            )
            self.bindings[purpose] = k8s.rbac.v1.RoleBinding(
                f"{name}-{purpose}-binding",
                metadata=kube.metadata(role_name, args.namespace, args.labels),
                role_ref={"apiGroup": RBAC_GROUP, "kind": "Role", "name": role_name},
                subjects=[{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group}],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.roles[purpose]]),
            )
        self.register_outputs({f"{purpose}Role": wanted[purpose][0] for purpose in self.roles})


def check_rules(rules: Sequence[Rule]) -> None:
    """Refuse wildcards, Secret reads and escalating verbs (least privilege, X-16)."""
    for rule in rules:
        fields = (rule.api_group, *rule.resources, *rule.verbs)
        if any("*" in value for value in fields):
            raise ValueError(f"rule {rule} uses a wildcard: name every resource and verb")
        if not rule.resources or not rule.verbs:
            raise ValueError(f"rule {rule} names no resource or no verb")
        if ESCALATING_VERBS & set(rule.verbs):
            raise ValueError(f"rule {rule} grants {sorted(ESCALATING_VERBS & set(rule.verbs))}")
        if rule.api_group == "" and "secrets" in rule.resources and SECRET_READ_VERBS & set(rule.verbs):
            raise ValueError(f"rule {rule} reads Secrets: give Secrets write-only verbs, or none")
