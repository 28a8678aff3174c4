"""Alertmanager's routing and receivers (X-11, S1-11): where each alert goes, and the credentials it needs.

Alertmanager routes by `severity`: `critical` pages (PagerDuty), `warning` goes to Slack, `info` to email; a
webhook receiver can get a copy of chosen services' alerts. Receiver credentials live in a Secret mounted into
Alertmanager and are read through the `*_file` fields: the configuration (and so the Helm values and the
Pulumi state of the release) holds only file paths.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

SECRET_MOUNT_ROOT = "/etc/alertmanager/secrets"
RECEIVER_BY_SEVERITY = {"critical": "pagerduty", "warning": "slack", "info": "email"}
WEBHOOK_RECEIVER = "webhook"
NULL_RECEIVER = "null"
# Always-firing alerts of the chart's own rules, meant for inhibition and dead-man's switches, not people.
SILENCED_ALERTS = ("Watchdog", "InfoInhibitor")

# Keys of the receiver-credentials Secret; Alertmanager reads each as a file.
PAGERDUTY_KEY = "pagerduty-routing-key"
SLACK_KEY = "slack-api-url"
SMTP_PASSWORD_KEY = "smtp-password"
WEBHOOK_TOKEN_KEY = "webhook-token"


@dataclass(frozen=True)
class AlertReceivers:
    """Where alerts go; nothing here is a credential."""

    slack_channel: str
    """Channel for `warning` alerts, e.g. `#alerts`."""
    email_to: str
    """Recipient of `info` alerts."""
    email_from: str
    """Sender address of alert emails."""
    smtp_smarthost: str
    """SMTP relay as `host:port`."""
    smtp_username: str
    """SMTP login; its password is a credential."""
    smtp_require_tls: bool = True
    """Refuse to send alert emails over an unencrypted SMTP connection."""
    webhook_url: str | None = None
    """Endpoint that receives a copy of alerts; authenticated with a bearer token."""
    webhook_services: Sequence[str] = ()
    """Services (value of the `service` label) whose alerts also go to the webhook; empty sends all."""

    def __post_init__(self) -> None:
        if ":" not in self.smtp_smarthost:
            raise ValueError(f"smtp_smarthost must be host:port, got {self.smtp_smarthost!r}")
        if self.webhook_url is not None and not self.webhook_url.startswith("https://"):
            raise ValueError(f"webhook_url must be an https:// URL, got {self.webhook_url!r}")


@dataclass(frozen=True)
class ReceiverCredentials:
    """Receiver credentials (Pulumi secrets); written only into a Kubernetes Secret."""

    pagerduty_routing_key: pulumi.Input[str]
    """PagerDuty Events API v2 integration key."""
    slack_api_url: pulumi.Input[str]
    """Slack incoming-webhook URL (the URL is the credential)."""
    smtp_password: pulumi.Input[str]
    """Password of `smtp_username` at the SMTP relay."""
    webhook_token: pulumi.Input[str] | None = None
    """Bearer token for the webhook receiver; required when a webhook URL is set."""


def alertmanager_config(receivers: AlertReceivers, secret_dir: str) -> dict[str, Any]:
    """Alertmanager configuration whose credentials are files under SECRET_DIR."""
    routes: list[dict[str, Any]] = [
        {"receiver": NULL_RECEIVER, "matchers": [f'alertname=~"{"|".join(SILENCED_ALERTS)}"']},
    ]
    if receivers.webhook_url:
        routes.append(_webhook_route(receivers.webhook_services))
    routes += [
        {"receiver": receiver, "matchers": [f'severity="{severity}"']}
        for severity, receiver in RECEIVER_BY_SEVERITY.items()
    ]
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            # An alert without a known severity still reaches people, in chat.
            "receiver": RECEIVER_BY_SEVERITY["warning"],
            "group_by": ["namespace", "alertname"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "inhibit_rules": _inhibit_rules(),
        "receivers": _receivers(receivers, secret_dir),
    }


def _webhook_route(services: Sequence[str]) -> dict[str, Any]:
    # `continue` keeps the severity routes below in force for the same alert.
    route: dict[str, Any] = {"receiver": WEBHOOK_RECEIVER, "continue": True}
    if services:
        route["matchers"] = [f'service=~"{"|".join(re.escape(s) for s in services)}"']
    return route


def _inhibit_rules() -> list[dict[str, Any]]:
    """A louder alert of the same name and namespace mutes the quieter ones."""
    return [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": ["namespace", "alertname"],
        },
        {
            "source_matchers": ['severity="warning"'],
            "target_matchers": ['severity="info"'],
            "equal": ["namespace", "alertname"],
        },
        {
            "source_matchers": ['alertname="InfoInhibitor"'],
            "target_matchers": ['severity="info"'],
            "equal": ["namespace"],
        },
    ]


def _receivers(receivers: AlertReceivers, secret_dir: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"name": NULL_RECEIVER},
        {
            "name": RECEIVER_BY_SEVERITY["critical"],
            "pagerduty_configs": [
                {
                    "routing_key_file": f"{secret_dir}/{PAGERDUTY_KEY}",
                    "send_resolved": True,
                    "description": "{{ .CommonAnnotations.summary }}",
                    "details": {"runbook": "{{ .CommonAnnotations.runbook_url }}"},
                }
            ],
        },
        {
            "name": RECEIVER_BY_SEVERITY["warning"],
            "slack_configs": [
                {
                    "api_url_file": f"{secret_dir}/{SLACK_KEY}",
                    "channel": receivers.slack_channel,
                    "send_resolved": True,
                    "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.service }})",
                    "text": (
                        "{{ range .Alerts }}{{ .Annotations.description }}\n"
                        "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
                    ),
                }
            ],
        },
        {
            "name": RECEIVER_BY_SEVERITY["info"],
            "email_configs": [
                {
                    "to": receivers.email_to,
                    "from": receivers.email_from,
                    "smarthost": receivers.smtp_smarthost,
                    "auth_username": receivers.smtp_username,
                    "auth_password_file": f"{secret_dir}/{SMTP_PASSWORD_KEY}",
                    "require_tls": receivers.smtp_require_tls,
                    "send_resolved": True,
                }
            ],
        },
    ]
    if receivers.webhook_url:
        # The URL is an endpoint, not a secret; the bearer token is the credential. (`url_file` would also
        # work on the deployed Alertmanager, but not on the amtool that validates this config offline.)
        found.append(
            {
                "name": WEBHOOK_RECEIVER,
                "webhook_configs": [
                    {
                        "url": receivers.webhook_url,
                        "send_resolved": True,
                        "http_config": {
                            "authorization": {"type": "Bearer", "credentials_file": f"{secret_dir}/{WEBHOOK_TOKEN_KEY}"}
                        },
                    }
                ],
            }
        )
    return found


def secret_dir(secret_name: str) -> str:
    """Where the Prometheus Operator mounts a Secret listed in `alertmanagerSpec.secrets`."""
    return f"{SECRET_MOUNT_ROOT}/{secret_name}"


def receiver_secret_data(credentials: ReceiverCredentials) -> dict[str, pulumi.Input[str]]:
    """The receiver-credentials Secret's keys, each read by Alertmanager as a file of `secret_dir`."""
    data: dict[str, pulumi.Input[str]] = {
        PAGERDUTY_KEY: credentials.pagerduty_routing_key,
        SLACK_KEY: credentials.slack_api_url,
        SMTP_PASSWORD_KEY: credentials.smtp_password,
    }
    if credentials.webhook_token is not None:
        data[WEBHOOK_TOKEN_KEY] = credentials.webhook_token
    return data
