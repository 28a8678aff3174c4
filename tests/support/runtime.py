"""The program under the mock runtime, and external tools: what every kind of test builds on."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

import pulumi
import pytest
from pulumi.runtime.sync_await import _sync_await

from settings import STACKS, SettingsError
from tests.support.shared import once
from tools import mock_runtime
from tools.mock_runtime import (
    ROOT,
    ProgramRun,
    RecordingMonitor,
    Registration,
    run_program,
    run_to_completion,
    stack_values,
    start_mock_runtime,
)
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


PAUSE, STALL, STALL_ODDS = 0.002, (0.01, 0.04), 6
"""How long (seconds) a unit test's mock monitor holds a registration: up to PAUSE, or a STALL one time in
STALL_ODDS."""


class ShuffledMonitor(RecordingMonitor):
    """Completes each registration after a random pause (the SDK calls the monitor from a thread pool), so the
    order in which registrations complete changes from run to run as it does on a loaded machine: a check that
    reads a registration it did not wait for fails here, often, instead of once in a while under load. Most
    pauses are short; one in STALL_ODDS is a stall, as when the machine deschedules a thread, so one
    registration can finish after a whole chain of others. The pauses come from `random`, which
    pytest-randomly seeds per test."""

    def __init__(self, mocks_: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks_)
        self._pauses = random.Random(random.getrandbits(64))

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        stalled = self._pauses.randrange(STALL_ODDS) == 0
        time.sleep(self._pauses.uniform(*STALL if stalled else (0, PAUSE)))
        return super().RegisterResource(request)


def start_unit_runtime(stack: str = "prod") -> RecordingMonitor:
    """A fresh mock runtime for a unit test: completion order shuffled (ShuffledMonitor)."""
    return start_mock_runtime(stack, {"aws:region": "eu-west-1"}, set(), ShuffledMonitor)


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
    monitor = start_unit_runtime(stack)
    built: list[T] = []
    run_to_completion(lambda: built.append(build()))
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


def value_of(output: pulumi.Output[T]) -> T | None:
    """The value of OUTPUT of a component `synth` built: every registration has completed, so it is known (None
    only where the engine would leave it unknown)."""
    return _sync_await(output.future())


def is_secret(output: pulumi.Output[Any]) -> bool:
    """Whether OUTPUT of a component `synth` built is a secret."""
    return _sync_await(output.is_secret())


# --- registrations ------------------------------------------------------------------------------


def inputs_of(monitor: RecordingMonitor, resource, check, reads: Iterable[pulumi.Resource] = ()):
    """Output that runs CHECK(inputs) once RESOURCE is registered, and with it every resource in READS: those
    whose registrations CHECK looks up itself (the order in which registrations complete is not fixed). Return
    it from a @pulumi.runtime.test."""

    def run(urns: list[str]):
        found = [r for r in monitor.registrations if r.urn == urns[0]]
        assert len(found) == 1, f"{urns[0]} was not registered"
        return check(found[0].inputs)

    return pulumi.Output.all(resource.urn, *(r.urn for r in reads)).apply(run)


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


def program_run(stack: str, **config: Any) -> ProgramRun:
    """The whole program run under mocks for STACK with CONFIG (`run_program`'s overrides, secrets, values,
    fill_missing_secrets), once per test session and config, whichever test asks first (tests/support/shared.py):
    read it, never change it (its `warnings` are the program's log). A test that changes what the program reads
    besides its config (the catalog, a mock's values) runs its own."""
    values = stack_values(stack, **config)
    digest = hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()[:16]
    return once(f"program-{stack}-{digest}", lambda: run_program(stack, values=values, fill_missing_secrets=False))
