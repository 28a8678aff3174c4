"""The whole platform: add-ons, monitoring, access, the backup bucket, every enabled service, the log stack, the
public routes."""

from __future__ import annotations

from typing import Any

import pulumi

from components.backup_bucket import BackupBucket
from components.metrics_server import MetricsServer, MetricsServerArgs
from components.monitoring_stack import MonitoringStack
from components.platform_addons import PlatformAddons, PlatformAddonsArgs
from components.public_route import PublicRoute
from providers import Providers
from services import CATALOG
from settings import Settings
from wiring.addon_flows import addon_flows
from wiring.addons import ADDONS
from wiring.context import PlatformContext
from wiring.data import deploy_backups
from wiring.delivery import deploy_routes
from wiring.isolation import deploy_addon_sides, deploy_cluster_access, public_backend_flows
from wiring.logging import deploy_logging
from wiring.observability import deploy_monitoring_stack
from wiring.service import DeployedService, deploy_service


def deploy_platform(settings: Settings, providers: Providers) -> dict[str, Any]:
    """Declare the add-ons, the backup bucket and every enabled service; returns the stack outputs."""
    kubernetes = pulumi.ResourceOptions(provider=providers.kubernetes)
    flows = addon_flows(settings)
    bucket = deploy_backups(settings, providers) if _needs_bucket(settings) else None
    monitoring = deploy_monitoring_stack(settings, flows, bucket, kubernetes) if bucket else None
    addons = PlatformAddons(
        "addons",
        PlatformAddonsArgs(
            [addon for switch, addon in ADDONS.items() if getattr(settings.addons, switch)], flows=flows
        ),
        # The operators' charts declare ServiceMonitors/PodMonitors: the Prometheus Operator's CRDs come first.
        pulumi.ResourceOptions.merge(
            kubernetes, pulumi.ResourceOptions(depends_on=[monitoring.release] if monitoring else None)
        ),
    )
    deploy_cluster_access(settings, kubernetes)
    if settings.addons.metrics_server:
        # The metrics API every HPA and `kubectl top` read; EKS does not install it.
        MetricsServer(
            "metrics-server",
            MetricsServerArgs(providers.eks_cluster_name()),
            pulumi.ResourceOptions(provider=providers.aws("metrics-server")),
        )
    platform = PlatformContext(
        settings=settings,
        providers=providers,
        # Custom resources wait for the operators that define them.
        operators=(*addons.releases.values(), *([monitoring.release] if monitoring else [])),
        monitoring=monitoring,
        bucket=bucket,
    )
    services = {service.spec.name: deploy_service(platform, service) for service in settings.enabled_services}
    apps = {name: app for service in services.values() for name, app in service.apps.items()}
    logging = deploy_logging(platform)
    routes = deploy_routes(
        platform,
        apps,
        platform_hosts=logging.public_hosts if logging else (),
        platform_namespaces=logging.namespaces if logging else None,
    )
    owned = {name: ns.metadata.name for name, ns in addons.namespaces.items()}
    owned |= {name: ns.metadata.name for name, ns in (monitoring.namespaces if monitoring else {}).items()}
    service_flows = [flow for service in services.values() for flow in service.flows]
    log_flows = logging.flows if logging else []
    deploy_addon_sides(platform, [*service_flows, *public_backend_flows(settings, apps), *log_flows], owned)
    return _outputs(platform, services, routes)


def _needs_bucket(settings: Settings) -> bool:
    """The backup bucket holds the databases' backups, Prometheus' blocks (S3-11) and the log stack's snapshots."""
    has_database = any(service.database is not None for service in settings.enabled_services)
    return has_database or settings.monitoring is not None or settings.logging is not None


def _outputs(platform: PlatformContext, services: dict[str, DeployedService], routes: PublicRoute) -> dict[str, Any]:
    """The stack outputs (X-13, contract in contracts/stack-outputs.schema.json): every key in every stack,
    null where this stack has nothing (a disabled service, no database, monitoring run elsewhere)."""
    return {
        "environment": platform.settings.environment,
        "services": {name: services[name].outputs if name in services else None for name in CATALOG},
        "publicGateway": {"address": routes.address, "hosts": sorted(routes.urls)},
        "backupBucket": _bucket_outputs(platform.bucket),
        "monitoring": _monitoring_outputs(platform.monitoring),
    }


def _bucket_outputs(bucket: BackupBucket | None) -> dict[str, Any] | None:
    if bucket is None:
        return None
    return {"name": bucket.bucket_name, "arn": bucket.bucket_arn, "kmsKeyArn": bucket.kms_key_arn}


def _monitoring_outputs(monitoring: MonitoringStack | None) -> dict[str, Any] | None:
    if monitoring is None:
        return None
    return {
        "grafanaUrl": monitoring.grafana_url,
        "prometheusUrl": monitoring.prometheus_url,
        "alertmanagerUrl": monitoring.alertmanager_url,
        "grafanaAdminSecret": monitoring.grafana_admin_secret_name,
    }
