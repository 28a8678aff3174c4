"""Dashboards: one ConfigMap per dashboard, labelled for Grafana's sidecar, built with the foundation SDK
(X-10); the catalog holds the manuals' dashboards and KPI targets (S0-06, S0-07, S2-07, S3-06, S4-09)."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.dashboards import (
    Dashboards,
    DashboardsArgs,
    DashboardSpec,
    PanelSpec,
    Query,
    RowSpec,
    dashboard_json,
    good_above,
    good_below,
    panel_exprs,
)
from tests.support.catalog import WATCHED, dashboards
from tests.support.runtime import inputs_of


def _dashboard(uid: str = "svc-overview") -> DashboardSpec:
    return DashboardSpec(
        uid,
        "Service / Overview",
        (
            RowSpec(
                "KPIs",
                (
                    PanelSpec(
                        "p95",
                        (Query("histogram_quantile(0.95, rate(x_bucket[5m]))"),),
                        "s",
                        "stat",
                        thresholds=good_below(1),
                        width=8,
                    ),
                    PanelSpec(
                        "Throughput",
                        (Query("sum(rate(x_count[5m]))", "rps"),),
                        "reqps",
                        thresholds=good_above(50),
                        width=16,
                    ),
                ),
            ),
            RowSpec("Pods", (PanelSpec("Memory", (Query("sum by (pod) (m)", "{{pod}}"), Query("sum(m)")), "bytes"),)),
        ),
        tags=("svc",),
    )


@pulumi.runtime.test
def test_config_map_per_dashboard_labelled_for_the_sidecar(mock_runtime):
    dashboards = Dashboards(
        "svc-dashboards",
        DashboardsArgs(namespace="svc", dashboards=[_dashboard(), _dashboard("svc-db")], folder="svc"),
    )
    assert dashboards.uids == ["svc-overview", "svc-db"]

    def check(inputs):
        metadata = inputs["metadata"]
        assert metadata["name"] == "dashboard-svc-overview"
        assert metadata["namespace"] == "svc"
        assert metadata["labels"]["grafana_dashboard"] == "1"
        assert metadata["annotations"] == {"grafana_folder": "svc"}
        (key,) = inputs["data"]
        assert key == "svc-overview.json"
        model = json.loads(inputs["data"][key])
        assert model["uid"] == "svc-overview"
        assert model["title"] == "Service / Overview"
        assert model["editable"] is False

    return inputs_of(mock_runtime, dashboards.config_maps["svc-overview"], check)


def test_model_from_typed_panels():
    """Rows, panels, units, thresholds and queries come out as Grafana's schema expects."""
    model = dashboard_json(_dashboard(), datasource_uid="prom")
    panels = model["panels"]
    assert [p["type"] for p in panels] == ["row", "stat", "timeseries", "row", "timeseries"]
    ids = [p["id"] for p in panels]
    assert len(set(ids)) == len(ids)
    stat = panels[1]
    assert stat["datasource"] == {"type": "prometheus", "uid": "prom"}
    assert stat["fieldConfig"]["defaults"]["unit"] == "s"
    assert stat["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"value": None, "color": "green"},
        {"value": 1, "color": "red"},
    ]
    assert stat["gridPos"]["w"] == 8
    assert panels[2]["gridPos"]["x"] == 8, "panels flow left to right"
    assert all(p["options"] for p in panels if p["type"] != "row"), "Grafana does not fill in `options: null`"
    assert stat["options"]["reduceOptions"]["calcs"] == ["lastNotNull"]
    memory = panels[4]
    assert [t["refId"] for t in memory["targets"]] == ["A", "B"]
    assert memory["targets"][0]["legendFormat"] == "{{pod}}"
    assert panel_exprs(model) == [
        "histogram_quantile(0.95, rate(x_bucket[5m]))",
        "sum(rate(x_count[5m]))",
        "sum by (pod) (m)",
        "sum(m)",
    ]


def test_invalid_specs_are_refused():
    with pytest.raises(ValueError, match="uid"):
        DashboardSpec("Not A Uid", "t", ())
    with pytest.raises(ValueError, match="kind"):
        PanelSpec("p", (Query("up"),), kind="piechart")
    with pytest.raises(ValueError, match="no query"):
        PanelSpec("p", ())


def test_duplicate_uids_are_refused(mock_runtime):
    with pytest.raises(ValueError, match="duplicate"):
        Dashboards("x", DashboardsArgs(namespace="svc", dashboards=[_dashboard(), _dashboard()]))


def _titles(service: str) -> list[str]:
    return [d.title for d in dashboards(service)]


def test_manual_dashboards_exist():
    """S0-06, S3-06 (with the manual's /d/ links), S4-09; one or more for the others."""
    assert _titles("ai-benchmark") == [
        "AI Benchmark / System Overview",
        "AI Benchmark / API Performance",
        "AI Benchmark / Database Metrics",
        "AI Benchmark / Benchmark Analytics",
    ]
    cad_uids = [d.uid for d in dashboards("cad-ml-platform")]
    # S3-06's four, and the manual's morning alert review and monthly capacity review.
    assert cad_uids == ["observability", "providers", "performance", "slo", "alerts", "capacity"]
    assert _titles("platform") == [
        "Platform / V2 Production SLO Compliance",
        "Platform / V1 Experiment Progress",
        "Platform / V3 Quarantine Statistics",
    ]
    assert _titles("docc2context") and _titles("agent-skeptic-bench")
    uids = [d.uid for service in WATCHED for d in dashboards(service)]
    assert len(uids) == len(set(uids)), "dashboard uids are unique across services"


def _thresholds(service: str, uid: str, title: str) -> list[dict]:
    spec = next(d for d in dashboards(service) if d.uid == uid)
    panel = next(p for p in dashboard_json(spec)["panels"] if p.get("title") == title)
    return panel["fieldConfig"]["defaults"]["thresholds"]["steps"]


def test_kpi_targets_are_drawn():
    """S0-07 and S2-07 targets are the panels' thresholds."""
    assert _thresholds("ai-benchmark", "ai-benchmark-api", "p95 response time")[1] == {"value": 1, "color": "red"}
    assert _thresholds("ai-benchmark", "ai-benchmark-api", "Throughput")[1] == {"value": 50, "color": "green"}
    assert _thresholds("ai-benchmark", "ai-benchmark-api", "Error rate")[1] == {"value": 0.001, "color": "red"}
    assert _thresholds("ai-benchmark", "ai-benchmark-database", "DB query p95")[1] == {"value": 0.1, "color": "red"}
    assert _thresholds("ai-benchmark", "ai-benchmark-database", "Connection utilisation")[1]["value"] == 0.8
    assert _thresholds("docc2context", "docc2context-overview", "Uptime (30 d)")[1]["value"] == 0.999
    assert _thresholds("docc2context", "docc2context-overview", "p95 response time")[1]["value"] == 2
    assert _thresholds("docc2context", "docc2context-overview", "Extraction success")[1]["value"] == 0.95
    assert _thresholds("cad-ml-platform", "slo", "Error Budget Remaining")[1] == {"value": 20, "color": "yellow"}


def test_every_panel_queries_its_own_namespace():
    """Panels never mix services: every query names a namespace of its service, or its alerts' `service` label."""
    namespaces = {
        "ai-benchmark": ("ai-benchmark",),
        "agent-skeptic-bench": ("agent-skeptic-bench",),
        "docc2context": ("docc2context",),
        "cad-ml-platform": ("cad-ml-platform",),
        "platform": ("platform-v2-stable", "platform-v1-exp", "platform-v3-quarantine"),
        "logging": ("logging", "log-shipping"),
    }
    for service in WATCHED:
        for spec in dashboards(service):
            for expr in panel_exprs(dashboard_json(spec)):
                mine = [f'namespace="{ns}"' for ns in namespaces[service]] + [f'ALERTS{{service="{service}"']
                assert any(selector in expr for selector in mine), (service, spec.uid, expr)
