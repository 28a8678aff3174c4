"""Wiring of observability: the monitoring stack and each service's alert rules and dashboards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi

from components.alert_rules import AlertRules, AlertRulesArgs
from components.dashboards import Dashboards, DashboardsArgs
from components.monitoring_stack import AlertReceivers, MonitoringStack, MonitoringStackArgs, ReceiverCredentials
from components.network_policies import Flow
from components.tenant_namespace import TenantNamespace
from services import observability
from services.common import ALERTING_SECRETS, MONITORING_NAMESPACE
from settings import ServiceSettings, Settings


def deploy_monitoring_stack(
    settings: Settings, flows: Sequence[Flow], opts: pulumi.ResourceOptions
) -> MonitoringStack | None:
    """kube-prometheus-stack with severity routing (X-10, X-11); None when the cluster team runs it.

    FLOWS: the platform's connections; its namespaces allow those that start or end there (X-07).
    """
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
                webhook_services=observability.WEBHOOK_SERVICES,
            ),
            credentials=ReceiverCredentials(
                pagerduty_routing_key=secret[ALERTING_SECRETS["pagerduty"].config_key],
                slack_api_url=secret[ALERTING_SECRETS["slack"].config_key],
                smtp_password=secret[ALERTING_SECRETS["smtp"].config_key],
                webhook_token=secret.get(ALERTING_SECRETS["webhook"].config_key),
            ),
            namespace=MONITORING_NAMESPACE,
            flows=flows,
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


def deploy_service_observability(
    service: ServiceSettings,
    settings: Settings,
    namespaces: Mapping[str, TenantNamespace],
    opts: pulumi.ResourceOptions,
) -> None:
    """The service's PrometheusRule and dashboard ConfigMaps, once their namespace exists."""
    name = service.spec.name
    entry = observability.catalog()[name]
    runbooks = settings.monitoring.runbookBaseUrl or f"https://runbooks.{settings.domain}"
    inside = pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(depends_on=[namespaces[entry.namespace].namespace])
    )
    AlertRules(
        f"{name}-alerts", AlertRulesArgs(entry.namespace, name, observability.alert_specs(name, runbooks)), inside
    )
    Dashboards(
        f"{name}-dashboards", DashboardsArgs(entry.namespace, entry.dashboards, folder=name, part_of=name), inside
    )
