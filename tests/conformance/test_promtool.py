"""promtool: every service's rules (and the log stack's) load, every alert fires and stays silent when it should
(X-10, S0-05, S1-08, S2-06, S3-05, S4-09, S2-04, S2-05), and every dashboard query is valid PromQL (S0-06, S2-07,
S3-06, S4-09)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from components.alert_rules import Alert, Scenario, rule_groups
from components.dashboards import dashboard_json, panel_exprs
from tests.support.catalog import WATCHED, alert_specs, alerts, dashboards
from tests.support.runtime import need_tool

RUNBOOKS = "https://runbooks.example.com"
_VALUE_TEMPLATE = re.compile(r"\{\{[^}]*\$value[^}]*\}\}")
_LABEL_TEMPLATE = re.compile(r"\{\{ \$labels\.(\w+) \}\}")


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([need_tool("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _write_rules(service: str, directory: Path) -> Path:
    path = directory / f"{service}.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule_groups(service, alert_specs(service, RUNBOOKS))}, sort_keys=False))
    return path


def _render(template: str, scenario: Scenario, labels: dict[str, str]) -> str:
    """The annotation promtool must produce: `$value` as the scenario states it, `$labels` filled in."""
    text = _VALUE_TEMPLATE.sub(lambda _: scenario.value, template)
    return _LABEL_TEMPLATE.sub(lambda m: labels[m.group(1)], text)


def _case(service: str, alert: Alert, scenario: Scenario) -> dict:
    spec = alert.spec(service, RUNBOOKS)
    expected = []
    if scenario.fires:
        labels = {**scenario.labels, **spec.labels, "severity": spec.severity, "service": service}
        annotations = {"summary": spec.summary, "description": spec.description, "runbook_url": spec.runbook_url}
        expected.append(
            {"exp_labels": labels, "exp_annotations": {k: _render(v, scenario, labels) for k, v in annotations.items()}}
        )
    return {
        "name": f"{alert.name} {'fires' if scenario.fires else 'stays silent'} at {scenario.at}",
        "interval": "1m",
        "input_series": [{"series": series, "values": values} for series, values in scenario.series.items()],
        "alert_rule_test": [{"eval_time": scenario.at, "alertname": alert.name, "exp_alerts": expected}],
    }


@pytest.mark.parametrize("service", WATCHED)
def test_rules_pass_promtool_check(service, tmp_path):
    """X-10: the PrometheusRule `spec.groups` of each service is a valid Prometheus rule file."""
    rules = _write_rules(service, tmp_path)
    result = _promtool("check", "rules", rules.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts(service))} rules found" in result.stdout


def _test_alone(service: str, directory: Path, cases: Callable[[Alert], list[dict]]) -> list[str]:
    """A test file per alert of SERVICE with CASES(alert), whose rule file holds that alert alone; their names.

    promtool evaluates every rule of a test file's rule files at every step of each of its tests, so the
    service's other alerts would only cost time: no alert reads another rule (`ALERTS`, a recording rule)."""
    names = []
    for alert in alerts(service):
        assert "ALERTS" not in alert.expr, f"{service}/{alert.name} reads other alerts: test it beside them"
        rules = directory / f"{alert.name}.rules.yaml"
        rules.write_text(
            yaml.safe_dump({"groups": rule_groups(service, [alert.spec(service, RUNBOOKS)])}, sort_keys=False)
        )
        tests = {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": cases(alert)}
        (directory / f"{alert.name}.tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
        names.append(f"{alert.name}.tests.yaml")
    return names


@pytest.mark.parametrize("service", WATCHED)
def test_every_alert_fires_and_stays_silent(service, tmp_path):
    """Each alert fires with its labels and annotations on its firing series, and not just under its
    threshold or before its `for` elapses (S0-05, S1-08, S2-06, S3-05, S4-09, X-09); one promtool call per
    service."""
    for alert in alerts(service):
        outcomes = {s.fires for s in alert.scenarios}
        assert outcomes == {True, False}, f"{service}/{alert.name} needs a firing and a silent scenario"
    test_files = _test_alone(service, tmp_path, lambda alert: [_case(service, alert, s) for s in alert.scenarios])
    result = _promtool("test", "rules", *test_files, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(test_files), result.stdout


def test_a_wrong_expectation_fails(tmp_path):
    """The harness is not vacuous: among a service's test files, one silent scenario declared as firing makes
    promtool fail, and only that alert's file."""
    service = "ai-benchmark"
    labels = {"endpoint": "/api/benchmark/run", "method": "POST", "status": "500"}

    def cases(alert: Alert) -> list[dict]:
        if alert.name != "HighErrorRate":
            return [_case(service, alert, scenario) for scenario in alert.scenarios]
        silent = next(s for s in alert.scenarios if not s.fires)
        return [_case(service, alert, Scenario(silent.series, silent.at, True, labels, "0.008"))]

    test_files = _test_alone(service, tmp_path, cases)
    result = _promtool("test", "rules", *test_files, cwd=tmp_path)
    assert result.returncode != 0
    assert "HighErrorRate" in result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(test_files) - 1, result.stdout


@pytest.mark.parametrize("service", WATCHED)
def test_dashboard_queries_are_valid_promql(service, tmp_path):
    """Every panel query of the service's dashboards parses (each is loaded as a recording rule)."""
    exprs = [expr for spec in dashboards(service) for expr in panel_exprs(dashboard_json(spec))]
    assert exprs, f"{service} has no dashboard query"
    rules = [{"record": f"dashboard:query_{i}", "expr": expr} for i, expr in enumerate(exprs)]
    path = tmp_path / "dashboards.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = _promtool("check", "rules", path.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout
