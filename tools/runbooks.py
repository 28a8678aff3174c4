"""The runbook map: every operator command of the five manuals and its equivalent on this platform (X-16, S4-07).

The map is data, one file per manual (`runbooks/<manual>.yaml`): for each command of the manual, in the manual's
words, its section, and either the platform's equivalent (commands, the Role they run under, a note) or why it
does not apply on Kubernetes. `python -m tools.runbooks` writes RUNBOOKS.md from it (a test keeps it current);
tests/stack/test_runbooks.py checks every equivalent against each stack's render and its Roles.

`commands(markdown)` lists a manual's commands the way the map counts them: every command line of its shell
blocks (continuation lines and multi-line quotes joined, comments, `echo`, assignments, control flow and heredoc
bodies left out) and every statement of its SQL blocks.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
MAP_DIR = ROOT / "runbooks"
DOCUMENT = ROOT / "RUNBOOKS.md"
ROLES = {
    "operator": "Role `ai-platform-operator` (group `ai-platform-operators`): reads",
    "oncall": "Role `ai-platform-oncall` (group `ai-platform-oncall`): reads, exec, port-forward, restarts",
    "deployer": "Role `ai-platform-deployer` (group `ai-platform-deployers`): releases, scale, rollbacks",
    "pulumi": "a config change and `pulumi up` through CI (the deploy role, after review)",
    "backup-operator": "the AWS role `backup.operatorRoleArn` (reads and restores backups)",
    "public": "nothing: a public HTTPS endpoint",
}
SHELL_LANGUAGES = {"bash", "sh", "shell"}
_FENCE = re.compile(r"^```(\S*)\s*$")
# Not commands: comments, messages, control flow, assignments, directories made for a script, and sample output
# of a metrics endpoint (`name{labels} value`).
_SKIP = re.compile(
    r"^(#|echo\b|if\b|fi\b|then\b|else\b|exit\b|done\b|mkdir\b|\S+=\S*$|[A-Z_]+=\$\(|[a-z_]+(\{.*\})? [0-9.]+$)"
)
_HEREDOC = re.compile(r"<<\s*'?(\w+)'?")


@dataclass(frozen=True)
class Entry:
    """One command of a manual and what it is on this platform."""

    section: str
    manual: str
    equivalent: tuple[str, ...] = ()
    role: str | None = None
    note: str = ""
    not_applicable: str = ""

    @property
    def applies(self) -> bool:
        return not self.not_applicable


@dataclass(frozen=True)
class Runbook:
    file: str
    """The manual's file name."""
    title: str
    service: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)


def _statements(lines: list[str]) -> list[str]:
    """Shell lines joined into commands: backslash continuations and quotes left open across lines."""
    commands, current = [], ""
    for line in lines:
        current = f"{current}\n{line}" if current else line
        if current.endswith("\\"):
            current = current[:-1].rstrip() + " \\"
            continue
        if _open_quote(current):
            continue
        commands.append(current.strip())
        current = ""
    return [c for c in commands if c]


def _open_quote(text: str) -> bool:
    quote = None
    for char in text:
        if quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
    return quote is not None


def commands(markdown: str) -> list[tuple[str, str]]:
    """(section, command) for every command of a manual, in order; the section is the nearest heading."""
    found, section, language, block = [], "", None, []
    for line in markdown.splitlines():
        fence = _FENCE.match(line.strip())
        if fence and language is None:
            language, block = fence.group(1).lower(), []
            continue
        if fence and language is not None:
            found += [(section, c) for c in _block_commands(language, block)]
            language = None
            continue
        if language is not None:
            block.append(line)
        elif line.startswith("#"):
            section = line.lstrip("#").strip()
    return found


def _block_commands(language: str, lines: list[str]) -> list[str]:
    if language == "sql":
        text = " ".join(line.strip() for line in lines if line.strip() and not line.strip().startswith("--"))
        return [f"{s.strip()};" for s in text.split(";") if s.strip()]
    if language not in SHELL_LANGUAGES:
        return []
    kept, heredoc = [], None
    for line in lines:
        stripped = line.strip()
        if heredoc is not None:
            heredoc = None if stripped == heredoc else heredoc
            continue
        match = _HEREDOC.search(stripped)
        if match and not stripped.startswith("#"):
            heredoc = match.group(1)
            continue  # a file written by hand (e.g. a shift log): no operator command
        if stripped and not (kept and kept[-1].endswith("\\")) and _SKIP.match(stripped) and not _open_quote_in(kept):
            continue
        kept.append(stripped)
    return _statements([k for k in kept if k])


def _open_quote_in(kept: list[str]) -> bool:
    return bool(kept) and _open_quote("\n".join(kept))
