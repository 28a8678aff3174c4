"""Explicit providers built from settings; components never create their own."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from settings import PROJECT, Settings


@dataclass
class Providers:
    """The Kubernetes provider and one AWS provider per service (so default tags name the service)."""

    settings: Settings
    kubernetes: k8s.Provider
    oidc_provider_arn: pulumi.Output[str] | None
    oidc_issuer_url: pulumi.Output[str] | None
    _aws: dict[str, aws.Provider] = field(default_factory=dict)

    def aws(self, service: str) -> aws.Provider:
        """AWS provider tagging everything it creates with project, stack and SERVICE."""
        if service not in self._aws:
            self._aws[service] = aws.Provider(
                f"aws-{service}",
                region=self.settings.region,
                default_tags={"tags": {"project": PROJECT, "stack": self.settings.stack, "service": service}},
            )
        return self._aws[service]


def build(settings: Settings) -> Providers:
    cluster = settings.cluster
    oidc_arn = pulumi.Output.from_input(cluster.oidc_provider_arn) if cluster.oidc_provider_arn else None
    oidc_url = pulumi.Output.from_input(cluster.oidc_issuer_url) if cluster.oidc_issuer_url else None
    if cluster.stack:
        # The cluster team's stack exports how to reach the cluster and its IRSA identity provider.
        reference = pulumi.StackReference("cluster", stack_name=cluster.stack)
        kubernetes = k8s.Provider("kubernetes", kubeconfig=pulumi.Output.secret(reference.require_output("kubeconfig")))
        oidc_arn = reference.require_output("oidcProviderArn")
        oidc_url = reference.require_output("oidcIssuerUrl")
    elif cluster.kubeconfig is not None:
        kubernetes = k8s.Provider("kubernetes", kubeconfig=cluster.kubeconfig)
    else:
        kubernetes = k8s.Provider("kubernetes", context=cluster.context)
    return Providers(settings, kubernetes, oidc_arn, oidc_url)
