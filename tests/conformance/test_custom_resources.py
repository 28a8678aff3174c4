"""Every custom resource in both renders validates against its upstream CRD schema."""

from __future__ import annotations

import pytest

from tests.conftest import STACKS, is_builtin, rendered_documents
from tests.crd_schemas import require_crd_dir, validate_custom_resource


@pytest.mark.parametrize("stack", STACKS)
def test_custom_resources_match_their_crds(rendered, stack):
    directory = require_crd_dir()
    kinds, failures = set(), []
    for path, doc in rendered_documents(rendered[stack]).items():
        if is_builtin(doc):
            continue
        kinds.add(doc["kind"])
        failures += [f"{path}: {error}" for error in validate_custom_resource(doc, directory)]
    assert not failures, "\n".join(failures)
    # The platform's data, monitoring and delivery tiers are all there.
    assert {"Cluster", "ObjectStore", "ScheduledBackup", "PodMonitor", "ServiceMonitor", "PrometheusRule"} <= kinds
