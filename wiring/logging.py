"""Wiring of log aggregation (S2-04, S2-05, X-07, X-15): `ai-platform:logging` into the log stack and its shipper.

- namespace `logging` (restricted, default deny, quota): Elasticsearch `elasticsearch` (Service
  `elasticsearch-es-http`), Kibana `kibana` (served at `https://kibana.<domain>` through the Gateway), the
  exporter, the snapshot setup Job and the daily restore check, the log stack's alerts and dashboard;
- namespace `log-shipping` (`privileged` enforced for the nodes' /var/log, audit and warn `restricted`, default
  deny, no quota: one pod per node): the Fluent Bit DaemonSet `fluent-bit`;
- snapshots in the stack's backup bucket under `managed/logging/` (Elasticsearch enforces their retention),
  written through the IRSA role `ai-platform-<stack>-logging-snapshots` (wiring/data.py);
- everything under one group `logging`, the flows between its pods from what the components publish
  (wiring/isolation.py);
- in `logging`, the team's read-only and on-call Roles as in a service namespace (S4-07, X-16): on-call runs the
  manuals' Elasticsearch calls inside an Elasticsearch pod as the `log-operator` user, whose password only that
  container has. No deploy Role: nothing there is released by hand, and a Job or pod made there could mount the
  `elastic` superuser's Secret.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.log_shipper import LogShipper, LogShipperArgs
from components.log_snapshots import DATA_STREAM, Snapshots
from components.log_stack import LogStack, LogStackArgs
from components.namespace_rbac import NamespaceRbac, NamespaceRbacArgs, oncall_rules_entering_only
from components.network_policies import Flow, NetworkPolicies, NetworkPoliciesArgs
from components.public_hosts import Backend, PublicHost
from components.service_group import ServiceGroup, ServiceGroupArgs
from components.tenant_namespace import TenantNamespace, TenantNamespaceArgs
from services.conventions import KIBANA_HOST_LABEL, LOG_SHIPPING_NAMESPACE, LOGGING_NAMESPACE
from versions import (
    ELASTICSEARCH_EXPORTER_IMAGE,
    ELASTICSEARCH_IMAGE,
    FLUENT_BIT_IMAGE,
    KIBANA_IMAGE,
    PYTHON_IMAGE,
)
from wiring.addons import CERT_MANAGER_NAMESPACE
from wiring.capacity import log_stack_quota
from wiring.context import PlatformContext
from wiring.data import snapshot_prefix, snapshot_role
from wiring.isolation import log_stack_flows
from wiring.observability import LOG_STACK, deploy_rules_and_dashboards, log_stack_observability

PART_OF = "ai-platform"
LABELS = {"app.kubernetes.io/part-of": PART_OF}


@dataclass(frozen=True)
class DeployedLogging:
    """The log stack as deployed: what the Gateway and the add-ons' policies need from it."""

    flows: list[Flow]
    """Every connection its pods open or accept (the add-ons' side is written with the services')."""
    public_hosts: list[PublicHost]
    """Kibana's host."""
    namespaces: dict[str, pulumi.Input[str]]
    """Namespace name -> its Namespace's name output (the Kibana route's ReferenceGrant waits for it)."""


def kibana_host(domain: str) -> str:
    return f"{KIBANA_HOST_LABEL}.{domain}"


def deploy_logging(platform: PlatformContext) -> DeployedLogging | None:
    """The log stack and its shipper; None while `logging.enabled` is false (or there is no bucket for it)."""
    settings, config, bucket = platform.settings, platform.settings.logging, platform.bucket
    if config is None or bucket is None:
        return None
    group = ServiceGroup(LOG_STACK, ServiceGroupArgs((LOGGING_NAMESPACE, LOG_SHIPPING_NAMESPACE)), platform.kubernetes)
    grouped = pulumi.ResourceOptions.merge(platform.kubernetes, pulumi.ResourceOptions(parent=group))
    namespace = TenantNamespace(
        LOGGING_NAMESPACE,
        TenantNamespaceArgs(quota=log_stack_quota(config), labels=LABELS, protect=settings.protect_data),
        grouped,
    )
    shipping = TenantNamespace(
        LOG_SHIPPING_NAMESPACE, TenantNamespaceArgs(quota=None, labels=LABELS, pod_security="privileged"), grouped
    )
    # The log stack declares custom resources (ECK's, cert-manager's, the Prometheus Operator's).
    operators = pulumi.ResourceOptions.merge(grouped, pulumi.ResourceOptions(depends_on=list(platform.operators)))
    inside = pulumi.ResourceOptions.merge(operators, pulumi.ResourceOptions(depends_on=[namespace.namespace]))
    deploy_rules_and_dashboards(
        LOG_STACK, LOGGING_NAMESPACE, log_stack_observability(), settings.runbook_base_url, PART_OF, inside
    )
    pin = platform.pin
    stack = LogStack(
        "logs",
        LogStackArgs(
            namespace=LOGGING_NAMESPACE,
            namespace_ref=namespace.namespace.metadata.name,
            snapshots=Snapshots(
                bucket=bucket.bucket_name,
                base_path=snapshot_prefix().rstrip("/"),
                region=settings.region,
                writer_role_arn=bucket.role_arns[snapshot_role(settings)],
                retention_days=config.snapshot_retention_days,
            ),
            ca_issuer_namespace=CERT_MANAGER_NAMESPACE,
            kibana_public_url=f"https://{kibana_host(settings.domain)}",
            nodes=config.nodes,
            memory=config.memory,
            cpu=config.cpu,
            storage_size=config.storage_size,
            storage_class=config.storage_class,
            retention_days=config.retention_days,
            kibana_replicas=config.kibana_replicas,
            elasticsearch_image=pin(ELASTICSEARCH_IMAGE),
            kibana_image=pin(KIBANA_IMAGE),
            exporter_image=pin(ELASTICSEARCH_EXPORTER_IMAGE),
            scripts_image=pin(PYTHON_IMAGE),
            part_of=PART_OF,
            protect=settings.protect_data,
        ),
        inside,
    )
    shipper = LogShipper(
        "log-shipper",
        LogShipperArgs(
            namespace=LOG_SHIPPING_NAMESPACE,
            namespace_ref=shipping.namespace.metadata.name,
            elasticsearch_host=stack.elasticsearch_host,
            data_stream=DATA_STREAM,
            username=stack.shipper_username,
            password=stack.shipper_password,
            ca_issuer=stack.ca_issuer,
            elasticsearch_port=stack.http_port,
            image=pin(FLUENT_BIT_IMAGE),
            part_of=PART_OF,
        ),
        pulumi.ResourceOptions.merge(operators, pulumi.ResourceOptions(depends_on=[shipping.namespace])),
    )
    flows = log_stack_flows(settings, stack, shipper)
    rbac = settings.rbac
    NamespaceRbac(
        f"{LOGGING_NAMESPACE}-rbac",
        NamespaceRbacArgs(
            namespace.namespace.metadata.name,
            rbac.operators_group,
            None,
            rbac.oncall_group,
            # Only into Elasticsearch, where the log-operator user is mounted: the snapshot jobs' pods hold a user
            # that may manage repositories.
            oncall_rules=oncall_rules_entering_only(stack.elasticsearch_pods),
            labels=LABELS,
        ),
        grouped,
    )
    for tenant in (namespace, shipping):
        NetworkPolicies(
            f"{tenant.name}-isolation",
            NetworkPoliciesArgs(tenant.name, flows, tenant.namespace.metadata.name, LABELS),
            grouped,
        )
    kibana = Backend(stack.kibana_service, LOGGING_NAMESPACE, stack.kibana_port)
    return DeployedLogging(
        flows,
        [PublicHost(kibana_host(settings.domain), settings.gateway.namespace, (kibana,))],
        {LOGGING_NAMESPACE: namespace.namespace.metadata.name},
    )
