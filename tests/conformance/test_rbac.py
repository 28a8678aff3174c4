"""Rendered RBAC: least privilege per namespace, nothing cluster-wide but reading namespaces and nodes (S4-07, X-16),
and ConfigMaps for Grafana's sidecars.

kubernetes-validate --strict already checks every Role and binding (test_kubernetes_schemas); this checks
what they grant.
"""

from __future__ import annotations

import pytest

from services import CATALOG
from tests.support.manifests import rendered_documents
from tests.support.runtime import STACKS

RBAC = "rbac.authorization.k8s.io"
READ = {"get", "list", "watch"}
GROUPS = {"ai-platform-operators", "ai-platform-deployers", "ai-platform-oncall"}  # ai-platform:rbac defaults


def rbac_objects(root) -> list[dict]:
    return [doc for doc in rendered_documents(root).values() if doc["apiVersion"].startswith(f"{RBAC}/")]


def of_kind(docs, kind):
    return [doc for doc in docs if doc["kind"] == kind]


@pytest.mark.parametrize("stack", STACKS)
def test_no_role_uses_a_wildcard_reads_secrets_or_escalates(rendered, stack):
    roles = of_kind(rbac_objects(rendered[stack]), "Role") + of_kind(rbac_objects(rendered[stack]), "ClusterRole")
    assert roles
    for role in roles:
        for rule in role["rules"]:
            assert not any("*" in value for key in ("apiGroups", "resources", "verbs") for value in rule[key]), rule
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"]), rule
            if "" in rule["apiGroups"] and "secrets" in rule["resources"]:
                assert not READ & set(rule["verbs"]), f"{role['metadata']['name']} reads Secrets"


@pytest.mark.parametrize("stack", STACKS)
def test_every_service_namespace_has_an_operator_and_a_deployer_role_bound_to_groups(rendered, stack):
    docs = rbac_objects(rendered[stack])
    namespaces = {namespace for spec in CATALOG.values() for namespace in spec.namespaces}
    bindings = {(b["metadata"]["namespace"], b["roleRef"]["name"]): b for b in of_kind(docs, "RoleBinding")}
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in of_kind(docs, "Role")}
    for namespace in namespaces:
        for role in ("ai-platform-operator", "ai-platform-deployer", "ai-platform-oncall"):
            assert (namespace, role) in roles
            binding = bindings[(namespace, role)]
            assert binding["roleRef"]["kind"] == "Role"
            assert [s["kind"] for s in binding["subjects"]] == ["Group"]
            assert {s["name"] for s in binding["subjects"]} <= GROUPS
    # App ServiceAccounts get no API access: the only ServiceAccounts bound are the point-in-time drills', each
    # to its own Role (tests/unit/test_pitr_drill.py checks what that Role allows), and the log shipper's, which
    # reads pods and namespaces (below).
    for binding in of_kind(docs, "RoleBinding") + of_kind(docs, "ClusterRoleBinding"):
        accounts = [s["name"] for s in binding["subjects"] if s["kind"] == "ServiceAccount"]
        if binding["metadata"]["name"] == SHIPPER_ROLE:
            assert binding["subjects"] == [SHIPPER_ACCOUNT]
        elif accounts:
            assert binding["kind"] == "RoleBinding" and binding["roleRef"]["kind"] == "Role"
            assert accounts == [binding["metadata"]["name"]] == [binding["roleRef"]["name"]]
            assert binding["metadata"]["name"].endswith("-pitr-drill"), binding["metadata"]["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_log_stack_namespace_has_the_operator_and_on_call_roles_only(rendered, stack):
    """S4-07, X-16: on-call runs the manuals' Elasticsearch calls inside its pods (exec), operators read; no deploy
    Role in `logging`, where a Job could mount the `elastic` superuser's Secret."""
    docs = rbac_objects(rendered[stack])
    roles = {r["metadata"]["name"]: r for r in of_kind(docs, "Role") if r["metadata"]["namespace"] == "logging"}
    bindings = {
        b["roleRef"]["name"]: b for b in of_kind(docs, "RoleBinding") if b["metadata"]["namespace"] == "logging"
    }
    assert set(roles) == set(bindings) == {"ai-platform-operator", "ai-platform-oncall"}
    assert [s["name"] for s in bindings["ai-platform-oncall"]["subjects"]] == ["ai-platform-oncall"]
    assert [s["name"] for s in bindings["ai-platform-operator"]["subjects"]] == ["ai-platform-operators"]
    grants = {
        (g, r, v)
        for rule in roles["ai-platform-oncall"]["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }
    assert {("", "pods/exec", "create"), ("", "pods/exec", "get"), ("", "pods", "get")} <= grants
    # Into the Elasticsearch pods only: the snapshot jobs' pods mount a user that may manage repositories.
    nodes = 3 if stack == "prod" else 1
    entering = [rule for rule in roles["ai-platform-oncall"]["rules"] if "pods/exec" in rule["resources"]]
    assert [rule["resourceNames"] for rule in entering] == [[f"elasticsearch-es-default-{n}" for n in range(nodes)]]
    assert not any(resource == "secrets" for _, resource, _ in grants)
    assert not any(
        r.endswith(("exec", "portforward"))
        for rule in roles["ai-platform-operator"]["rules"]
        for r in rule["resources"]
    )


SHIPPER_ROLE = "ai-platform-fluent-bit"
SHIPPER_ACCOUNT = {"kind": "ServiceAccount", "name": "fluent-bit", "namespace": "log-shipping"}


@pytest.mark.parametrize("stack", STACKS)
def test_the_only_cluster_wide_grants_read_namespaces_nodes_and_pods(rendered, stack):
    """Operators read namespaces and nodes; the log shipper reads pods and namespaces (their labels become log
    fields, S2-04). Nothing cluster-wide writes."""
    docs = rbac_objects(rendered[stack])
    roles = {role["metadata"]["name"]: role for role in of_kind(docs, "ClusterRole")}
    # Grafana's dashboard and datasource sidecars (bound by the chart: tests/conformance/test_charts.py).
    sidecars = roles.pop("kube-prometheus-stack-grafana-sidecar")
    assert sidecars["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    bindings = {binding["roleRef"]["name"]: binding for binding in of_kind(docs, "ClusterRoleBinding")}
    assert set(roles) == set(bindings) == {"ai-platform-cluster-viewer", SHIPPER_ROLE}
    viewers = [{"apiGroup": RBAC, "kind": "Group", "name": g} for g in ("ai-platform-operators", "ai-platform-oncall")]
    expected = {
        "ai-platform-cluster-viewer": (viewers, {"namespaces", "nodes"}),
        SHIPPER_ROLE: ([SHIPPER_ACCOUNT], {"namespaces", "pods"}),
    }
    for name, (subjects, resources) in expected.items():
        assert bindings[name]["roleRef"] == {"apiGroup": RBAC, "kind": "ClusterRole", "name": name}
        assert bindings[name]["subjects"] == subjects
        assert {r for rule in roles[name]["rules"] for r in rule["resources"]} == resources
        assert all(set(rule["verbs"]) <= READ for rule in roles[name]["rules"])
