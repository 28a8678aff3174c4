"""The context every wiring step receives: what the platform provides, and for one service, its namespaces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.backup_bucket import BackupBucket
from components.image_pinning import Pinning
from components.monitoring_stack import MonitoringStack
from components.service_group import ServiceGroup
from components.tenant_namespace import TenantNamespace
from providers import Providers
from settings import ServiceSettings, Settings


@dataclass(frozen=True)
class PlatformContext:
    """What every service builds on."""

    settings: Settings
    providers: Providers
    operators: tuple[pulumi.Resource, ...]
    """Operator releases whose CRDs the custom resources need: those resources wait for them."""
    monitoring: MonitoringStack | None
    """The monitoring stack, when this program runs it."""
    bucket: BackupBucket | None
    """The stack's backup bucket, when a service has a database."""

    @property
    def pin(self) -> Pinning:
        """How images are deployed: by tag or by digest."""
        return self.providers.images

    @property
    def kubernetes(self) -> pulumi.ResourceOptions:
        """Options of resources in the cluster."""
        return pulumi.ResourceOptions(provider=self.providers.kubernetes)

    @property
    def after_operators(self) -> pulumi.ResourceOptions:
        """Options of cluster resources that may declare custom resources (they wait for the operators)."""
        return pulumi.ResourceOptions(provider=self.providers.kubernetes, depends_on=list(self.operators))


@dataclass(frozen=True)
class ServiceContext:
    """One enabled service being wired: the platform, its settings, its group and its namespaces."""

    platform: PlatformContext
    service: ServiceSettings
    group: ServiceGroup
    """The parent of everything the service declares."""
    namespaces: Mapping[str, TenantNamespace]
    """Namespace name -> its TenantNamespace."""

    @property
    def kubernetes(self) -> pulumi.ResourceOptions:
        """Options of the service's resources in the cluster (children of its group)."""
        return self.group.child_options(self.platform.kubernetes)

    @property
    def after_operators(self) -> pulumi.ResourceOptions:
        """Options of the service's resources that may declare custom resources (they wait for the operators)."""
        return self.group.child_options(self.platform.after_operators)

    @property
    def name(self) -> str:
        return self.service.spec.name

    @property
    def settings(self) -> Settings:
        return self.platform.settings

    @property
    def labels(self) -> dict[str, str]:
        """Labels of everything the service owns."""
        return {"app.kubernetes.io/part-of": self.name}

    def namespace_ref(self, name: str) -> pulumi.Output[str]:
        """The name of namespace NAME as an output, so what is placed there waits for the Namespace."""
        return self.namespaces[name].namespace.metadata.name
