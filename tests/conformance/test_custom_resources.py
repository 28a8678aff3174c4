"""Every custom resource in both renders validates against the CRD schema its pinned chart installs (CloudNativePG,
Barman Cloud, Prometheus Operator, Gateway API, cert-manager, ECK; X-09, X-10, X-15, S2-04)."""

from __future__ import annotations

import pytest

from tests.support.crd_schemas import validate_custom_resource
from tests.support.manifests import is_builtin, rendered_documents
from tests.support.runtime import STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_custom_resources_match_their_crds(rendered, crd_schemas, stack):
    kinds, failures = set(), []
    for path, doc in rendered_documents(rendered[stack]).items():
        if is_builtin(doc):
            continue
        kinds.add(doc["kind"])
        failures += [f"{path}: {error}" for error in validate_custom_resource(doc, crd_schemas[stack])]
    assert not failures, "\n".join(failures)
    # The platform's data, monitoring and delivery tiers are all there, and the log stack (S2-04).
    assert {"Cluster", "ObjectStore", "ScheduledBackup", "PodMonitor", "ServiceMonitor", "PrometheusRule"} <= kinds
    assert {"Elasticsearch", "Kibana", "Certificate", "ClusterIssuer"} <= kinds


def test_the_log_stacks_kinds_have_schemas(crd_schemas):
    """The ECK operator chart's CRDs (its release templated with the stack's) hold Elasticsearch and Kibana."""
    assert {("elasticsearch.k8s.elastic.co/v1", "Elasticsearch"), ("kibana.k8s.elastic.co/v1", "Kibana")} <= set(
        crd_schemas["prod"]
    )


def test_validator_reports_unknown_fields_bad_enums_and_missing_required(crd_schemas):
    """The helper is not a rubber stamp: a typo, a bad enum and a missing required field are reported."""
    schemas = crd_schemas["prod"]
    broken_backup = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "ScheduledBackup",
        "metadata": {"name": "broken"},
        "spec": {"cluster": {"name": "db"}, "method": "s3", "shedule": "0 0 2 * * *"},
    }
    errors = validate_custom_resource(broken_backup, schemas)
    assert any("spec.method" in e and "'s3' is not one of" in e for e in errors), errors
    assert any("'shedule' was unexpected" in e for e in errors), errors
    assert any("'schedule' is a required property" in e for e in errors), errors
    assert validate_custom_resource({"apiVersion": "example.com/v1", "kind": "Nope"}, schemas) == [
        "Nope/?: no CRD schema for example.com/v1 Nope"
    ]
    bad_retention = {
        "apiVersion": "barmancloud.cnpg.io/v1",
        "kind": "ObjectStore",
        "metadata": {"name": "store"},
        "spec": {"retentionPolicy": "30 days", "configuration": {"destinationPath": "s3://b/p"}},
    }
    assert any("spec.retentionPolicy" in e for e in validate_custom_resource(bad_retention, schemas))
