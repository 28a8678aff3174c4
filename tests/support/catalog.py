"""Expectations derived from the catalog (services/) rather than copied into the tests."""

from __future__ import annotations

from components.alert_rules import Alert, AlertSpec
from components.dashboards import DashboardSpec
from services import CATALOG

SERVICES = sorted(CATALOG)


def alerts(service: str) -> tuple[Alert, ...]:
    return CATALOG[service].observability.alerts


def dashboards(service: str) -> tuple[DashboardSpec, ...]:
    return CATALOG[service].observability.dashboards


def alert_specs(service: str, runbook_base_url: str) -> list[AlertSpec]:
    """The rules AlertRules declares for SERVICE, as the wiring builds them."""
    return [alert.spec(service, runbook_base_url) for alert in alerts(service)]
