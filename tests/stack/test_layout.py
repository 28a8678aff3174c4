"""The layout shows the architecture (issue "one service, one place"): imports run one way, the catalog is the
only list of services, a new service is one module plus its stack entries, and no program file is huge."""

from __future__ import annotations

import ast
import importlib
import sys
import textwrap
from pathlib import Path

import pytest

import services
from services import CATALOG
from tests.support.runtime import ROOT, one
from tools.architecture import LAYERS, import_graph, layer_of, program_modules
from tools.mock_runtime import ProgramRun, load_stack_config, run_program

MAX_LINES = 400
"""A program file longer than about this does more than one thing."""
SERVICES = "ai-platform:services"


def test_imports_run_one_way():
    """entry point -> wiring -> providers -> settings -> catalog -> components -> pins: never back up."""
    upward = [
        f"{module} imports {imported}"
        for module, imported in import_graph()
        if LAYERS.index(layer_of(imported)) < LAYERS.index(layer_of(module))
    ]
    assert upward == []


def test_components_and_settings_name_no_service():
    """Service, namespace and app names live in their service's module: nowhere else in the program."""
    names = {name for spec in CATALOG.values() for name in (spec.name, *spec.namespaces, *(a.name for a in spec.apps))}
    mentions = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for module, path in program_modules(ROOT)
        if layer_of(module) in ("wiring", "providers", "settings", "components")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in names
    ]
    assert mentions == []


def test_no_program_file_is_over_about_400_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for _, path in program_modules(ROOT)
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_catalog_is_every_service_module_in_the_manuals_order():
    modules = [path.stem for path in (ROOT / "services").glob("*.py") if path.stem != "__init__"]
    declared = [getattr(importlib.import_module(f"services.{m}"), "SERVICE", None) for m in modules]
    assert sorted(CATALOG.values(), key=lambda spec: spec.name) == sorted(
        (spec for spec in declared if spec is not None), key=lambda spec: spec.name
    )
    assert [spec.manual for spec in CATALOG.values()] == sorted(spec.manual for spec in CATALOG.values())


# A sixth service exactly as its module would be written: its manual's facts, its alerts, nothing else.
SIXTH_SERVICE = '''
"""Demo Service: a throwaway sixth service."""

from components.app_deployment import Autoscaling, Resources
from components.app_observability import service_down
from services.conventions import API_PATHS, CACHE_URL, HTTP_PROBES, redis_1gb
from services.spec import AppSpec, Observability, ServiceSpec

SERVICE = ServiceSpec(
    name="demo",
    manual="006-demo-operations-guide.md",
    namespaces=("demo",),
    cache=redis_1gb("demo"),
    apps=(
        AppSpec(
            name="demo-api",
            namespace="demo",
            image_repository="demo",
            port=8000,
            probes=HTTP_PROBES,
            resources=Resources({"cpu": "250m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"}),
            autoscaling=Autoscaling(min_replicas=2, max_replicas=4),
            secret_env={"REDIS_URL": CACHE_URL},
            public=True,
            public_paths=API_PATHS,
        ),
    ),
    observability=Observability(alerts=(service_down("demo", "demo-api"),)),
)
'''


@pytest.fixture
def sixth_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The throwaway service's module, found by the catalog's own discovery, in the catalog for one test."""
    (tmp_path / "demo.py").write_text(textwrap.dedent(SIXTH_SERVICE))
    monkeypatch.setattr(services, "__path__", [*services.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "services.demo", raising=False)
    discovered = services._discover()
    assert list(discovered)[-1] == "demo", "the catalog lists services in their manuals' order"
    monkeypatch.setitem(CATALOG, "demo", discovered["demo"])
    yield discovered["demo"]
    sys.modules.pop("services.demo", None)


def test_a_sixth_service_is_one_module_plus_its_stack_entries(sixth_service):
    """With the module and its stack entry, the service gets what every service gets: its namespace, Redis with
    its Secret, the app with its HPA, default-deny policies, its alerts, a public route, its group and outputs."""
    services_config = {**load_stack_config("staging")[SERVICES], "demo": {"apps": {"demo-api": {"maxReplicas": 3}}}}
    run = run_program("staging", overrides={SERVICES: services_config})

    objects = {
        (r.inputs["kind"], r.inputs["metadata"].get("namespace"), r.inputs["metadata"]["name"]): r.inputs
        for r in run.registrations
        if r.custom and "kind" in r.inputs
    }
    assert ("Namespace", None, "demo") in objects
    assert ("StatefulSet", "demo", "redis") in objects
    assert ("Secret", "demo", "redis-secret") in objects
    assert ("Deployment", "demo", "demo-api") in objects
    assert objects[("HorizontalPodAutoscaler", "demo", "demo-api")]["spec"]["maxReplicas"] == 3, "the stack entry"
    assert {("NetworkPolicy", "demo", f"default-deny-{way}") for way in ("ingress", "egress")} <= objects.keys()
    assert ("NetworkPolicy", "demo", "redis-ingress") in objects
    rules = objects[("PrometheusRule", "demo", "demo-alerts")]["spec"]["groups"][0]["rules"]
    assert [rule["alert"] for rule in rules] == ["ServiceDown"]
    assert ("HTTPRoute", "demo", "demo-api-staging-ai-example-com") in objects

    group = one(run, "ai-platform:service_group:ServiceGroup", "demo")
    below = _below(run, group.urn)
    assert [r.name for r in run.registrations if r.name.startswith("demo-") and r.urn not in below] == []
    outputs = run.outputs["services"]["demo"]
    assert outputs["apps"]["demo-api"]["publicUrl"] == "https://demo-api.staging.ai.example.com"


def _below(run: ProgramRun, urn: str) -> set[str]:
    """URNs of every resource below URN."""
    below, frontier = set(), {urn}
    while frontier:
        frontier = {r.urn for r in run.registrations if r.parent in frontier}
        below |= frontier
    return below
