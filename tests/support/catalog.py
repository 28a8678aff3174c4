"""Expectations derived from the catalog (services/) rather than copied into the tests."""

from __future__ import annotations

from components.alert_rules import Alert, AlertSpec
from components.dashboards import DashboardSpec
from services import CATALOG
from wiring.observability import watched

SERVICES = sorted(CATALOG)
WATCHED = sorted(watched())
"""Every set of alerts and dashboards, by its `service` label: the catalog's services and the log stack."""


def alerts(service: str) -> tuple[Alert, ...]:
    return watched()[service].alerts


def dashboards(service: str) -> tuple[DashboardSpec, ...]:
    return watched()[service].dashboards


def alert_specs(service: str, runbook_base_url: str) -> list[AlertSpec]:
    """The rules AlertRules declares for SERVICE, as the wiring builds them."""
    return [alert.spec(service, runbook_base_url) for alert in alerts(service)]
