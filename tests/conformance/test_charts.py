"""The upstream charts in the verification ladder (X-07, X-10, X-16).

Every Helm release of both stacks is templated from its pinned chart with exactly the values the program
passes (read from the render), and its objects go through the program's own checks: kubernetes-validate
--strict, custom resources against the CRDs, checkov (the shared run per stack, tests/conftest.py), the Pod
Security level of their namespace, default-deny isolation; the connectivity analysis uses the charts' real
pods (test_network_isolation.py). The charts come from AI_PLATFORM_CHART_DIR or `helm pull`.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
import yaml

import versions
from tests.support.crd_schemas import validate_custom_resource
from tests.support.manifests import KUBERNETES_VERSIONS, is_builtin, pod_spec, rendered_documents
from tests.support.pod_security import WORKLOADS, enforced_levels, violations
from tests.support.runtime import ROOT, STACKS
from tests.support.validators import CHECKOV_CHARTS, checkov_failures
from tools import charts as tools_charts

PINS = {
    "kube-prometheus-stack": versions.KUBE_PROMETHEUS_STACK,
    "cert-manager": versions.CERT_MANAGER,
    "cloudnative-pg": versions.CLOUDNATIVE_PG,
    "plugin-barman-cloud": versions.PLUGIN_BARMAN_CLOUD,
    "envoy-gateway": versions.GATEWAY_HELM,
    "eck-operator": versions.ECK_OPERATOR,
}
"""Release -> the chart it installs."""


@pytest.mark.parametrize("stack", STACKS)
def test_every_release_templates_from_its_pinned_chart(charts, stack):
    """What is tested is what is deployed: each release's chart and version are the pins of versions.py."""
    found = charts[stack]
    assert {name: release.pin for name, release in found.releases.items()} == PINS
    assert all(found.objects[name] for name in PINS)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("stack", STACKS)
def test_chart_objects_validate_strictly(charts, stack, version):
    checked, failures = 0, []
    for release, doc in charts[stack].all():
        if is_builtin(doc):
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                failures.append(f"{release} {tools_charts.object_key(doc)}: {error.message} at {list(error.path)}")
            checked += 1
    assert checked > 150
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("stack", STACKS)
def test_chart_custom_resources_match_their_crds(charts, crd_schemas, stack):
    kinds, failures = set(), []
    for release, doc in charts[stack].all():
        if not is_builtin(doc):
            kinds.add(doc["kind"])
            failures += [f"{release}: {e}" for e in validate_custom_resource(doc, crd_schemas[stack])]
    assert not failures, "\n".join(failures)
    assert {"Prometheus", "Alertmanager", "ServiceMonitor", "PodMonitor", "PrometheusRule", "Certificate"} <= kinds


def _accepted() -> set[tuple[str, str]]:
    return {(entry["check"], name) for entry in tools_charts.accepted_findings() for name in entry["objects"]}


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_finds_nothing_in_chart_objects_but_the_reasoned_list(charts, checkov_reports, stack):
    """Hardened through values; what no value can fix is in chart_findings.yaml, which holds nothing else."""
    assert charts[stack]  # the shared checkov run covered the chart objects
    failed = checkov_failures(checkov_reports[stack], CHECKOV_CHARTS)
    found = {(f["check_id"], f"{f['file_path'].split('/')[2]}/{f['resource']}") for f in failed}
    assert not found - _accepted(), "fix through values, or accept with a reason:\n" + "\n".join(
        map(str, sorted(found - _accepted()))
    )
    assert not _accepted() - found, "accepted but no longer found:\n" + "\n".join(map(str, sorted(_accepted() - found)))


def test_every_accepted_finding_says_why():
    entries = tools_charts.accepted_findings()
    assert len({entry["check"] for entry in entries}) == len(entries), "one entry per check"
    for entry in entries:
        assert entry["check"].startswith("CKV") and len(entry["reason"]) > 60 and entry["objects"], entry


@pytest.mark.parametrize("stack", STACKS)
def test_chart_workloads_pass_the_pod_security_level_of_their_namespace(rendered, charts, stack):
    """Every add-on namespace enforces `restricted`, except node-exporter's own (`privileged`: host access)."""
    levels = enforced_levels(list(rendered_documents(rendered[stack]).values()))
    checked, failures, namespaces = 0, [], set()
    for release, doc in charts[stack].all():
        if doc["kind"] in WORKLOADS:
            namespace = doc["metadata"]["namespace"]
            namespaces.add(namespace)
            failures += [
                f"{release} {doc['metadata']['name']}: {v}" for v in violations(pod_spec(doc), levels[namespace])
            ]
            checked += 1
    assert checked >= 14
    assert not failures, "\n".join(failures)
    assert {ns: levels[ns] for ns in namespaces} == {
        "monitoring": "restricted",
        "cert-manager": "restricted",
        "cnpg-system": "restricted",
        "envoy-gateway-system": "restricted",
        "elastic-system": "restricted",  # ECK 3.5 with the seccomp profile its chart lacks (values)
        "node-exporter": "privileged",
    }
    node_exporter = [doc for _, doc in charts[stack].all() if doc["metadata"].get("namespace") == "node-exporter"]
    assert [doc["kind"] for doc in node_exporter if doc["kind"] in WORKLOADS] == ["DaemonSet"]


def _denies_by_default(docs: list[dict[str, Any]], namespace: str) -> bool:
    directions = {
        doc["spec"]["policyTypes"][0]
        for doc in docs
        if doc["kind"] == "NetworkPolicy"
        and doc["metadata"]["namespace"] == namespace
        and doc["spec"] == {"podSelector": {}, "policyTypes": doc["spec"]["policyTypes"]}
        and len(doc["spec"]["policyTypes"]) == 1
    }
    return directions == {"Ingress", "Egress"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_the_platform_uses_denies_by_default(rendered, charts, stack):
    """X-07: each namespace the program creates or runs a pod in (chart pods included) denies all ingress and
    egress by default."""
    docs = list(rendered_documents(rendered[stack]).values())
    used = {doc["metadata"]["name"] for doc in docs if doc["kind"] == "Namespace"}
    used |= {doc["metadata"]["namespace"] for doc in docs if doc["kind"] in WORKLOADS}
    used |= {doc["metadata"]["namespace"] for _, doc in charts[stack].all() if doc["kind"] in WORKLOADS}
    addons = {"monitoring", "node-exporter", "cert-manager", "cnpg-system", "envoy-gateway-system", "elastic-system"}
    assert addons | {"logging", "log-shipping"} <= used
    assert [namespace for namespace in sorted(used) if not _denies_by_default(docs, namespace)] == []


def test_the_default_deny_check_can_fail(rendered):
    docs = list(rendered_documents(rendered["prod"]).values())
    assert _denies_by_default(docs, "cert-manager")
    without_egress_deny = [doc for doc in docs if doc["metadata"]["name"] != "default-deny-egress"]
    assert not _denies_by_default(without_egress_deny, "cert-manager")


@pytest.mark.parametrize("stack", STACKS)
def test_every_value_is_declared_or_read_by_its_chart(charts, stack):
    """No key the chart ignores: each value is in the chart's values.yaml or read by a template, and read."""
    problems = {}
    for name, release in charts[stack].releases.items():
        source = tools_charts.chart_source(tools_charts.archive(release.pin))
        problems[name] = tools_charts.values_problems(release.values, source)
    assert problems == {name: [] for name in PINS}


def test_the_values_check_finds_typos_and_dead_keys(charts):
    """A misspelled key (top level or in a subchart) and a declared key no template reads are reported."""
    releases = charts["prod"].releases
    stack = releases["kube-prometheus-stack"]
    values = copy.deepcopy(stack.values)
    values["prometheus"]["prometheusSpec"]["retentoin"] = "1d"
    values["grafana"]["sidecar"]["dashbords"] = {}
    source = tools_charts.chart_source(tools_charts.archive(stack.pin))
    assert tools_charts.values_problems(values, source) == [
        "grafana.sidecar.dashbords: neither declared in values.yaml nor read by a template",
        "prometheus.prometheusSpec.retentoin: neither declared in values.yaml nor read by a template",
    ]
    barman = releases["plugin-barman-cloud"]
    source = tools_charts.chart_source(tools_charts.archive(barman.pin))
    assert tools_charts.values_problems({"image": {"pullPolicy": "Always"}}, source) == [
        "image.pullPolicy: declared, but no template reads it"
    ]


def _kind(charts, release: str, kind: str) -> list[dict[str, Any]]:
    return [doc for doc in charts["prod"].objects[release] if doc["kind"] == kind]


def test_managed_control_plane_has_no_control_plane_rules(charts):
    """EKS hides etcd, the scheduler, the controller manager and kube-proxy: with their targets off the chart
    renders none of their rules (so none of them alerts forever)."""
    rules = {doc["metadata"]["name"] for doc in _kind(charts, "kube-prometheus-stack", "PrometheusRule")}
    assert "kube-prometheus-stack-kubelet.rules" in rules
    hidden = ("etcd", "kube-scheduler", "controller-manager", "kube-proxy")
    assert not [rule for rule in rules if any(part in rule for part in hidden)]


def test_cert_manager_watches_gateway_api_in_its_current_configuration_form(charts):
    """cert-manager 1.21 reads `gatewayAPI.enabled`; the deprecated `enableGatewayAPI` is gone."""
    config = yaml.safe_load(
        next(doc for doc in _kind(charts, "cert-manager", "ConfigMap") if doc["metadata"]["name"] == "cert-manager")[
            "data"
        ]["config.yaml"]
    )
    assert config["gatewayAPI"] == {"enabled": True}
    assert "enableGatewayAPI" not in config


def test_grafana_sidecars_read_configmaps_only(rendered, charts):
    """X-16: Grafana's sidecars are bound to the program's ConfigMap-only ClusterRole, not the chart's
    role that reads every Secret in the cluster."""
    binding = _kind(charts, "kube-prometheus-stack", "ClusterRoleBinding")
    role_name = next(b for b in binding if "grafana" in b["metadata"]["name"])["roleRef"]["name"]
    assert not [
        doc for doc in _kind(charts, "kube-prometheus-stack", "ClusterRole") if "grafana" in doc["metadata"]["name"]
    ]
    role = rendered_documents(rendered["prod"])[f"_cluster/ClusterRole-{role_name}.yaml"]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]


def test_readme_lists_the_chart_figures(charts):
    """The README's chart figures are `python -m tools.charts figures`, unedited."""
    readme = (ROOT / "README.md").read_text()
    shown = readme.partition("<!-- BEGIN chart-figures -->\n")[2].partition("<!-- END chart-figures -->")[0]
    assert shown == tools_charts.figures_table(charts), "regenerate with `python -m tools.charts figures`"
