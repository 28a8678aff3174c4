"""The render writes its YAML through libyaml where that gives exactly PyYAML's bytes (tools/render.py `to_yaml`):
a faster render, never a different one."""

from __future__ import annotations

import pytest
import yaml

from tests.support.runtime import STACKS, program_run
from tools.render import HELM_RELEASE, helm_release, is_kubernetes_object, is_patch, libyaml_writes, manifest, to_yaml


@pytest.mark.parametrize("stack", STACKS)
def test_every_document_libyaml_writes_has_the_bytes_of_the_python_emitter(stack):
    registrations = program_run(stack).registrations
    docs = [manifest(r) for r in registrations if is_kubernetes_object(r) or is_patch(r)]
    docs += [helm_release(r) for r in registrations if r.type == HELM_RELEASE]
    fast = [doc for doc in docs if libyaml_writes(doc)]
    assert len(fast) > len(docs) * 3 / 4, "most of the render goes through libyaml"
    different = [doc["metadata"]["name"] for doc in fast if to_yaml(doc) != yaml.safe_dump(doc, sort_keys=False)]
    assert different == []


def test_a_string_that_libyaml_would_fold_elsewhere_goes_through_the_python_emitter():
    """libyaml folds a long double-quoted scalar only at spaces; PyYAML also right after an escape."""
    doc = {"data": {"dashboard.json": '{\n "style": "dark",\n "editable": false,\n "graphTooltip": 0,\n "uid": "x"}'}}
    assert yaml.dump(doc, Dumper=yaml.CSafeDumper) != yaml.safe_dump(doc)
    assert not libyaml_writes(doc)
    assert to_yaml(doc) == yaml.safe_dump(doc, sort_keys=False)
