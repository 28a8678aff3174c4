"""The secrets an operator sets (`pulumi config set --secret`): which the stack needs, which are missing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from services.spec import ConfigSecret, ServiceSpec
from settings.errors import PROJECT, config_key

# Alert receiver credentials (X-11, S1-11), needed while this program runs the monitoring stack.
ALERTING_SECRETS = {
    "pagerduty": ConfigSecret("pagerdutyRoutingKey", "PagerDuty Events v2 routing key (critical alerts)"),
    "slack": ConfigSecret("slackApiUrl", "Slack incoming-webhook URL (warning alerts)"),
    "smtp": ConfigSecret("smtpPassword", "SMTP password of the alert e-mails (info alerts)"),
    "webhook": ConfigSecret("webhookToken", "bearer token of the alert webhook (when alerting.webhookUrl is set)"),
}

Needed = dict[str, tuple[ConfigSecret, list[str]]]
"""Config secret key -> (the secret, who needs it)."""


def requirements(
    catalog: Mapping[str, ServiceSpec], services: Iterable[str], monitoring: bool, webhook: bool
) -> Needed:
    """The secrets of the enabled SERVICES, and the alert receivers' while MONITORING runs here."""
    needed: Needed = {}
    for service in services:
        for secret in catalog[service].config_secrets:
            needed.setdefault(secret.config_key, (secret, []))[1].append(service)
    if monitoring:
        for name, secret in ALERTING_SECRETS.items():
            if name != "webhook" or webhook:
                needed[secret.config_key] = (secret, ["alerting"])
    return needed


def required_secret_keys(catalog: Mapping[str, ServiceSpec], values: Mapping[str, Any]) -> list[str]:
    """Fully qualified config secrets a stack needs, given its stack-file config VALUES (for offline renders)."""

    def structured(key: str) -> dict[str, Any]:
        return _section(values.get(config_key(key)))

    overrides = structured("services")
    needed = requirements(
        catalog,
        [name for name in catalog if _section(overrides.get(name)).get("enabled", True) is not False],
        monitoring=structured("addons").get("monitoring", True) is not False,
        webhook=bool(structured("alerting").get("webhookUrl")),
    )
    return sorted(f"{PROJECT}:{key}" for key in needed)


def unused(catalog: Mapping[str, ServiceSpec], needed: Needed, monitoring: bool) -> list[str]:
    """Warnings for the secrets that are set but that no enabled feature uses: a leftover credential is still a
    credential (rotate it where it was issued, then remove it)."""
    users: dict[str, list[str]] = {}
    for name, spec in catalog.items():
        for secret in spec.config_secrets:
            users.setdefault(secret.config_key, []).append(name)
    why = {
        key: f"used only by {', '.join(names)}, {'which is' if len(names) == 1 else 'which are'} disabled"
        for key, names in users.items()
    }
    for name, secret in ALERTING_SECRETS.items():
        why[secret.config_key] = (
            "alerting.webhookUrl is not set" if name == "webhook" and monitoring else "addons.monitoring is off"
        )
    return [
        f"{PROJECT}:{key} is set but nothing uses it ({reason}); remove it with `pulumi config rm {key}`"
        for key, reason in sorted(why.items())
        if key not in needed and pulumi.runtime.get_config(f"{PROJECT}:{key}")
    ]


def _section(value: Any) -> dict[str, Any]:
    """A structured value as a map (what validation will refuse reads as empty here)."""
    return value if isinstance(value, dict) else {}


def known_secret_keys(catalog: Mapping[str, ServiceSpec]) -> set[str]:
    secrets = [*ALERTING_SECRETS.values(), *(s for spec in catalog.values() for s in spec.config_secrets)]
    return {f"{PROJECT}:{s.config_key}" for s in secrets}


@dataclass(frozen=True)
class MissingSecrets:
    commands: list[str]
    """`pulumi config set --secret` commands for the unset ones."""
    plain: list[str]
    """Problems: secrets stored in plain text."""


def missing(needed: Needed) -> MissingSecrets:
    commands, plain = [], []
    for key, (secret, users) in sorted(needed.items()):
        full = f"{PROJECT}:{key}"
        if not pulumi.runtime.get_config(full):  # the project default "" means unset
            commands.append(f"pulumi config set --secret {key} <value>   # {secret.description} ({', '.join(users)})")
        elif not pulumi.runtime.is_config_secret(full):
            plain.append(f"{full}: is stored in plain text; set it again with `pulumi config set --secret {key}`")
    return MissingSecrets(commands, plain)
