"""NamespaceRbac and ClusterViewer: least-privilege Roles per namespace, read-only cluster access (S4-07, X-16)."""

import pulumi
import pytest

from components.cluster_viewer import ClusterViewer, ClusterViewerArgs
from components.namespace_rbac import (
    DEPLOYER_RULES,
    ONCALL_RULES,
    OPERATOR_RULES,
    NamespaceRbac,
    NamespaceRbacArgs,
    Rule,
    check_rules,
)
from tests.support.runtime import inputs_of


def _grants(rules, group, resource):
    return {verb for rule in rules if rule.api_group == group and resource in rule.resources for verb in rule.verbs}


def test_operators_read_and_change_nothing():
    assert all(set(rule.verbs) <= {"get", "list", "watch"} for rule in OPERATOR_RULES)
    assert _grants(OPERATOR_RULES, "", "pods/log") == {"get", "list", "watch"}
    assert _grants(OPERATOR_RULES, "", "secrets") == set()
    assert _grants(OPERATOR_RULES, "rbac.authorization.k8s.io", "roles") >= {"list"}  # the manual's `get roles`


def test_deployers_release_and_roll_back_but_never_read_secrets():
    assert _grants(DEPLOYER_RULES, "apps", "deployments") >= {"get", "patch", "update"}  # set image, rollout restart
    assert _grants(DEPLOYER_RULES, "apps", "replicasets") == {"get", "list", "watch"}  # rollout undo/history
    assert _grants(DEPLOYER_RULES, "apps", "deployments/scale") >= {"patch"}
    assert _grants(DEPLOYER_RULES, "autoscaling", "horizontalpodautoscalers") >= {"patch"}
    assert _grants(DEPLOYER_RULES, "", "pods") >= {"delete"}
    assert _grants(DEPLOYER_RULES, "", "secrets") == {"create", "update", "patch", "delete"}
    assert _grants(DEPLOYER_RULES, "", "pods/exec") == set()
    for guardrail in [("networking.k8s.io", "networkpolicies"), ("", "resourcequotas"), ("", "limitranges")]:
        assert _grants(DEPLOYER_RULES, *guardrail) == {"get", "list", "watch"}


def test_on_call_execs_forwards_and_restarts_but_never_reads_secrets_or_changes_releases():
    """S4-07, X-16: psql, pg_dump, redis-cli inside the pods, port-forward, rollout restart, without cluster-admin."""
    assert _grants(ONCALL_RULES, "", "pods/exec") == {"get", "create"}  # WebSocket (get) and SPDY (create) clients
    assert _grants(ONCALL_RULES, "", "pods/portforward") == {"get", "create"}
    assert _grants(ONCALL_RULES, "", "pods/log") == {"get", "list", "watch"}
    assert _grants(ONCALL_RULES, "apps", "deployments") == {"get", "list", "watch", "patch"}  # rollout restart
    assert _grants(ONCALL_RULES, "apps", "statefulsets") == {"get", "list", "watch", "patch"}
    assert _grants(ONCALL_RULES, "", "pods") == {"get", "list", "watch", "delete"}
    assert _grants(ONCALL_RULES, "", "secrets") == set()
    assert _grants(ONCALL_RULES, "apps", "deployments/scale") == set(), "scaling is the deployers'"
    assert _grants(ONCALL_RULES, "autoscaling", "horizontalpodautoscalers") == {"get", "list", "watch"}
    assert set(OPERATOR_RULES) <= set(ONCALL_RULES), "on-call sees what operators see"
    # Operators and deployers are unchanged: neither may exec or port-forward.
    for rules in (OPERATOR_RULES, DEPLOYER_RULES):
        assert _grants(rules, "", "pods/exec") == _grants(rules, "", "pods/portforward") == set()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (Rule("", ("*",), ("get",)), "wildcard"),
        (Rule("apps", ("deployments",), ("*",)), "wildcard"),
        (Rule("*", ("pods",), ("get",)), "wildcard"),
        (Rule("", ("secrets",), ("list",)), "reads Secrets"),
        (Rule("rbac.authorization.k8s.io", ("roles",), ("escalate",)), "grants"),
        (Rule("", ("users",), ("impersonate",)), "grants"),
        (Rule("", (), ("get",)), "names no resource"),
    ],
)
def test_refuses_rules_beyond_least_privilege(rule, message):
    with pytest.raises(ValueError, match=message):
        check_rules([rule])


@pulumi.runtime.test
def test_roles_are_bound_to_their_groups(mock_runtime):
    rbac = NamespaceRbac("shop-rbac", NamespaceRbacArgs("shop", "shop-operators", "shop-deployers", "shop-oncall"))

    def check(inputs):
        assert inputs["metadata"] == {
            "name": "ai-platform-deployer",
            "namespace": "shop",
            "labels": {"app.kubernetes.io/managed-by": "pulumi"},
        }
        assert inputs["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "ai-platform-deployer",
        }
        group = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "shop-deployers"}
        assert inputs["subjects"] == [group]

    return inputs_of(mock_runtime, rbac.bindings["deployer"], check)


@pulumi.runtime.test
def test_the_on_call_role_is_bound_to_its_own_group(mock_runtime):
    rbac = NamespaceRbac("shop-rbac", NamespaceRbacArgs("shop", "shop-operators", "shop-deployers", "shop-oncall"))

    def check(inputs):
        assert inputs["roleRef"]["name"] == inputs["metadata"]["name"] == "ai-platform-oncall"
        assert inputs["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "shop-oncall"}]

    return inputs_of(mock_runtime, rbac.bindings["oncall"], check)


@pulumi.runtime.test
def test_role_rules_are_written_in_full(mock_runtime):
    rbac = NamespaceRbac("shop-rbac", NamespaceRbacArgs("shop", "shop-operators", "shop-deployers", "shop-oncall"))

    def check(inputs):
        assert inputs["rules"] == [rule.policy_rule() for rule in OPERATOR_RULES]

    return inputs_of(mock_runtime, rbac.roles["operator"], check)


def test_without_a_deployers_group_there_is_no_deploy_role(mock_runtime):
    """The log stack's namespace: operators and on-call only (nothing there is released by hand)."""
    rbac = NamespaceRbac("logs-rbac", NamespaceRbacArgs("logging", "ops", None, "oncall"))
    assert set(rbac.roles) == set(rbac.bindings) == {"operator", "oncall"}


def test_a_namespace_role_refuses_secret_reads(mock_runtime):
    with pytest.raises(ValueError, match="reads Secrets"):
        NamespaceRbac(
            "leaky",
            NamespaceRbacArgs(
                "shop", "ops", "ci", "oncall", deployer_rules=(Rule("", ("secrets",), ("get", "patch")),)
            ),
        )


@pulumi.runtime.test
def test_cluster_viewer_reads_namespaces_and_nodes_only(mock_runtime):
    viewer = ClusterViewer("viewer", ClusterViewerArgs("shop-operators"))

    def check(inputs):
        assert inputs["metadata"]["name"] == "ai-platform-cluster-viewer"
        resources = {r for rule in inputs["rules"] for r in rule["resources"]}
        verbs = {v for rule in inputs["rules"] for v in rule["verbs"]}
        assert resources == {"namespaces", "nodes"}
        assert verbs <= {"get", "list", "watch"}

    return inputs_of(mock_runtime, viewer.role, check)


def test_cluster_viewer_refuses_writes(mock_runtime):
    with pytest.raises(ValueError, match="reading only"):
        ClusterViewer("viewer", ClusterViewerArgs("ops", rules=(Rule("", ("nodes",), ("get", "patch")),)))
