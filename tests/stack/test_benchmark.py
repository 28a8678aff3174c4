"""`make bench`: its scaled catalog is a program the engine would accept, and the render in phases and the floor
replay what a render does."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from services import CATALOG
from tests.support.manifests import render_files
from tools.benchmark import (
    FLOOR_PHASES,
    RENDER_PHASES,
    floor,
    importing_nothing,
    render_in_phases,
    scale_catalog,
    write_replay,
)
from tools.mock_runtime import run_program


def test_twice_the_services_render_each_copy_in_namespaces_of_its_own():
    originals = dict(CATALOG)
    try:
        scale_catalog(2)
        run = run_program("staging")
    finally:
        CATALOG.clear()
        CATALOG.update(originals)
    namespaces = {r.inputs["metadata"]["name"] for r in run.by_type("kubernetes:core/v1:Namespace")}
    for spec in originals.values():
        assert {*spec.namespaces, *(f"{ns}-1" for ns in spec.namespaces)} <= namespaces
    assert set(run.outputs["services"]) == {*originals, *(f"{name}-1" for name in originals)}


def _printed(capsys) -> dict[str, Any]:
    return json.loads(capsys.readouterr().out.splitlines()[-1])


def test_the_render_in_phases_writes_the_render_and_the_floor_registers_every_resource(rendered, tmp_path, capsys):
    """The phases measure a whole render (the same files), and the floor replays each of its registrations."""
    # A run in this process, as `make bench` records it: the record lists the modules a run imports, which a
    # shared run (`program_run`, perhaps made by another worker) does not guarantee.
    run = run_program("staging")
    record = tmp_path / "staging.replay"
    write_replay(run, record)

    render_in_phases("staging", record, tmp_path / "phases")
    phases = _printed(capsys)
    assert render_files(tmp_path / "phases") == render_files(rendered["staging"])
    assert set(phases) == {"resources", *RENDER_PHASES}

    floor(record, with_inputs=True)
    replayed = _printed(capsys)
    assert set(replayed) == {"resources", *FLOOR_PHASES}
    assert replayed["resources"] == len(run.registrations)


def test_a_timed_step_that_imports_a_module_is_refused(tmp_path, monkeypatch):
    """An import inside a timed phase would be counted as that phase's work."""
    (tmp_path / "unrecorded_module.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "unrecorded_module", raising=False)
    assert importing_nothing(lambda: 7) == 7
    with pytest.raises(RuntimeError, match="a timed step imported unrecorded_module"):
        importing_nothing(lambda: __import__("unrecorded_module"))
