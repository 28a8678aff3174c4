"""Wiring of observability: the monitoring stack and each service's alert rules and dashboards."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.alert_routing import RECEIVER_BY_SEVERITY, WEBHOOK_RECEIVER, AlertReceivers, ReceiverCredentials
from components.alert_rules import AlertRules, AlertRulesArgs
from components.dashboards import Dashboards, DashboardsArgs
from components.monitoring_stack import MonitoringStack, MonitoringStackArgs
from components.network_policies import Flow
from services import CATALOG
from services.conventions import MONITORING_NAMESPACE
from settings import Settings
from wiring.context import ServiceContext


def deploy_monitoring_stack(
    settings: Settings, flows: Sequence[Flow], opts: pulumi.ResourceOptions
) -> MonitoringStack | None:
    """kube-prometheus-stack with severity routing (X-10, X-11); None when the cluster team runs it.

    FLOWS: the platform's connections; its namespaces allow those that start or end there (X-07).
    """
    if settings.monitoring is None:
        return None
    alerting, monitoring = settings.monitoring.alerting, settings.monitoring.config
    credentials = settings.monitoring.credentials
    return MonitoringStack(
        "monitoring",
        MonitoringStackArgs(
            receivers=AlertReceivers(
                slack_channel=alerting.slack_channel,
                email_to=alerting.email_to,
                email_from=alerting.email_from,
                smtp_smarthost=alerting.smtp_smarthost,
                smtp_username=alerting.smtp_username,
                webhook_url=alerting.webhook_url,
                webhook_services=webhook_services(),
            ),
            credentials=ReceiverCredentials(
                pagerduty_routing_key=credentials["pagerduty"],
                slack_api_url=credentials["slack"],
                smtp_password=credentials["smtp"],
                webhook_token=credentials.get("webhook"),
            ),
            namespace=MONITORING_NAMESPACE,
            flows=flows,
            retention=monitoring.retention,
            retention_size=monitoring.retention_size,
            storage_class=monitoring.storage_class,
            prometheus_storage_size=monitoring.prometheus_storage_size,
            prometheus_replicas=monitoring.prometheus_replicas,
            alertmanager_replicas=monitoring.alertmanager_replicas,
            alertmanager_storage_size=monitoring.alertmanager_storage_size,
            grafana_root_url=f"https://grafana.{settings.domain}",
            prometheus_external_url=f"https://prom.{settings.domain}",
            protect=settings.protect_data,
            retain_on_delete=settings.protect_data,
        ),
        opts,
    )


def deploy_service_observability(ctx: ServiceContext) -> None:
    """The service's PrometheusRule and dashboard ConfigMaps, once their namespace exists."""
    name, settings, spec = ctx.name, ctx.settings, ctx.service.spec
    namespace = spec.observability_namespace
    runbooks = settings.runbook_base_url
    inside = pulumi.ResourceOptions.merge(
        ctx.after_operators, pulumi.ResourceOptions(depends_on=[ctx.namespaces[namespace].namespace])
    )
    alerts = [alert.spec(name, runbooks) for alert in spec.observability.alerts]
    AlertRules(f"{name}-alerts", AlertRulesArgs(namespace, name, alerts), inside)
    Dashboards(
        f"{name}-dashboards",
        DashboardsArgs(namespace, spec.observability.dashboards, folder=name, part_of=name),
        inside,
    )


def webhook_services() -> tuple[str, ...]:
    """Services whose alerts also go to the webhook receiver (S1-11)."""
    return tuple(name for name, spec in CATALOG.items() if spec.observability.webhook)


def receivers_of(service: str, severity: str) -> list[str]:
    """Receivers an alert of SERVICE with SEVERITY reaches, as the Alertmanager config routes it."""
    webhook = [WEBHOOK_RECEIVER] if service in webhook_services() else []
    return [*webhook, RECEIVER_BY_SEVERITY[severity]]
