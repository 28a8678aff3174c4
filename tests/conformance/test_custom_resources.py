"""Every custom resource in both renders validates against its upstream CRD schema (CloudNativePG, Barman
Cloud, Prometheus Operator, Gateway API, cert-manager; X-09, X-10, X-15)."""

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


def test_validator_reports_unknown_fields_bad_enums_and_missing_required():
    """The helper is not a rubber stamp: a typo, a bad enum and a missing required field are reported."""
    directory = require_crd_dir()
    broken_backup = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "ScheduledBackup",
        "metadata": {"name": "broken"},
        "spec": {"cluster": {"name": "db"}, "method": "s3", "shedule": "0 0 2 * * *"},
    }
    errors = validate_custom_resource(broken_backup, directory)
    assert any("spec.method" in e and "'s3' is not one of" in e for e in errors), errors
    assert any("'shedule' was unexpected" in e for e in errors), errors
    assert any("'schedule' is a required property" in e for e in errors), errors
    assert validate_custom_resource({"apiVersion": "example.com/v1", "kind": "Nope"}, directory) == [
        "Nope/?: no CRD schema for example.com/v1 Nope"
    ]
    bad_retention = {
        "apiVersion": "barmancloud.cnpg.io/v1",
        "kind": "ObjectStore",
        "metadata": {"name": "store"},
        "spec": {"retentionPolicy": "30 days", "configuration": {"destinationPath": "s3://b/p"}},
    }
    assert any("spec.retentionPolicy" in e for e in validate_custom_resource(bad_retention, directory))
