"""Images as deployed: by tag, or pinned to the digest the tag points at now (`ai-platform:pinImages`).

Every image the program sets goes through `Pinning`, so one switch pins them all:

    image = pin("redis:7.4-alpine")   # "redis:7.4-alpine@sha256:..." when pinning is on

A pinned reference keeps its tag for people (and for operators that read the version from it, like
CloudNativePG's `imageName`); the runtime pulls by the digest alone. Digests are read during preview too,
so a tag that moved shows up as a diff on the next `pulumi preview`. Images in ECR are looked up through
the ECR API with the AWS provider's own credentials (no registry token, which would change on every run
and make every preview show a change); public images are read from their registries anonymously.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components.kube import DIGEST_SEPARATOR

_ECR_IMAGE = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repository>[^:@]+):(?P<tag>[\w][\w.-]*)$"
)


@dataclass(frozen=True)
class Pinning:
    """How this stack deploys images: as tagged, or pinned to digests (ECR ones read with PROVIDER)."""

    enabled: bool
    aws_provider: aws.Provider | None = None
    """AWS provider whose credentials read ECR digests; None uses the default credentials."""

    def __call__(self, image: str) -> pulumi.Input[str]:
        return pinned(image, self.enabled, self.aws_provider)


def pinned(image: str, pin: bool = True, aws_provider: aws.Provider | None = None) -> pulumi.Input[str]:
    """IMAGE as `repository:tag@sha256:<digest>` when PIN (a reference with a digest is kept), else unchanged."""
    if not pin or DIGEST_SEPARATOR in image:
        return image
    ecr = _ECR_IMAGE.match(image)
    if ecr:
        digest = aws.ecr.get_image_output(
            registry_id=ecr["account"],
            region=ecr["region"],
            repository_name=ecr["repository"],
            image_tag=ecr["tag"],
            opts=pulumi.InvokeOutputOptions(provider=aws_provider) if aws_provider else None,
        ).image_digest
    else:
        digest = docker.get_registry_image_output(name=image).sha256_digest
    return digest.apply(lambda found: f"{image}@{_checked(image, found)}")


def _checked(image: str, digest: str | None) -> str:
    if not digest or not digest.startswith("sha256:"):
        raise ValueError(f"the registry returned no sha256 digest for {image!r} (got {digest!r})")
    return digest
