"""Shared test helpers: a fresh Pulumi mock runtime per test, waiting on and finding registrations, the
rendered stacks, a local moto server, and external-tool gating."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pulumi
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from settings import STACKS  # noqa: E402
from tools.mock_runtime import RecordingMonitor, Registration, start_mock_runtime  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"
MOTO_REGION = "eu-west-1"
MOTO_ADMIN = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


# --- prerequisites ------------------------------------------------------------------------------


def missing(message: str, allow_module_level: bool = False) -> NoReturn:
    """A prerequisite is missing: fail under CI=true (CI must run every test), skip with MESSAGE elsewhere."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message, allow_module_level=allow_module_level)


def need_tool(name: str, why: str = "") -> str:
    """Path of an external tool; fails under CI=true when missing, skips elsewhere."""
    found = shutil.which(name) or _venv_tool(name)
    if found:
        return found
    missing(f"{name} is not installed{': ' + why if why else ''} (`make test` installs it)")


def _venv_tool(name: str) -> str | None:
    """Tools installed inside the repo: Python tools in their own virtualenvs, node tools under .tools/."""
    for folder in [*(ROOT / ".venvs").glob("*/bin"), ROOT / ".tools" / "node" / "node_modules" / ".bin"]:
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    return None


# --- the mock runtime ---------------------------------------------------------------------------


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


def when_registered(
    monitor: RecordingMonitor, resources: Iterable[pulumi.Resource], check: Callable[[list[Registration]], Any]
) -> pulumi.Output:
    """Output that runs CHECK(every registration so far) once all RESOURCES are registered (the order in which
    children register is not fixed); return it from a @pulumi.runtime.test."""
    return pulumi.Output.all(*(r.urn for r in resources)).apply(lambda _: check(monitor.registrations))


def one(source, type_: str, name: str | None = None) -> Registration:
    """The single registration of TYPE_ (named NAME, when given) in SOURCE: the mock monitor, or anything with
    `.registrations`."""
    found = [r for r in source.registrations if r.type == type_ and name in (None, r.name)]
    assert len(found) == 1, f"{len(found)} registrations of {type_}{f' {name!r}' if name else ''}"
    return found[0]


def by_kind_and_name(registrations: Iterable[Registration]) -> dict[tuple[str, str], Registration]:
    """The Kubernetes objects among REGISTRATIONS by (kind, metadata.name)."""
    return {
        (r.inputs["kind"], r.inputs["metadata"]["name"]): r for r in registrations if r.custom and "kind" in r.inputs
    }


def assert_equal(actual, expected) -> None:
    """An assertion usable in a lambda passed to `.apply`."""
    assert actual == expected, f"{actual!r} != {expected!r}"


# --- the whole program --------------------------------------------------------------------------

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
    for stack in STACKS:
        out[stack] = tmp_path_factory.mktemp(f"render-{stack}")
        write_render(program_run(stack), out[stack])
    return out


def rendered_documents(root: Path) -> dict[str, dict[str, Any]]:
    """Every manifest of a render, by its path under `manifests/` (`<namespace or _cluster>/<Kind>-<name>.yaml`)."""
    folder = root / "manifests"
    return {str(path.relative_to(folder)): yaml.safe_load(path.read_text()) for path in sorted(folder.rglob("*.yaml"))}


BUILTIN_API_GROUPS = {
    "",
    "admissionregistration.k8s.io",
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


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Pod or of a workload's pod template (a CronJob's through its job template)."""
    if doc["kind"] == "Pod":
        return doc["spec"]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every container of a pod spec: init, regular and ephemeral."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


# --- a local S3/IAM/KMS server ------------------------------------------------------------------


@pytest.fixture
def moto() -> Iterator[str]:
    """A moto server on 127.0.0.1 (random port) with empty state; stopped after the test."""
    import logging

    import requests
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)  # backends live in-process: drop earlier tests' state
    try:
        yield endpoint
    finally:
        requests.post(f"{endpoint}/moto-api/reset", timeout=10)
        server.stop()


def moto_client(endpoint: str, service: str, credentials: dict[str, str] = MOTO_ADMIN):
    """A boto3 client of SERVICE talking to the moto server at ENDPOINT."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=MOTO_REGION, **credentials)
