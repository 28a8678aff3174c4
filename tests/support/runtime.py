"""The program under the mock runtime, and external tools: what every kind of test builds on."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

import pulumi
import pytest
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from settings import STACKS, SettingsError
from tools import mock_runtime
from tools.mock_runtime import ROOT, ProgramRun, RecordingMonitor, Registration, run_program, start_mock_runtime
from tools.stack_config import ConfigError

__all__ = ["ROOT", "STACKS"]

T = TypeVar("T")

IN_CI = os.environ.get("CI", "").lower() == "true"


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
    """Tools installed inside the repo: Python tools in their own virtualenvs, the rest under .tools/."""
    folders = [
        *(ROOT / ".venvs").glob("*/bin"),
        ROOT / ".tools" / "node" / "node_modules" / ".bin",
        ROOT / ".tools" / "bin",
    ]
    for folder in folders:
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    return None


# --- the mock runtime ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Synth(Generic[T]):
    """What `synth` rendered: the component built and every resource it registered."""

    component: T
    registrations: list[Registration]

    @property
    def objects(self) -> dict[tuple[str, str], Registration]:
        """The Kubernetes objects by (kind, metadata.name)."""
        return by_kind_and_name(self.registrations)

    @property
    def manifests(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The Kubernetes objects by (kind, metadata.name), as the provider receives them."""
        return {key: r.inputs for key, r in self.objects.items()}


def synth(build: Callable[[], T], stack: str = "prod") -> Synth[T]:
    """Run BUILD (which declares a component) under a fresh mock runtime until every registration it caused has
    completed, and return the component and what it registered, the way cdk8s's `Testing.synth` renders a
    chart: no list of children to wait for, no Outputs to unwrap."""
    monitor = start_mock_runtime(stack, {"aws:region": "eu-west-1"}, set())
    built: list[T] = []
    _sync_await(run_pulumi_func(lambda: built.append(build())))
    return Synth(built[0], list(monitor.registrations))


@dataclass(frozen=True)
class Refusal:
    """A run of the program that refused its config."""

    error: SettingsError | ConfigError
    registered: list[Registration]
    """Everything the program registered before it stopped (nothing, when the settings stop it first)."""

    @property
    def message(self) -> str:
        return str(self.error)


def refusal(stack: str, **run_args: Any) -> Refusal:
    """Run the program for STACK (`run_program`'s arguments) expecting it to refuse the config; fails when it
    does not, or when it stops with anything but the settings' or the CLI's refusal."""
    monitors: list[RecordingMonitor] = []

    def recording(*args: Any) -> RecordingMonitor:
        monitors.append(start_mock_runtime(*args))
        return monitors[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mock_runtime, "start_mock_runtime", recording)
        try:
            run_program(stack, **run_args)
        except (SettingsError, ConfigError) as error:
            return Refusal(error, [r for monitor in monitors for r in monitor.registrations])
    pytest.fail(f"the program accepted the config {run_args}")


# --- registrations ------------------------------------------------------------------------------


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


_RUNS: dict[str, ProgramRun] = {}


def program_run(stack: str):
    """The whole program run once per stack per test session (under mocks), cached."""

    if stack not in _RUNS:
        _RUNS[stack] = run_program(stack)
    return _RUNS[stack]
