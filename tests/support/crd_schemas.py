"""Validate custom resources against the CRD schemas of the pinned charts (`spec.versions[].schema.openAPIV3Schema`).

The CRDs are those the charts install: every release of a stack templated with `--include-crds`
(tests/conftest.py `charts`), the ECK operator's (Elasticsearch, Kibana) included. Validation
is strict like `kubectl apply` with server-side field validation: an unknown field is an error unless the
schema preserves unknown fields. CEL rules (`x-kubernetes-validations`) and admission webhooks are not
evaluated.

    errors = validate_custom_resource({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", ...}, schemas)
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import jsonschema

Schemas = dict[tuple[str, str], dict[str, Any]]
"""(apiVersion, kind) -> strict OpenAPI schema."""


def load_schemas(crds: Iterable[dict[str, Any]]) -> Schemas:
    """The strict schema of every served version of every CRD in CRDS."""
    schemas: Schemas = {}
    for crd in crds:
        spec = crd["spec"]
        for version in spec["versions"]:
            if version.get("served", True) and "schema" in version:
                key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                schemas[key] = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    return schemas


def stack_schemas(charts) -> Schemas:
    """Schemas of the CRDs a stack's charts install (`tools.charts.StackCharts`)."""
    return load_schemas(charts.crds())


def validate_custom_resource(doc: dict[str, Any], schemas: Schemas) -> list[str]:
    """Every schema violation of DOC as `Kind/name: path: message`; an unknown apiVersion/kind is an error."""
    api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    name = (doc.get("metadata") or {}).get("name", "?")
    schema = schemas.get((api_version, kind))
    if schema is None:
        return [f"{kind}/{name}: no CRD schema for {api_version} {kind}"]
    validator = jsonschema.Draft4Validator(schema)  # OpenAPI 3.0 keywords follow draft 4 semantics
    return [
        f"{kind}/{name}: {'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Reject unknown fields where the API server would (objects with properties and no opt-out)."""
    opted_out = "additionalProperties" in schema or schema.get("x-kubernetes-preserve-unknown-fields")
    if schema.get("type") == "object" and "properties" in schema and not opted_out:
        schema["additionalProperties"] = False
    for key in ("properties", "patternProperties"):
        for sub in (schema.get(key) or {}).values():
            _strict(sub)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            _strict(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            _strict(sub)
    return schema
