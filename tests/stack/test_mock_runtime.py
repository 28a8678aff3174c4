"""The mock runtime runs a program as the language host does: at the bottom of a short call stack of its own."""

from __future__ import annotations

import traceback

import pulumi
import pytest

from tools.mock_runtime import run_to_completion, start_mock_runtime


def _run_nested(levels: int, program) -> None:
    """PROGRAM run from LEVELS frames deeper than the caller."""
    if levels:
        _run_nested(levels - 1, program)
    else:
        start_mock_runtime("prod", {"aws:region": "eu-west-1"}, set())
        run_to_completion(program)


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


def test_what_a_program_raises_reaches_its_caller():
    def program() -> None:
        raise ValueError("refused")

    with pytest.raises(ValueError, match=r"^refused$"):
        _run_nested(0, program)
