"""AlertRules: one service's Prometheus alerts as a Prometheus Operator `PrometheusRule`.

Every alert carries a `severity` (Alertmanager routes on it), a `service` label and the annotations
an on-call engineer needs: `summary`, `description` and `runbook_url`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import kube, validation

SEVERITIES = ("critical", "warning", "info")

_ALERT_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Labels the component sets itself; an alert's own labels may not override them.
_RESERVED_LABELS = {"severity", "service", "alertname"}


@dataclass(frozen=True)
class AlertSpec:
    """One alerting rule."""

    name: str
    """Alert name (`alertname`), e.g. `HighErrorRate`."""
    expr: str
    """PromQL condition; the alert is active while it returns series."""
    for_: str
    """How long the condition must hold before the alert fires (`0m` fires at once)."""
    severity: str
    """`critical` (pages), `warning` (chat) or `info` (email)."""
    summary: str
    """One-line title; may use `{{ $labels.x }}` and `{{ $value }}` templates."""
    description: str
    """What is wrong and where; may use templates."""
    runbook_url: str
    """Where the on-call engineer finds what to do."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels for routing or grouping."""

    def __post_init__(self) -> None:
        if not _ALERT_NAME.match(self.name):
            raise ValueError(f"alert name {self.name!r} is not a valid Prometheus label value for alertname")
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert {self.name}: severity must be one of {SEVERITIES}, got {self.severity!r}")
        if not validation.is_prometheus_duration(self.for_):
            raise ValueError(f"alert {self.name}: `for` must be a Prometheus duration like 5m, got {self.for_!r}")
        if not (self.summary and self.description and self.runbook_url):
            raise ValueError(f"alert {self.name}: summary, description and runbook_url are all required")
        if reserved := _RESERVED_LABELS & set(self.labels):
            raise ValueError(f"alert {self.name}: labels {sorted(reserved)} are set by AlertRules")


@dataclass(frozen=True)
class Scenario:
    """A promtool case proving an alert: input series, and what the alert does at `at`."""

    series: Mapping[str, str]
    """Series selector -> values in promtool notation, one sample a minute."""
    at: str
    """Evaluation time, e.g. `10m`."""
    fires: bool
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels the firing alert takes from its series (severity, service and alertname come on top)."""
    value: str = ""
    """How `{{ $value ... }}` renders in the annotations when it fires."""


@dataclass(frozen=True)
class Alert:
    """An alert as a service declares it, with the scenarios that prove it (the suite replays each one)."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    scenarios: tuple[Scenario, ...]
    labels: Mapping[str, str] = field(default_factory=dict)

    def spec(self, service: str, runbook_base_url: str) -> AlertSpec:
        """The rule AlertRules declares, with the runbook link of SERVICE's page for this alert."""
        return AlertSpec(
            name=self.name,
            expr=self.expr,
            for_=self.for_,
            severity=self.severity,
            summary=self.summary,
            description=self.description,
            runbook_url=runbook_url(runbook_base_url, service, self.name),
            labels=dict(self.labels),
        )


def threshold_alert(
    name: str,
    expr: str,
    for_: str,
    severity: str,
    summary: str,
    description: str,
    firing: Mapping[str, str],
    silent: Mapping[str, str],
    value: str,
    labels: Mapping[str, str],
) -> Alert:
    """An alert on EXPR proven by two scenarios, each evaluated five minutes after `for`: FIRING series make it fire
    with LABELS (`$value` rendering as VALUE), SILENT series keep it quiet."""
    at = f"{int(for_[:-1]) + 5}{for_[-1]}"
    return Alert(
        name,
        expr,
        for_,
        severity,
        summary,
        description,
        (Scenario(firing, at, True, labels, value), Scenario(silent, at, False)),
    )


def runbook_url(base_url: str, service: str, alert: str) -> str:
    """`<base>/<service>/<alert>`, e.g. `https://runbooks.example.com/docc2context/ServiceDown`."""
    return f"{base_url.rstrip('/')}/{service}/{alert}"


@dataclass(frozen=True)
class AlertRulesArgs:
    """A service's alerts and where their PrometheusRule lives."""

    namespace: pulumi.Input[str]
    """Namespace of the PrometheusRule (the service's own)."""
    service: str
    """Value of the `service` label on every alert; also the rule group name."""
    alerts: Sequence[AlertSpec]
    """The alerts, evaluated as one rule group."""
    evaluation_interval: str | None = None
    """Group evaluation interval; Prometheus' global interval when unset."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on the PrometheusRule object itself."""


def rule_groups(service: str, alerts: Sequence[AlertSpec], evaluation_interval: str | None = None) -> list[dict]:
    """The `spec.groups` of the PrometheusRule: the same list `promtool check rules` reads."""
    if duplicates := validation.duplicates(a.name for a in alerts):
        raise ValueError(f"{service}: duplicate alert names {duplicates}")
    group: dict[str, Any] = {"name": service, "rules": [_rule(service, alert) for alert in alerts]}
    if evaluation_interval:
        group["interval"] = evaluation_interval
    return [group]


def _rule(service: str, alert: AlertSpec) -> dict[str, Any]:
    return {
        "alert": alert.name,
        "expr": alert.expr,
        "for": alert.for_,
        "labels": {**alert.labels, "severity": alert.severity, "service": service},
        "annotations": {
            "summary": alert.summary,
            "description": alert.description,
            "runbook_url": alert.runbook_url,
        },
    }


class AlertRules(pulumi.ComponentResource):
    """A `PrometheusRule` holding one service's alerts."""

    rule_name: str
    """Name of the PrometheusRule object."""
    groups: list[dict]
    """The rule groups as declared (for docs and validators)."""
    rule: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: AlertRulesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:alert_rules:AlertRules", name, None, opts)
        if not args.alerts:
            raise ValueError(f"{name}: AlertRules needs at least one alert")
        self.rule_name = name
        self.groups = rule_groups(args.service, args.alerts, args.evaluation_interval)
        self.rule = k8s.apiextensions.CustomResource(
            f"{name}-prometheusrule",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=kube.metadata(name, args.namespace, {**kube.app_labels(name, args.service), **args.labels}),
            spec={"groups": self.groups},
            opts=kube.child_options(self, opts),
        )
        self.register_outputs({"ruleName": name, "alerts": [a.name for a in args.alerts]})
