"""Chart upgrades a reviewer can see (X-10): the object-level diff of a release between two chart versions or two
value sets, and the CRDs Helm never upgrades, which the upgrade procedure applies first (README, "Charts")."""

from __future__ import annotations

import shutil
import tarfile

import kubernetes_validate
import pytest
import yaml

from tests.support.manifests import KUBERNETES_VERSIONS
from tests.support.runtime import ROOT
from tools import charts as tools_charts

# Charts that keep CRDs in `crds/` folders: Helm installs those once and never upgrades them.
CRDS_APPLIED_BY_HAND = {"kube-prometheus-stack": "monitoring.coreos.com", "envoy-gateway": "gateway."}


def test_diff_of_two_value_sets_shows_exactly_the_changed_objects(charts):
    """staging -> prod: the Prometheus resource keeps 15 days instead of 7; Grafana's and Alertmanager's
    configuration differ by the stack's domain and receivers; nothing is added or removed."""
    before = charts["staging"].objects["kube-prometheus-stack"]
    after = charts["prod"].objects["kube-prometheus-stack"]
    diff = tools_charts.object_diff(before, after)
    changed = [line for line in diff.splitlines() if not line.startswith("    ")]
    assert "~ changed monitoring.coreos.com/v1 Prometheus monitoring/kube-prometheus-stack-prometheus" in changed
    assert not [line for line in changed if line.startswith(("+ added", "- removed"))]
    assert {"    -  retention: 7d", "    +  retention: 15d"} <= set(diff.splitlines())
    assert {line.rpartition(" ")[2] for line in changed} == {
        "monitoring/kube-prometheus-stack-prometheus",
        "monitoring/kube-prometheus-stack-grafana",  # its root_url, in the ConfigMap and the pod's checksum
        "monitoring/alertmanager-kube-prometheus-stack-alertmanager",  # the configuration Secret
    }
    assert tools_charts.object_diff(after, after) == ""


def test_diff_command_between_two_renders(rendered, charts, capsys):
    code = tools_charts.main(
        [
            "diff",
            "kube-prometheus-stack",
            "--from-render",
            str(rendered["staging"]),
            "--to-render",
            str(rendered["prod"]),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].startswith("--- kube-prometheus-stack kube-prometheus-stack 88.5.3 (values of ")
    assert "~ changed monitoring.coreos.com/v1 Prometheus monitoring/kube-prometheus-stack-prometheus" in out


@pytest.fixture
def newer_cert_manager(charts, tmp_path, monkeypatch):
    """A chart directory holding cert-manager v1.21.1 and a made-up v1.21.2 that adds one ConfigMap."""
    release = charts["prod"].releases["cert-manager"]
    source = tools_charts.archive(release.pin)
    folder = tmp_path / "charts"
    folder.mkdir()
    shutil.copy(source, folder / source.name)
    with tarfile.open(source) as archive:
        archive.extractall(tmp_path / "src", filter="data")
    chart = tmp_path / "src" / "cert-manager"
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    (chart / "Chart.yaml").write_text(yaml.safe_dump({**meta, "version": "v1.21.2"}))
    added = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "added-in-v1-21-2"}, "data": {"a": "b"}}
    (chart / "templates" / "added.yaml").write_text(yaml.safe_dump(added))
    tools_charts.run_helm("package", str(chart), "--destination", str(folder))
    monkeypatch.setenv(tools_charts.CHART_DIR_ENV, str(folder))
    return release


def test_diff_command_between_two_chart_versions(rendered, newer_cert_manager, capsys):
    code = tools_charts.main(
        [
            "diff",
            "cert-manager",
            "--render",
            str(rendered["prod"]),
            "--from-version",
            "v1.21.1",
            "--to-version",
            "v1.21.2",
        ]
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[:2] == [
        f"--- cert-manager cert-manager v1.21.1 (values of {rendered['prod']})",
        f"+++ cert-manager cert-manager v1.21.2 (values of {rendered['prod']})",
    ]
    assert "+ added v1 ConfigMap cert-manager/added-in-v1-21-2" in out
    assert "~ changed apps/v1 Deployment cert-manager/cert-manager" in out
    assert (
        "    -    helm.sh/chart: cert-manager-v1.21.1" in out and "    +    helm.sh/chart: cert-manager-v1.21.2" in out
    )
    assert not [line for line in out if line.startswith("- removed")]


def test_the_crds_helm_never_upgrades_are_exactly_those_of_two_charts(charts):
    """kube-prometheus-stack and gateway-helm keep their CRDs in `crds/`; the other charts template theirs, so
    Helm upgrades them with the release."""
    prod = charts["prod"]
    found = {
        name: tools_charts.crds_helm_never_upgrades(release, prod.objects[name])
        for name, release in prod.releases.items()
    }
    assert {name for name, crds in found.items() if crds} == set(CRDS_APPLIED_BY_HAND)
    assert len(found["kube-prometheus-stack"]) == 10
    assert len(found["envoy-gateway"]) == 21
    for name, prefix in CRDS_APPLIED_BY_HAND.items():
        assert all(crd["spec"]["group"].startswith(prefix) for crd in found[name])
        for crd in found[name]:
            for version in KUBERNETES_VERSIONS:
                kubernetes_validate.validate(crd, version, strict=True)


def test_crds_command_prints_what_kubectl_applies(rendered, charts, capsys):
    assert tools_charts.main(["crds", "kube-prometheus-stack", "--render", str(rendered["prod"])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# CRDs of kube-prometheus-stack 88.5.3 that Helm does not upgrade (10)\n")
    docs = tools_charts.load_all(out)
    assert {doc["kind"] for doc in docs} == {"CustomResourceDefinition"}
    assert {doc["spec"]["names"]["kind"] for doc in docs} >= {"Prometheus", "ServiceMonitor", "PrometheusRule"}


def test_readme_gives_the_crd_step_for_exactly_those_charts():
    readme = (ROOT / "README.md").read_text()
    for release in CRDS_APPLIED_BY_HAND:
        assert f"python -m tools.charts crds {release} --version" in readme, release
    for release in ("cert-manager", "cloudnative-pg", "plugin-barman-cloud"):
        assert f"python -m tools.charts crds {release}" not in readme, release
