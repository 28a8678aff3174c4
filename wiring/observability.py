"""Wiring of observability: the monitoring stack, each service's alert rules and dashboards, and the log stack's."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.alert_routing import RECEIVER_BY_SEVERITY, WEBHOOK_RECEIVER, AlertReceivers, ReceiverCredentials
from components.alert_rules import AlertRules, AlertRulesArgs
from components.backup_bucket import BackupBucket, backup_prefix
from components.dashboards import Dashboards, DashboardsArgs
from components.log_observability import log_stack_alerts, log_stack_dashboard
from components.metrics_copy import MetricsCopy
from components.monitoring_stack import MonitoringStack, MonitoringStackArgs
from components.network_policies import Flow
from services import CATALOG
from services.conventions import LOG_SHIPPING_NAMESPACE, LOGGING_NAMESPACE, MONITORING_NAMESPACE
from services.spec import Observability
from settings import Settings
from settings.models import METRICS_OWNER
from wiring.context import ServiceContext
from wiring.data import prometheus_copy_role

LOG_STACK = "logging"
"""The `service` label of the log stack's alerts (and its runbooks' folder)."""


def deploy_monitoring_stack(
    settings: Settings, flows: Sequence[Flow], bucket: BackupBucket, opts: pulumi.ResourceOptions
) -> MonitoringStack | None:
    """kube-prometheus-stack with severity routing (X-10, X-11), its blocks copied to BUCKET (S3-11) and Grafana's
    state on a volume; None when the cluster team runs it.

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
            metrics_copy=MetricsCopy(
                bucket=bucket.bucket_name,
                prefix=backup_prefix("daily", METRICS_OWNER).rstrip("/"),
                region=settings.region,
                kms_key_arn=bucket.kms_key_arn,
                role_arn=bucket.role_arns[prometheus_copy_role(settings)],
            ),
            alertmanager_replicas=monitoring.alertmanager_replicas,
            alertmanager_storage_size=monitoring.alertmanager_storage_size,
            grafana_storage_size=monitoring.grafana_storage_size,
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
    deploy_rules_and_dashboards(name, namespace, spec.observability, runbooks, name, inside)


def deploy_rules_and_dashboards(
    name: str,
    namespace: str,
    observability: Observability,
    runbook_base_url: str,
    part_of: str,
    opts: pulumi.ResourceOptions,
) -> None:
    """NAME's PrometheusRule (its alerts labelled `service: NAME`) and dashboard ConfigMaps in NAMESPACE."""
    alerts = [alert.spec(name, runbook_base_url) for alert in observability.alerts]
    AlertRules(f"{name}-alerts", AlertRulesArgs(namespace, name, alerts), opts)
    Dashboards(
        f"{name}-dashboards",
        DashboardsArgs(namespace, observability.dashboards, folder=name, part_of=part_of),
        opts,
    )


def log_stack_observability() -> Observability:
    """The log stack's alerts and dashboard (S2-04, S2-05), in its namespace."""
    return Observability(
        alerts=tuple(log_stack_alerts(LOGGING_NAMESPACE, LOG_SHIPPING_NAMESPACE)),
        dashboards=(log_stack_dashboard(LOGGING_NAMESPACE, LOG_SHIPPING_NAMESPACE),),
        namespace=LOGGING_NAMESPACE,
    )


def watched() -> dict[str, Observability]:
    """Every alert set the program declares, by the `service` label of its alerts: each service's, the log
    stack's."""
    return {**{name: spec.observability for name, spec in CATALOG.items()}, LOG_STACK: log_stack_observability()}


def webhook_services() -> tuple[str, ...]:
    """Services whose alerts also go to the webhook receiver (S1-11)."""
    return tuple(name for name, spec in CATALOG.items() if spec.observability.webhook)


def receivers_of(service: str, severity: str) -> list[str]:
    """Receivers an alert of SERVICE with SEVERITY reaches, as the Alertmanager config routes it."""
    webhook = [WEBHOOK_RECEIVER] if service in webhook_services() else []
    return [*webhook, RECEIVER_BY_SEVERITY[severity]]
