"""The mock runtime runs a program as the language host does: at the bottom of a short call stack of its own."""

from __future__ import annotations

import traceback
from collections.abc import Callable

import pulumi
import pytest
from pulumi.runtime.sync_await import _sync_await

from tools.mock_runtime import run_to_completion, start_mock_runtime


def _run_nested(levels: int, program: Callable[[], None]) -> None:
    """PROGRAM run from LEVELS frames deeper than the caller."""
    if levels:
        _run_nested(levels - 1, program)
    else:
        start_mock_runtime("prod", {"aws:region": "eu-west-1"}, set())
        run_to_completion(program)


def _register_one(registered: list[str]) -> Callable[[], None]:
    """A program that registers one resource and leaves its URN in REGISTERED."""

    def program() -> None:
        pulumi.CustomResource("test:index:Thing", "thing", {"size": 1}).urn.apply(registered.append)

    return program


def test_a_program_sees_the_same_short_call_stack_however_deep_its_caller():
    """The SDK walks the whole call stack of every resource it registers: a deep caller must not make that dearer."""
    stacks: list[list[str]] = []
    regions: list[str | None] = []

    def program() -> None:
        stacks.append([frame.name for frame in traceback.extract_stack()])
        regions.append(pulumi.Config("aws").get("region"))

    _run_nested(0, program)
    _run_nested(50, program)
    assert len(stacks[0]) == len(stacks[1]) < 20
    assert "_run_nested" not in stacks[1]
    assert regions == ["eu-west-1", "eu-west-1"], "the config the caller set reaches the program"


def test_a_program_registers_its_resources():
    registered: list[str] = []
    _run_nested(0, _register_one(registered))
    assert registered == ["urn:pulumi:prod::ai-platform::test:index:Thing::thing"]


def test_a_run_started_inside_the_running_event_loop_completes():
    """A run started where the loop already runs (in an `apply`, a coroutine) stays on the thread that pumps it."""
    registered: list[str] = []

    async def inside_the_loop() -> None:
        _run_nested(0, _register_one(registered))

    _sync_await(inside_the_loop())
    assert registered == ["urn:pulumi:prod::ai-platform::test:index:Thing::thing"]


@pytest.mark.parametrize("raised", [ValueError, SystemExit, KeyboardInterrupt])
def test_what_a_program_raises_reaches_its_caller(raised: type[BaseException]):
    """A thread drops what its target raises unless it is handed on: the program's own errors, and its exits."""

    def program() -> None:
        raise raised("refused")

    with pytest.raises(raised, match=r"^refused$"):
        _run_nested(0, program)
