"""Gateway API, Envoy Gateway and cert-manager objects of both stacks validate against the CRD schemas their charts
install (X-15, S3-03)."""

from __future__ import annotations

import pytest

from tests.support.crd_schemas import validate_custom_resource
from tests.support.manifests import rendered_documents
from tests.support.program import with_canary
from tests.support.runtime import STACKS, program_run
from tools.render import is_kubernetes_object, manifest

GROUPS = ("gateway.networking.k8s.io/", "gateway.envoyproxy.io/", "cert-manager.io/")
KINDS = {"GatewayClass", "Gateway", "HTTPRoute", "ReferenceGrant", "SecurityPolicy", "Certificate", "ClusterIssuer"}


@pytest.mark.parametrize("stack", STACKS)
def test_gateway_and_certificate_objects_match_their_crds(rendered, crd_schemas, stack):
    kinds, failures = set(), []
    for path, doc in rendered_documents(rendered[stack]).items():
        if not doc["apiVersion"].startswith(GROUPS):
            continue
        kinds.add(doc["kind"])
        failures += [f"{path}: {error}" for error in validate_custom_resource(doc, crd_schemas[stack])]
    assert not failures, "\n".join(failures)
    assert kinds == KINDS


@pytest.mark.parametrize("weight", [0, 100])
def test_canary_routes_at_the_extreme_weights_match_the_crd(crd_schemas, weight):
    """Weight 0 (canary dark) and 100 (canary takes all) are valid routes, not just accepted config."""
    run = program_run("prod", overrides=with_canary("prod", weight))
    docs = [
        manifest(r) for r in run.registrations if is_kubernetes_object(r) and r.inputs["apiVersion"].startswith(GROUPS)
    ]
    assert {d["kind"] for d in docs} == KINDS
    assert [error for doc in docs for error in validate_custom_resource(doc, crd_schemas["prod"])] == []


def test_the_schemas_reject_a_broken_route_and_certificate(crd_schemas):
    """The check above can fail: a bad weight, a redirect status the API does not know, a missing issuer."""
    schemas = crd_schemas["prod"]
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "broken", "namespace": "x"},
        "spec": {
            "parentRefs": [{"name": "public"}],
            "rules": [
                {
                    "backendRefs": [{"name": "svc", "port": 80, "weight": -1}],
                    "filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 305}}],
                }
            ],
        },
    }
    errors = validate_custom_resource(route, schemas)
    assert any("weight" in e for e in errors), errors
    assert any("statusCode" in e for e in errors), errors
    certificate = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "broken", "namespace": "x"},
        "spec": {"secretName": "tls", "dnsNames": ["a.example.com"]},
    }
    assert any("issuerRef" in e for e in validate_custom_resource(certificate, schemas))
