"""Dashboards: Grafana dashboards as ConfigMaps that Grafana's dashboard sidecar loads.

Dashboards are described by typed panel specs and built with grafana-foundation-sdk, so the JSON
Grafana receives always has the shape of its own schema. Each dashboard is one ConfigMap labelled
`grafana_dashboard: "1"`; the sidecar picks it up from any namespace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import gauge, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement, SortOrder, TooltipDisplayMode
from grafana_foundation_sdk.models.dashboard import DataSourceRef, ThresholdsMode
from grafana_foundation_sdk.models.dashboard import Threshold as SdkThreshold

from components import kube, validation

# Label and value the dashboard sidecar of kube-prometheus-stack watches for.
DASHBOARD_LABEL = {"grafana_dashboard": "1"}
# Annotation the sidecar reads to file a dashboard into a folder.
FOLDER_ANNOTATION = "grafana_folder"

PANEL_KINDS = ("timeseries", "stat", "gauge")
_UID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_GRID_WIDTH = 24


@dataclass(frozen=True)
class Threshold:
    """Colour a value takes from `value` upwards (`None` is the base colour)."""

    value: float | None
    """Lower bound of the colour; None for the base colour."""
    color: str
    """Grafana colour name or hex code, e.g. `green`, `#FF0000`."""


def good_below(limit: float) -> tuple[Threshold, ...]:
    """Green under a target (latency, error rate), red from it."""
    return (Threshold(None, "green"), Threshold(limit, "red"))


def good_above(limit: float) -> tuple[Threshold, ...]:
    """Red under a target (throughput, success rate), green from it."""
    return (Threshold(None, "red"), Threshold(limit, "green"))


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel."""

    expr: str
    """PromQL expression."""
    legend: str = ""
    """Legend template, e.g. `{{pod}}`."""


@dataclass(frozen=True)
class PanelSpec:
    """One panel."""

    title: str
    """Panel title."""
    queries: Sequence[Query]
    """Queries drawn in the panel (at least one)."""
    unit: str = "short"
    """Grafana unit id: `s`, `reqps`, `percentunit`, `bytes`, ..."""
    kind: str = "timeseries"
    """`timeseries`, `stat` or `gauge`."""
    description: str = ""
    """Panel help text; defaults to the title."""
    thresholds: Sequence[Threshold] = ()
    """KPI colouring; see `good_below` / `good_above`."""
    min: float | None = None
    """Lower end of the axis or gauge; None lets Grafana choose."""
    max: float | None = None
    """Upper end of the axis or gauge; None lets Grafana choose."""
    width: int = 12
    """Grid columns out of 24."""
    height: int = 8
    """Grid rows."""

    def __post_init__(self) -> None:
        if self.kind not in PANEL_KINDS:
            raise ValueError(f"panel {self.title!r}: kind must be one of {PANEL_KINDS}, got {self.kind!r}")
        if not self.queries:
            raise ValueError(f"panel {self.title!r} has no query")
        if not 1 <= self.width <= _GRID_WIDTH:
            raise ValueError(f"panel {self.title!r}: width must be 1..{_GRID_WIDTH}")


@dataclass(frozen=True)
class RowSpec:
    """A titled row of panels."""

    title: str
    """Row title."""
    panels: Sequence[PanelSpec]
    """Panels of the row, left to right."""


@dataclass(frozen=True)
class DashboardSpec:
    """One dashboard."""

    uid: str
    """Stable id in URLs (`/d/<uid>`); at most 40 characters."""
    title: str
    """Dashboard title."""
    rows: Sequence[RowSpec]
    """Rows, top to bottom."""
    description: str = ""
    """Dashboard help text; defaults to the title."""
    tags: Sequence[str] = ()
    """Grafana tags for search."""
    refresh: str = "1m"
    """Auto-refresh interval."""
    time_from: str = "now-6h"
    """Start of the default time range."""

    def __post_init__(self) -> None:
        if not _UID.match(self.uid):
            raise ValueError(f"dashboard uid {self.uid!r}: lower-case letters, digits and '-', at most 40 characters")

    def panels(self) -> list[PanelSpec]:
        return [panel for row in self.rows for panel in row.panels]


@dataclass(frozen=True)
class DashboardsArgs:
    """Dashboards and where their ConfigMaps live."""

    namespace: pulumi.Input[str]
    """Namespace of the ConfigMaps (the service's own; the sidecar watches all)."""
    dashboards: Sequence[DashboardSpec]
    """The dashboards; their uids must differ."""
    folder: str | None = None
    """Grafana folder the dashboards are filed into."""
    datasource_uid: str = "prometheus"
    """uid of the Prometheus datasource (kube-prometheus-stack provisions `prometheus`)."""
    part_of: str | None = None
    """Value of `app.kubernetes.io/part-of` on the ConfigMaps."""


def dashboard_json(spec: DashboardSpec, datasource_uid: str = "prometheus") -> dict:
    """The dashboard model Grafana imports, built with the foundation SDK."""
    datasource = DataSourceRef(type_val="prometheus", uid=datasource_uid)
    builder = (
        dashboard_builder.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description or spec.title)
        .tags(list(spec.tags))
        .refresh(spec.refresh)
        .time(spec.time_from, "now")
        .timezone("browser")
        .readonly()
    )
    panel_id = 0
    for row in spec.rows:
        panel_id += 1
        builder = builder.with_row(dashboard_builder.Row(row.title).id(panel_id))
        for panel in row.panels:
            panel_id += 1
            builder = builder.with_panel(_panel(panel, panel_id, datasource))
    # Round-trip through the SDK's encoder so the result is plain JSON data.
    return json.loads(json.dumps(builder.build(), cls=JSONEncoder))


def _panel(spec: PanelSpec, panel_id: int, datasource: DataSourceRef):
    panel = (
        _typed_panel(spec.kind)
        .id(panel_id)
        .title(spec.title)
        .description(spec.description or spec.title)
        .datasource(datasource)
        .unit(spec.unit)
        .span(spec.width)
        .height(spec.height)
    )
    for index, query in enumerate(spec.queries):
        target = prometheus.Dataquery().expr(query.expr).legend_format(query.legend or "__auto")
        panel = panel.with_target(target.ref_id(chr(ord("A") + index)))
    if spec.thresholds:
        steps = [SdkThreshold(value=t.value, color=t.color) for t in spec.thresholds]
        panel = panel.thresholds(dashboard_builder.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps))
    if spec.min is not None:
        panel = panel.min(spec.min)
    if spec.max is not None:
        panel = panel.max(spec.max)
    return panel


def _typed_panel(kind: str):
    """An empty panel of KIND with its display options set (Grafana does not fill in `options: null`)."""
    if kind == "timeseries":
        legend = common_builder.VizLegendOptions().show_legend(True)
        tooltip = common_builder.VizTooltipOptions().mode(TooltipDisplayMode.MULTI).sort(SortOrder.DESCENDING)
        return (
            timeseries.Panel()
            .legend(legend.display_mode(LegendDisplayMode.LIST).placement(LegendPlacement.BOTTOM))
            .tooltip(tooltip)
        )
    latest = common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
    return (stat.Panel() if kind == "stat" else gauge.Panel()).reduce_options(latest)


def panel_exprs(model: dict) -> list[str]:
    """Every PromQL expression of a built dashboard model (for validators)."""
    return [target["expr"] for panel in model.get("panels", []) for target in panel.get("targets") or []]


class Dashboards(pulumi.ComponentResource):
    """One ConfigMap per dashboard, labelled for Grafana's dashboard sidecar."""

    config_maps: dict[str, k8s.core.v1.ConfigMap]
    """Dashboard uid -> its ConfigMap."""
    uids: list[str]
    """The dashboards' uids, in the order given."""

    def __init__(self, name: str, args: DashboardsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:dashboards:Dashboards", name, None, opts)
        uids = [d.uid for d in args.dashboards]
        if duplicates := validation.duplicates(uids):
            raise ValueError(f"{name}: duplicate dashboard uids {duplicates}")
        self.uids = uids
        annotations = {FOLDER_ANNOTATION: args.folder} if args.folder else None
        self.config_maps = {
            spec.uid: k8s.core.v1.ConfigMap(
                f"{name}-{spec.uid}",
                metadata=kube.metadata(
                    f"dashboard-{spec.uid}",
                    args.namespace,
                    {**kube.app_labels(name, args.part_of, "dashboard"), **DASHBOARD_LABEL},
                    annotations,
                ),
                data={f"{spec.uid}.json": json.dumps(dashboard_json(spec, args.datasource_uid), indent=1)},
                opts=kube.child_options(self, opts),
            )
            for spec in args.dashboards
        }
        self.register_outputs({"dashboards": uids})
