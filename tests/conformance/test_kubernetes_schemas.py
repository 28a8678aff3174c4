"""Every rendered built-in Kubernetes object passes kubernetes-validate --strict for Kubernetes 1.32."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.support.manifests import is_builtin, rendered_documents
from tests.support.runtime import STACKS

# 1.32 is the API floor the render is held to; 1.33 is the oldest release Envoy Gateway 1.9 supports.
KUBERNETES_VERSIONS = ("1.32", "1.33")
KUBERNETES_VERSION = KUBERNETES_VERSIONS[0]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("stack", STACKS)
def test_builtin_objects_validate_strictly(rendered, stack, version):
    checked, failures = 0, []
    for path, doc in rendered_documents(rendered[stack]).items():
        if not is_builtin(doc):
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{path}: {error.message} at {list(error.path)}")
        checked += 1
    assert checked > 50
    assert not failures, "\n".join(failures)


def test_strict_validation_catches_a_typo():
    """The validator in strict mode rejects unknown fields (so the check above can fail)."""
    doc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80}], "selectr": {"app": "x"}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
