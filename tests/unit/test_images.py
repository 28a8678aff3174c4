"""components.image_pinning.pinned: tag references resolved to the registry's digest (pinImages)."""

import pulumi

from components.image_pinning import pinned
from tools.mock_runtime import digest


@pulumi.runtime.test
def test_a_tag_is_resolved_to_its_digest_and_keeps_the_tag(mock_runtime):
    reference = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ai-platform/api:1.4.2"

    def check(image):
        assert image == f"{reference}@{digest(reference)}"

    return pulumi.Output.from_input(pinned(reference)).apply(check)


def test_without_pinning_or_with_a_digest_the_reference_is_kept(mock_runtime):
    assert pinned("curlimages/curl:8.17.0", pin=False) == "curlimages/curl:8.17.0"
    digest = "registry.example.com/app@sha256:" + "0" * 64
    assert pinned(digest) == digest
