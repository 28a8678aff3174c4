"""The render writes its YAML faster than PyYAML's Python emitter and byte for byte as it does
(tools/yaml_dump.py): libyaml where the two agree, a quicker Python emitter elsewhere."""

from __future__ import annotations

import random
import string

import pytest
import yaml

from tests.support.runtime import STACKS, program_run
from tools.render import HELM_RELEASE, helm_release, is_kubernetes_object, is_patch, manifest
from tools.yaml_dump import dump, libyaml_writes


def _pyyaml(doc) -> str:
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_document_has_the_bytes_of_pyyaml(stack):
    registrations = program_run(stack).registrations
    docs = [manifest(r) for r in registrations if is_kubernetes_object(r) or is_patch(r)]
    docs += [helm_release(r) for r in registrations if r.type == HELM_RELEASE]
    assert len([doc for doc in docs if libyaml_writes(doc)]) > len(docs) * 3 / 4, "most go through libyaml"
    assert [doc for doc in docs if not libyaml_writes(doc)], "the dashboards and scripts take the Python path"
    assert [doc["metadata"]["name"] for doc in docs if dump(doc) != _pyyaml(doc)] == []


def test_a_string_libyaml_would_fold_elsewhere_takes_the_python_path():
    """libyaml folds a long double-quoted scalar only at spaces; PyYAML also right after an escape."""
    doc = {"data": {"dashboard.json": '{\n "style": "dark",\n "editable": false,\n "graphTooltip": 0,\n "uid": "x"}'}}
    assert yaml.dump(doc, Dumper=yaml.CSafeDumper) != _pyyaml(doc)
    assert not libyaml_writes(doc)
    assert dump(doc) == _pyyaml(doc)


AWKWARD = [
    "",
    " ",
    "\n",
    " leading",
    "trailing ",
    "a \nb",
    "a\n b",
    "tab\there",
    "caf\u00e9 \u2028 \U0001f600 \ufeff \x85 \x00 \x1b",
    '"' * 200,
    "\\" * 150 + " x",
    " " * 100 + "\n" + " " * 100,
    "x" * 79 + '"' + "y" * 79 + " " + "z" * 30,
]


def _awkward_strings(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = string.ascii_letters + '  \n\n"\\\t:#-{}[],&*!|>%@`' + "\u00e9\u2028\x85"
    return [
        "".join(rng.choice(alphabet) for _ in range(rng.choice((1, 5, 40, 79, 80, 81, 200, 1000))))
        for _ in range(count)
    ]


@pytest.mark.parametrize("seed", range(3))
def test_awkward_strings_in_every_position_have_the_bytes_of_pyyaml(seed):
    """Values at several depths, list items, keys: the folds depend on the column a string starts at."""
    for text in AWKWARD + _awkward_strings(seed, 150):
        doc = {"k": text, text: [text, {"nested": {"deeper": text}}], "list": [[text]]}
        assert dump(doc) == _pyyaml(doc), repr(text)
