"""Images as deployed: by tag, or pinned to the digest the tag points at now (`ai-platform:pinImages`).

Every image the program sets goes through `pinned`, so one switch pins them all:

    image = images.pinned("redis:7.4-alpine", settings.pin_images)   # "redis:7.4-alpine@sha256:..."

A pinned reference keeps its tag for people (and for operators that read the version from it, like
CloudNativePG's `imageName`); the runtime pulls by the digest alone. The digest is read from the registry
by pulumi-docker (no Docker daemon), during preview too, so a tag that moved shows up as a diff on the
next `pulumi preview`. Private registries (ECR) need credentials: pass a `pulumi_docker.Provider` with
`registry_auth`, or log in so that the Docker config file holds them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.kube import DIGEST_SEPARATOR


@dataclass(frozen=True)
class Pinning:
    """How this stack deploys images: as tagged, or pinned to digests read with PROVIDER's credentials."""

    enabled: bool
    provider: docker.Provider | None = None
    """Registry credentials (ECR); None reads public registries anonymously."""

    def __call__(self, image: str) -> pulumi.Input[str]:
        return pinned(image, self.enabled, self.provider)


def pinned(image: str, pin: bool = True, provider: docker.Provider | None = None) -> pulumi.Input[str]:
    """IMAGE as `repository:tag@sha256:<digest>` when PIN (a reference with a digest is kept), else unchanged."""
    if not pin or DIGEST_SEPARATOR in image:
        return image
    found = docker.get_registry_image_output(
        name=image, opts=pulumi.InvokeOutputOptions(provider=provider) if provider else None
    )
    return found.sha256_digest.apply(lambda digest: f"{image}@{_checked(image, digest)}")


def _checked(image: str, digest: str | None) -> str:
    if not digest or not digest.startswith("sha256:"):
        raise ValueError(f"the registry returned no sha256 digest for {image!r} (got {digest!r})")
    return digest
