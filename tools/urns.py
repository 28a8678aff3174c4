"""The committed URN baseline of each stack: the names a deployed stack knows its resources by.

On a deployed stack, a URN that disappears is a delete (and a create under the new URN) unless the new
resource lists the old URN in `aliases`. The suite checks the program against `tests/urns/<stack>.txt`: no
baseline URN may disappear without an alias, and the baseline must match the program, so every URN change
shows up in review. Old URNs that a resource still aliases stay in the baseline (a stack that has not been
updated yet still holds them) until the alias goes. After an intended change (a new resource, or a move with its alias):

    python -m tools.urns        # or: make urns; commit the baseline with the change
"""

from __future__ import annotations

import sys
from pathlib import Path

from settings import STACKS
from tools.mock_runtime import ROOT, ProgramRun, run_program

BASELINE_DIR = ROOT / "tests" / "urns"


def baseline_path(stack: str) -> Path:
    return BASELINE_DIR / f"{stack}.txt"


def read_baseline(stack: str) -> set[str]:
    return set(baseline_path(stack).read_text().split())


def urns(run: ProgramRun) -> set[str]:
    return {r.urn for r in run.registrations}


def vanished(baseline: set[str], run: ProgramRun) -> list[str]:
    """Baseline URNs that no resource of RUN has or aliases: each would be deleted on a deployed stack."""
    answered = urns(run) | {alias for r in run.registrations for alias in r.aliases}
    return sorted(baseline - answered)


def updated_baseline(baseline: set[str], run: ProgramRun) -> set[str]:
    """The program's URNs, plus the old ones it still aliases: a stack not yet updated still holds those."""
    aliased = {alias for r in run.registrations for alias in r.aliases}
    return urns(run) | (baseline & aliased)


def write_baseline(stack: str, urns_: set[str]) -> None:
    BASELINE_DIR.mkdir(parents=True, exist_ok=True)
    baseline_path(stack).write_text("".join(f"{urn}\n" for urn in sorted(urns_)))


def main() -> int:
    for stack in STACKS:
        run = run_program(stack)
        baseline = read_baseline(stack) if baseline_path(stack).exists() else set()
        gone = vanished(baseline, run)
        updated = updated_baseline(baseline, run)
        write_baseline(stack, updated)
        print(f"{baseline_path(stack).relative_to(ROOT)}: {len(updated)} URNs")
        for urn in gone:
            print(f"  removed without an alias (deleted on a deployed stack): {urn}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
