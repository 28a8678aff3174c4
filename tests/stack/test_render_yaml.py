"""The render's YAML (tools/render.py `to_yaml`, libyaml) reads back as exactly the documents the providers would
receive, however awkward their strings."""

from __future__ import annotations

import random
import string

import pytest
import yaml

from tests.support.runtime import STACKS, program_run
from tools.render import HELM_RELEASE, helm_release, is_kubernetes_object, is_patch, manifest, to_yaml


def _read_back(text: str):
    return yaml.load(text, Loader=yaml.SafeLoader)  # the Python loader, as the validators read the files


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_document_reads_back_as_itself(stack):
    registrations = program_run(stack).registrations
    docs = [manifest(r) for r in registrations if is_kubernetes_object(r) or is_patch(r)]
    docs += [helm_release(r) for r in registrations if r.type == HELM_RELEASE]
    assert [doc.get("metadata", doc).get("name") for doc in docs if _read_back(to_yaml(doc)) != doc] == []


def test_a_manifest_is_block_style_with_its_keys_in_order():
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "1\n2\n"}}
    assert to_yaml(doc).splitlines()[:4] == ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: x"]


AWKWARD = [
    "",
    " ",
    "\n",
    " leading",
    "trailing ",
    "a \nb",
    "a\n b",
    "tab\there",
    "yes",
    "0755",
    "1e3",
    "~",
    "caf\u00e9 \u2028 \U0001f600 \ufeff \x85 \x00 \x1b",
    '"' * 200,
    "\\" * 150 + " x",
    " " * 100 + "\n" + " " * 100,
    "x" * 79 + '"' + "y" * 79 + " " + "z" * 30,
    '{\n "style": "dark",\n "editable": false,\n "graphTooltip": 0,\n "uid": "x"}',
]


def _awkward_strings(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = string.ascii_letters + '  \n\n"\\\t:#-{}[],&*!|>%@`' + "\u00e9\u2028\x85"
    return [
        "".join(rng.choice(alphabet) for _ in range(rng.choice((1, 5, 40, 79, 80, 81, 200, 1000))))
        for _ in range(count)
    ]


@pytest.mark.parametrize("seed", range(3))
def test_awkward_strings_in_every_position_read_back_as_themselves(seed):
    """Values at several depths, list items, keys: where a string is folded depends on the column it starts at."""
    for text in AWKWARD + _awkward_strings(seed, 150):
        doc = {"k": text, text: [text, {"nested": {"deeper": text}}], "list": [[text]]}
        assert _read_back(to_yaml(doc)) == doc, repr(text)
