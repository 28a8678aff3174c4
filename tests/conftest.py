"""Shared test fixtures: a fresh Pulumi mock runtime per test, and external-tool gating."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.mock_runtime import RecordingMonitor, start_mock_runtime  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"


def need_tool(name: str, why: str = "") -> str:
    """Path of an external tool; fails under CI=true when missing, skips elsewhere."""
    found = shutil.which(name) or _venv_tool(name)
    if found:
        return found
    message = f"{name} is not installed{': ' + why if why else ''} (`make test` installs it)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _venv_tool(name: str) -> str | None:
    """Tools installed inside the repo: Python tools in their own virtualenvs, node tools under .tools/."""
    for folder in [*(ROOT / ".venvs").glob("*/bin"), ROOT / ".tools" / "node" / "node_modules" / ".bin"]:
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    return None


@pytest.fixture
def mock_runtime() -> RecordingMonitor:
    """A fresh mock runtime (stack `prod`); the returned monitor records every registration."""
    return start_mock_runtime("prod", {"aws:region": "eu-west-1"}, set())


def inputs_of(monitor: RecordingMonitor, resource, check):
    """Output that runs CHECK(inputs) once RESOURCE is registered; return it from a @pulumi.runtime.test."""

    def run(urn: str):
        found = [r for r in monitor.registrations if r.urn == urn]
        assert len(found) == 1, f"{urn} was not registered"
        return check(found[0].inputs)

    return resource.urn.apply(run)


_RENDERS: dict[str, object] = {}


def program_run(stack: str):
    """The whole program run once per stack per test session (under mocks), cached."""
    from tools.mock_runtime import run_program

    if stack not in _RENDERS:
        _RENDERS[stack] = run_program(stack)
    return _RENDERS[stack]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """Both stacks rendered offline exactly as `python -m tools.render` writes them."""
    from tools.render import write_render

    out = {}
    for stack in ("staging", "prod"):
        out[stack] = tmp_path_factory.mktemp(f"render-{stack}")
        write_render(program_run(stack), out[stack])
    return out


def manifests(root: Path) -> list[Path]:
    return sorted((root / "manifests").rglob("*.yaml"))


BUILTIN_API_GROUPS = {
    "",
    "apps",
    "autoscaling",
    "batch",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
}


def is_builtin(doc: dict) -> bool:
    """A Kubernetes built-in kind (validated by kubernetes-validate), not a custom resource."""
    return doc["apiVersion"].rpartition("/")[0] in BUILTIN_API_GROUPS
