"""Validate custom resources against the upstream CRD schemas (`spec.versions[].schema.openAPIV3Schema`).

The CRD files are data kept outside the repository, in the directory named by `AI_PLATFORM_CRD_DIR`
(`.ci/run` points it at the team's offline cache when there is one). Validation is strict like `kubectl
apply` with server-side field validation: an unknown field is an error unless the schema preserves unknown
fields. CEL rules (`x-kubernetes-validations`) and admission webhooks are not evaluated.

    errors = validate_custom_resource({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", ...})
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.conftest import missing

CRD_DIR_ENV = "AI_PLATFORM_CRD_DIR"


def crd_dir() -> Path | None:
    """The CRD directory named by `$AI_PLATFORM_CRD_DIR`, if set."""
    configured = os.environ.get(CRD_DIR_ENV)
    return Path(configured) if configured else None


def require_crd_dir() -> Path:
    """The CRD directory; fails the test under CI=true when it is missing, skips elsewhere."""
    directory = crd_dir()
    if directory is not None and directory.is_dir() and any(directory.glob("*.yaml")):
        return directory
    missing(f"no CRD schemas: set {CRD_DIR_ENV} to a directory of the pinned charts' CRD files (found {directory})")


@lru_cache(maxsize=4)
def load_schemas(directory: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict OpenAPI schema, for every served version of every CRD in DIRECTORY."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec["versions"]:
                if version.get("served", True) and "schema" in version:
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    schemas[key] = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    return schemas


def validate_custom_resource(doc: dict[str, Any], directory: Path | None = None) -> list[str]:
    """Every schema violation of DOC as `Kind/name: path: message`; an unknown apiVersion/kind is an error."""
    schemas = load_schemas(directory or require_crd_dir())
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
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
