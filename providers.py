"""Explicit providers built from settings; components never create their own."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker
import pulumi_kubernetes as k8s

from services.images import Pinning
from settings import PROJECT, Settings

_ECR_HOST = re.compile(r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$")


@dataclass
class Providers:
    """The Kubernetes provider, the cluster's IRSA identity provider, image pinning and tagged AWS providers."""

    settings: Settings
    kubernetes: k8s.Provider
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    images: Pinning = field(init=False)
    """How images are deployed: by tag, or pinned to digests (with ECR credentials when the registry is ECR)."""
    _aws: dict[str, aws.Provider] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.images = Pinning(self.settings.pin_images, self._registry() if self.settings.pin_images else None)

    def aws(self, owner: str) -> aws.Provider:
        """AWS provider tagging everything it creates with project, stack and OWNER (the `service` tag)."""
        if owner not in self._aws:
            self._aws[owner] = aws.Provider(
                f"aws-{owner}",
                region=self.settings.region,
                default_tags={"tags": {"project": PROJECT, "stack": self.settings.stack, "service": owner}},
            )
        return self._aws[owner]

    def _registry(self) -> docker.Provider | None:
        """Credentials to read digests from the stack's registry; public registries need none."""
        host = self.settings.image_registry.split("/")[0]
        if not _ECR_HOST.match(host):
            return None
        # A short-lived token fetched on every preview and update, so nothing long-lived is stored.
        token = aws.ecr.get_authorization_token_output(
            registry_id=host.split(".")[0], opts=pulumi.InvokeOutputOptions(provider=self.aws("images"))
        )
        return docker.Provider(
            "docker-registry",
            registry_auth=[
                docker.ProviderRegistryAuthArgs(
                    address=host, username=token.user_name, password=pulumi.Output.secret(token.password)
                )
            ],
        )


def build(settings: Settings) -> Providers:
    cluster = settings.cluster
    if cluster.stack:
        # The cluster team's stack exports how to reach the cluster and its IRSA identity provider.
        reference = pulumi.StackReference("cluster", stack_name=cluster.stack)
        kubernetes = k8s.Provider("kubernetes", kubeconfig=pulumi.Output.secret(reference.require_output("kubeconfig")))
        return Providers(
            settings, kubernetes, reference.require_output("oidcProviderArn"), reference.require_output("oidcIssuerUrl")
        )
    if cluster.kubeconfig is not None:
        kubernetes = k8s.Provider("kubernetes", kubeconfig=cluster.kubeconfig)
    else:
        kubernetes = k8s.Provider("kubernetes", context=cluster.context)
    # Settings require both with kubeconfig or context.
    assert cluster.oidc_provider_arn is not None and cluster.oidc_issuer_url is not None
    return Providers(
        settings,
        kubernetes,
        pulumi.Output.from_input(cluster.oidc_provider_arn),
        pulumi.Output.from_input(cluster.oidc_issuer_url),
    )
