"""Explicit providers built from settings; components never create their own."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.image_pinning import Pinning
from settings import PROJECT, ClusterCredentials, ClusterStack, Settings


@dataclass
class Providers:
    """The Kubernetes provider, the cluster's IRSA identity provider, image pinning and tagged AWS providers."""

    settings: Settings
    kubernetes: k8s.Provider
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    cluster_stack: pulumi.StackReference | None = None
    """The cluster team's stack (`cluster.stack`), when the cluster is reached through it."""
    images: Pinning = field(init=False)
    """How images are deployed: by tag, or pinned to digests (ECR ones read through the AWS API)."""
    _aws: dict[str, aws.Provider] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.images = Pinning(self.settings.pin_images, self.aws("images") if self.settings.pin_images else None)

    def eks_cluster_name(self) -> pulumi.Output[str]:
        """The EKS cluster's name: `cluster.name`, else the cluster stack's `clusterName` output (settings refuse a
        cluster reached by context alone when something needs the name)."""
        if self.settings.cluster.name:
            return pulumi.Output.from_input(self.settings.cluster.name)
        if self.cluster_stack is None:
            raise ValueError("the EKS cluster's name is unknown: set ai-platform:cluster.name")
        return self.cluster_stack.require_output("clusterName")

    def aws(self, owner: str, region: str | None = None) -> aws.Provider:
        """AWS provider tagging everything it creates with project, stack and OWNER (the `service` tag), in the
        stack's region or REGION."""
        name = f"aws-{owner}" if region in (None, self.settings.region) else f"aws-{owner}-{region}"
        if name not in self._aws:
            self._aws[name] = aws.Provider(
                name,
                region=region or self.settings.region,
                default_tags={"tags": {"project": PROJECT, "stack": self.settings.stack, "service": owner}},
            )
        return self._aws[name]


def build(settings: Settings) -> Providers:
    match settings.cluster:
        case ClusterStack(stack=stack):
            # The cluster team's stack exports how to reach the cluster and its IRSA identity provider.
            reference = pulumi.StackReference("cluster", stack_name=stack)
            kubeconfig: pulumi.Output[str] = pulumi.Output.secret(reference.require_output("kubeconfig"))
            return Providers(
                settings,
                _kubernetes(settings, kubeconfig=kubeconfig),
                reference.require_output("oidcProviderArn"),
                reference.require_output("oidcIssuerUrl"),
                cluster_stack=reference,
            )
        case ClusterCredentials() as cluster:
            connection = {"kubeconfig": cluster.kubeconfig} if cluster.kubeconfig else {"context": cluster.context}
            return Providers(
                settings,
                _kubernetes(settings, **connection),
                pulumi.Output.from_input(cluster.oidc_provider_arn),
                pulumi.Output.from_input(cluster.oidc_issuer_url),
            )


def _kubernetes(settings: Settings, **connection: pulumi.Input[str] | None) -> k8s.Provider:
    """The cluster's provider. `clusterIdentifier` names the cluster, so new credentials for the same cluster
    (a rotated kubeconfig) update the provider instead of replacing it and every resource on it."""
    return k8s.Provider("kubernetes", cluster_identifier=settings.cluster.identifier, **connection)
