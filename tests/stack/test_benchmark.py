"""`make bench`'s scaled catalog is a program the engine would accept: every copy of every service renders."""

from __future__ import annotations

from services import CATALOG
from tools.benchmark import scale_catalog
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
