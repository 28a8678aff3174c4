"""Wiring of observability: the monitoring stack and each service's alert rules and dashboards."""

from __future__ import annotations

import pulumi

from components.alert_rules import AlertRules, AlertRulesArgs
from components.dashboards import Dashboards, DashboardsArgs
from components.monitoring_stack import (
    RECEIVER_BY_SEVERITY,
    WEBHOOK_RECEIVER,
    AlertReceivers,
    MonitoringStack,
    MonitoringStackArgs,
    ReceiverCredentials,
)
from services import CATALOG
from services.conventions import ALERTING_SECRETS, MONITORING_NAMESPACE
from settings import Settings
from wiring.context import ServiceContext


def deploy_monitoring_stack(settings: Settings, opts: pulumi.ResourceOptions) -> MonitoringStack | None:
    """kube-prometheus-stack with severity routing (X-10, X-11); None when the cluster team runs it."""
    if not settings.addons.monitoring:
        return None
    alerting, monitoring = settings.alerting, settings.monitoring
    assert alerting is not None  # settings require it with the add-on
    secret = settings.secrets
    return MonitoringStack(
        "monitoring",
        MonitoringStackArgs(
            receivers=AlertReceivers(
                slack_channel=alerting.slackChannel,
                email_to=alerting.emailTo,
                email_from=alerting.emailFrom,
                smtp_smarthost=alerting.smtpSmarthost,
                smtp_username=alerting.smtpUsername,
                webhook_url=alerting.webhookUrl,
                webhook_services=webhook_services(),
            ),
            credentials=ReceiverCredentials(
                pagerduty_routing_key=secret[ALERTING_SECRETS["pagerduty"].config_key],
                slack_api_url=secret[ALERTING_SECRETS["slack"].config_key],
                smtp_password=secret[ALERTING_SECRETS["smtp"].config_key],
                webhook_token=secret.get(ALERTING_SECRETS["webhook"].config_key),
            ),
            namespace=MONITORING_NAMESPACE,
            retention=monitoring.retention,
            retention_size=monitoring.retentionSize,
            storage_class=monitoring.storageClass,
            prometheus_storage_size=monitoring.prometheusStorageSize,
            prometheus_replicas=monitoring.prometheusReplicas,
            alertmanager_replicas=monitoring.alertmanagerReplicas,
            alertmanager_storage_size=monitoring.alertmanagerStorageSize,
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
    runbooks = settings.monitoring.runbookBaseUrl or f"https://runbooks.{settings.domain}"
    inside = pulumi.ResourceOptions.merge(
        ctx.platform.after_operators, pulumi.ResourceOptions(depends_on=[ctx.namespaces[namespace].namespace])
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
