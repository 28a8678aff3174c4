"""amtool: the Alertmanager configuration of the Helm values is valid and routes by severity (X-11), with a
webhook copy for the services that asked for one (S1-11)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from components.alert_routing import (
    PAGERDUTY_KEY,
    SLACK_KEY,
    SMTP_PASSWORD_KEY,
    WEBHOOK_TOKEN_KEY,
    AlertReceivers,
    ReceiverCredentials,
    secret_dir,
)
from components.monitoring_stack import MonitoringStackArgs, release_values
from tests.support.runtime import need_tool
from wiring.observability import receivers_of, webhook_services

RECEIVERS = AlertReceivers(
    slack_channel="#platform-alerts",
    email_to="oncall@example.com",
    email_from="alertmanager@example.com",
    smtp_smarthost="smtp.example.com:587",
    smtp_username="alertmanager",
    webhook_url="https://hooks.example.com/alerts",
    webhook_services=webhook_services(),
)
CREDENTIALS = ReceiverCredentials("routing-key", "https://hooks.slack.com/services/T/B/X", "smtp-pass", "token")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The config exactly as the release values carry it, its credential paths moved under TMP_PATH."""
    args = MonitoringStackArgs(receivers=RECEIVERS, credentials=CREDENTIALS)
    config = release_values(args)["alertmanager"]["config"]
    mounted, local = secret_dir(args.receivers_secret_name), tmp_path / "secrets"
    local.mkdir()
    for key in (PAGERDUTY_KEY, SLACK_KEY, SMTP_PASSWORD_KEY, WEBHOOK_TOKEN_KEY):
        (local / key).write_text("dummy\n")
    text = yaml.safe_dump(config, sort_keys=False)
    assert text.count(mounted) == 4, "every receiver credential is read from the mounted Secret"
    path = tmp_path / "alertmanager.yaml"
    path.write_text(text.replace(mounted, str(local)))
    return path


def _amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([need_tool("amtool"), *args], capture_output=True, text=True, timeout=60)


def _route(config: Path, *labels: str) -> str:
    result = _amtool("config", "routes", "test", f"--config.file={config}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_config_passes_amtool_check(config_file):
    """The values' Alertmanager config, with its `*_file` credentials, is accepted by amtool."""
    result = _amtool("check-config", str(config_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "5 receivers" in result.stdout


@pytest.mark.parametrize(("severity", "receiver"), [("critical", "pagerduty"), ("warning", "slack"), ("info", "email")])
def test_severity_routes_to_its_receiver(config_file, severity, receiver):
    """X-11: critical pages, warning goes to Slack, info to email."""
    assert _route(config_file, f"severity={severity}", "service=docc2context") == receiver
    assert receivers_of("docc2context", severity) == [receiver]


@pytest.mark.parametrize("severity", ["critical", "warning", "info"])
def test_webhook_gets_a_copy_for_its_services(config_file, severity):
    """S1-11: agent-skeptic-bench alerts also reach the webhook, on top of their severity receiver."""
    expected = receivers_of("agent-skeptic-bench", severity)
    assert expected[0] == "webhook"
    assert _route(config_file, f"severity={severity}", "service=agent-skeptic-bench") == ",".join(expected)


def test_unknown_severity_and_watchdog(config_file):
    """An alert without a known severity still reaches chat; the always-firing Watchdog reaches nobody."""
    assert _route(config_file, "alertname=SomethingNew") == "slack"
    assert _route(config_file, "alertname=Watchdog", "severity=none") == "null"


def test_a_wrong_expectation_fails(config_file):
    """amtool's own verification rejects a wrong receiver, so the routing checks above can fail."""
    result = _amtool(
        "config", "routes", "test", f"--config.file={config_file}", "--verify.receivers=slack", "severity=critical"
    )
    assert result.returncode != 0
