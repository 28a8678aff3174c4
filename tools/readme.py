"""Regenerate the README sections that are derived from the code: `python -m tools.readme`.

Each section sits between `<!-- BEGIN <name> -->` and `<!-- END <name> -->`; a test fails when the
README and the code disagree.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

from tools import markdown
from tools.mock_runtime import ROOT, ProgramRun, run_program

README = ROOT / "README.md"

RunStack = Callable[[str], ProgramRun]
"""A stack's run of the program under mocks (`run_program`; the tests pass the runs they share), for the
sections derived from what the program registers."""


def alerts_table() -> str:
    """Every alert the program declares (the catalog's, the log stack's): service, name, condition, for, severity,
    receivers."""
    from wiring.observability import receivers_of, watched

    rows = [
        (
            name,
            alert.name,
            _code(alert.expr),
            alert.for_,
            alert.severity,
            ", ".join(receivers_of(name, alert.severity)),
        )
        for name, observability in watched().items()
        for alert in observability.alerts
    ]
    return markdown.table(("Service", "Alert", "Condition", "For", "Severity", "Receivers"), rows)


def _code(expression: str) -> str:
    """EXPRESSION on one line as inline code, its pipes escaped so that they do not end the table cell."""
    return "`" + " ".join(expression.split()).replace("|", "\\|") + "`"


def _architecture() -> str:
    """The program's layers and which imports which."""
    from tools.architecture import mermaid

    return mermaid()


def _connection_budget(run: RunStack) -> str:
    """Each database's connections at the apps' peak, per stack (the program run under mocks)."""
    from settings import STACKS
    from tools.connection_budget import budgets, markdown_table
    from tools.render import is_kubernetes_object, manifest

    return markdown_table(
        {stack: budgets(manifest(r) for r in run(stack).registrations if is_kubernetes_object(r)) for stack in STACKS}
    )


SECTIONS: dict[str, Callable[[RunStack], str]] = {
    "alerts": lambda _: alerts_table(),
    "architecture": lambda _: _architecture(),
    "connection-budget": _connection_budget,
}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- BEGIN {name} -->\n)(.*?)(<!-- END {name} -->)", re.S)


def current(text: str, name: str) -> str | None:
    match = _pattern(name).search(text)
    return match.group(2).strip() if match else None


def _replacer(body: str) -> Callable[[re.Match[str]], str]:
    """Keeps a generated section's markers and puts BODY between them."""
    return lambda match: f"{match.group(1)}{body}\n{match.group(3)}"


def regenerate(text: str) -> str:
    for name, build in SECTIONS.items():
        body = build(run_program).strip()
        text = _pattern(name).sub(_replacer(body), text)
    return text


def main() -> int:
    README.write_text(regenerate(README.read_text()))
    print(f"regenerated {', '.join(SECTIONS)} in {README.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
