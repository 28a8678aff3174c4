"""One service: its namespaces, Secrets, data stores, apps, alerts and dashboards, and the flows between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.app_secret import AppSecret, AppSecretArgs
from components.network_policies import Flow
from components.service_group import ServiceGroup, ServiceGroupArgs
from components.tenant_namespace import TenantNamespace, TenantNamespaceArgs
from settings import ServiceSettings
from wiring import capacity
from wiring.context import PlatformContext, ServiceContext
from wiring.data import deploy_stores
from wiring.delivery import DeliveredApp, deploy_app
from wiring.isolation import deploy_service_isolation
from wiring.observability import deploy_service_observability


@dataclass(frozen=True)
class DeployedService:
    """A service as deployed: its apps (for the public routes) and its stack outputs."""

    apps: dict[str, DeliveredApp]
    flows: list[Flow]
    """Every connection the service's pods open or accept."""
    outputs: dict[str, Any]
    """Namespaces, apps and stores: names and hosts, never secret values."""


def deploy_service(platform: PlatformContext, service: ServiceSettings) -> DeployedService:
    """Declare SERVICE: namespaces first, then what lives in them, then the flows between what was declared."""
    group = ServiceGroup(service.spec.name, ServiceGroupArgs(service.spec.namespaces), platform.kubernetes)
    ctx = ServiceContext(platform, service, group, _namespaces(platform, service, group))
    _deploy_secrets(ctx)
    deploy_service_observability(ctx)
    stores = deploy_stores(ctx)
    apps = {name: deploy_app(ctx, app) for name, app in service.apps.items()}
    flows = deploy_service_isolation(ctx, apps, stores)
    outputs = {
        "namespaces": list(service.spec.namespaces),
        "apps": {name: _app_outputs(app) for name, app in apps.items()},
        **stores.outputs,
    }
    return DeployedService(apps, flows, outputs)


def _namespaces(platform: PlatformContext, service: ServiceSettings, group: ServiceGroup) -> dict[str, TenantNamespace]:
    settings = platform.settings
    data = {store.spec.namespace for store in (service.database, service.cache) if store is not None}
    return {
        name: TenantNamespace(
            name,
            TenantNamespaceArgs(
                quota=capacity.quota(service, name),
                labels={"app.kubernetes.io/part-of": service.spec.name},
                # Deleting a namespace deletes the volumes in it: where data lives, only a human may.
                protect=settings.protect_data and name in data,
            ),
            group.child_options(platform.kubernetes),
        )
        for name in service.spec.namespaces
    }


def _deploy_secrets(ctx: ServiceContext) -> None:
    """The service's own Secrets: configured provider keys and generated tokens."""
    for secret in ctx.service.spec.secrets:
        for namespace in secret.namespaces:
            AppSecret(
                f"{namespace}-{secret.name}",
                AppSecretArgs(
                    namespace=ctx.namespace_ref(namespace),
                    secret_name=secret.name,
                    values={key: ctx.settings.secrets[source.config_key] for key, source in secret.from_config.items()},
                    generated=dict(secret.generated),
                    labels=ctx.labels,
                ),
                ctx.kubernetes,
            )


def _app_outputs(app: DeliveredApp) -> dict[str, Any]:
    return {"namespace": app.namespace, "url": app.url, **app.outputs}
