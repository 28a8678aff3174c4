"""AlertRules: one PrometheusRule per service with severity, service label, summary, description and runbook
(X-10), valid against the Prometheus Operator CRD; the catalog covers every manual's alerts (S0-05, S1-08,
S2-06, S3-05, S4-09, X-09) and the README alert table (X-11, S1-11)."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pytest

from components.alert_rules import AlertRules, AlertRulesArgs, AlertSpec, rule_groups, runbook_url
from services import CATALOG
from tests.support.catalog import SERVICES, WATCHED, alert_specs, alerts
from tests.support.runtime import inputs_of
from tools.readme import alerts_table
from wiring.observability import watched

RUNBOOKS = "https://runbooks.staging.example.com/"


def _alert(**overrides) -> AlertSpec:
    base: dict[str, Any] = dict(
        name="HighErrorRate",
        expr='rate(http_requests_total{status=~"5.."}[5m]) > 0.1',
        for_="5m",
        severity="critical",
        summary="High error rate",
        description="Error rate is {{ $value }}",
        runbook_url="https://runbooks.example.com/svc/HighErrorRate",
        labels={"team": "platform"},
    )
    base.update(overrides)
    return AlertSpec(**base)


@pulumi.runtime.test
def test_prometheus_rule_structure(mock_runtime):
    rules = AlertRules("svc-alerts", AlertRulesArgs(namespace="svc", service="svc", alerts=[_alert()]))

    def check(inputs):
        assert inputs["apiVersion"] == "monitoring.coreos.com/v1"
        assert inputs["kind"] == "PrometheusRule"
        assert inputs["metadata"]["name"] == "svc-alerts"
        assert inputs["metadata"]["namespace"] == "svc"
        (group,) = inputs["spec"]["groups"]
        assert group["name"] == "svc"
        (rule,) = group["rules"]
        assert rule["alert"] == "HighErrorRate"
        assert rule["for"] == "5m"
        assert rule["labels"] == {"team": "platform", "severity": "critical", "service": "svc"}
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}

    return inputs_of(mock_runtime, rules.rule, check)


@pytest.mark.parametrize("service", WATCHED)
@pulumi.runtime.test
def test_every_service_rule_matches_the_crd(crd_schemas, mock_runtime, service):
    """The PrometheusRule the program registers validates against the Prometheus Operator's schema."""
    from tests.support.crd_schemas import validate_custom_resource
    from tools.render import clean

    namespace = watched()[service].namespace or CATALOG[service].observability_namespace
    rules = AlertRules(f"{service}-alerts", AlertRulesArgs(namespace, service, alert_specs(service, RUNBOOKS)))

    def check(inputs):
        assert validate_custom_resource(clean(inputs), crd_schemas["prod"]) == []
        for rule in inputs["spec"]["groups"][0]["rules"]:
            assert rule["labels"]["service"] == service
            assert rule["labels"]["severity"] in ("critical", "warning", "info")
            assert (
                rule["annotations"]["runbook_url"] == f"https://runbooks.staging.example.com/{service}/{rule['alert']}"
            )
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]

    return inputs_of(mock_runtime, rules.rule, check)


def test_crd_validation_catches_a_broken_rule(crd_schemas):
    """The schema check can fail: a rule without `expr` is refused."""
    from tests.support.crd_schemas import validate_custom_resource

    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "broken"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "NoExpr", "for": "5m"}]}]},
    }
    errors = validate_custom_resource(doc, crd_schemas["prod"])
    assert any("expr" in error for error in errors), errors


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"severity": "page"}, "severity"),
        ({"for_": "5 minutes"}, "duration"),
        ({"for_": "5m1h"}, "duration"),
        ({"labels": {"severity": "info"}}, "set by AlertRules"),
        ({"runbook_url": ""}, "required"),
        ({"name": "High-Error-Rate"}, "not a valid"),
    ],
)
def test_invalid_alerts_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        _alert(**overrides)


def test_duplicate_alert_names_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        rule_groups("svc", [_alert(), _alert()])


def test_manual_alerts_are_kept_exactly():
    """S0-05 exactly as manual 000; S1-08 scoped to the namespace with the manual's thresholds and durations."""
    benchmark = {a.name: a for a in alert_specs("ai-benchmark", RUNBOOKS)}
    assert benchmark["HighErrorRate"].expr == 'rate(benchmark_requests_total{status=~"5.."}[5m]) > 0.01'
    assert (benchmark["HighErrorRate"].for_, benchmark["HighErrorRate"].severity) == ("2m", "critical")
    assert benchmark["HighLatency"].expr == (
        "histogram_quantile(0.95, rate(benchmark_response_time_seconds_bucket[5m])) > 2"
    )
    assert (benchmark["HighLatency"].for_, benchmark["HighLatency"].severity) == ("2m", "warning")

    skeptic = {a.name: (a.for_, a.severity) for a in alert_specs("agent-skeptic-bench", RUNBOOKS)}
    assert skeptic["HighErrorRate"] == ("5m", "critical")
    assert skeptic["HighResponseTime"] == ("10m", "warning")
    assert skeptic["DatabaseConnectionFailure"] == ("1m", "critical")
    assert skeptic["RedisConnectionFailure"] == ("1m", "critical")
    assert skeptic["HighMemoryUsage"] == ("5m", "warning")
    assert skeptic["DiskSpaceLow"] == ("5m", "critical")
    exprs = {a.name: a.expr for a in alert_specs("agent-skeptic-bench", RUNBOOKS)}
    assert exprs["DatabaseConnectionFailure"] == 'up{job="postgres",namespace="agent-skeptic-bench"} == 0'
    assert exprs["HighErrorRate"].endswith("> 0.1") and 'namespace="agent-skeptic-bench"' in exprs["HighErrorRate"]


def test_each_service_has_the_alerts_its_manual_and_data_tier_need():
    names = {service: {a.name for a in alerts(service)} for service in SERVICES}
    assert {
        "HighErrorRate",
        "ExtractionFailures",
        "MemoryExhaustion",
        "CPUExhaustion",
        "ServiceDown",
        "RateLimitTriggered",
        "DiskSpaceHigh",
    } <= names["docc2context"]
    assert {
        "HighErrorRate",
        "ProviderDegraded",
        "HighLatency",
        "ErrorBudgetLow",
        "CircuitBreakerOpen",
        "CompareFailureRate",
    } <= names["cad-ml-platform"]
    assert {"SLOViolation", "HighErrorRate"} <= names["platform"]
    database = {
        "DatabaseConnectionFailure",
        "DatabaseBackupTooOld",
        "DatabaseWALArchivingBehind",
        "DatabaseRestoreCheckFailing",
        "DatabaseRestoreCheckStale",
        "DatabaseDumpFailing",
        "DatabaseDumpStale",
    }
    for service in ("ai-benchmark", "agent-skeptic-bench", "cad-ml-platform", "platform"):
        assert database <= names[service], service
    assert not database & names["docc2context"], "docc2context has no Postgres (S2-03)"
    for service in ("ai-benchmark", "agent-skeptic-bench", "docc2context", "cad-ml-platform"):
        assert "RedisConnectionFailure" in names[service], service
    assert "RedisConnectionFailure" not in names["platform"]


def test_the_log_stack_has_its_health_snapshot_disk_and_shipping_alerts():
    """S2-04, S2-05: red or yellow health, a missing daily snapshot, the disk watermarks, a shipper that stops
    sending, and the restore check."""
    exprs = {a.name: a.expr for a in alert_specs("logging", RUNBOOKS)}
    assert {
        "ElasticsearchClusterRed",
        "ElasticsearchClusterYellow",
        "ElasticsearchSnapshotMissing",
        "ElasticsearchDiskLowWatermark",
        "ElasticsearchDiskHighWatermark",
        "ElasticsearchMetricsDown",
        "LogShipperNotSending",
        "LogShipperUnavailable",
        "ElasticsearchRestoreCheckFailing",
        "ElasticsearchRestoreCheckStale",
    } == set(exprs)
    assert exprs["ElasticsearchSnapshotMissing"].endswith("> 93600")  # a daily snapshot, 26 h with slack
    assert 'repository="backup"' in exprs["ElasticsearchSnapshotMissing"]
    assert 'namespace="log-shipping"' in exprs["LogShipperNotSending"]
    assert 'cronjob="elasticsearch-restore-check"' in exprs["ElasticsearchRestoreCheckStale"]


def test_database_alerts_watch_the_right_cronjobs():
    exprs = {a.name: a.expr for a in alert_specs("platform", RUNBOOKS)}
    assert 'cronjob="platform-db-restore-check"' in exprs["DatabaseRestoreCheckFailing"]
    assert 'cronjob="platform-db-logical-dump"' in exprs["DatabaseDumpStale"]
    assert 'namespace="platform-v2-stable"' in exprs["DatabaseWALArchivingBehind"]
    assert "> 3600" in exprs["DatabaseWALArchivingBehind"]  # RPO 1 h (S3-11)


def test_runbook_url_comes_from_the_base():
    assert runbook_url("https://runbooks.example.org/", "docc2context", "ServiceDown") == (
        "https://runbooks.example.org/docc2context/ServiceDown"
    )


def test_alert_table_lists_every_alert_with_its_receivers():
    table = alerts_table()
    lines = table.strip().splitlines()
    assert lines[0] == "| Service | Alert | Condition | For | Severity | Receivers |"
    assert len(lines) == 2 + sum(len(alerts(service)) for service in WATCHED)
    assert "| agent-skeptic-bench | HighErrorRate |" in table
    skeptic_critical = next(line for line in lines if line.startswith("| agent-skeptic-bench | HighErrorRate |"))
    assert skeptic_critical.endswith("| critical | webhook, pagerduty |")
    latency = next(line for line in lines if line.startswith("| ai-benchmark | HighLatency |"))
    assert latency.endswith("| 2m | warning | slack |")
    unescaped_pipes = re.compile(r"(?<!\\)\|")
    assert all(len(unescaped_pipes.findall(line)) == 7 for line in lines), "pipes inside conditions are escaped"
    assert "(-blue\\|-green\\|-canary)" in table
