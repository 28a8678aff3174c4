"""The runbook map: every operator command of the five manuals and its equivalent on this platform (X-16, S4-07).

The manuals themselves are in `docs/manuals/`. The map is data, one file per manual (`runbooks/<manual>.yaml`):
for each command of the manual, in the manual's
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
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import yaml

from tools import markdown

ROOT = Path(__file__).resolve().parent.parent
MAP_DIR = ROOT / "runbooks"
MANUALS_DIR = ROOT / "docs" / "manuals"
DOCUMENT = ROOT / "RUNBOOKS.md"
ROLES = {
    "operator": "Role `ai-platform-operator` (group `ai-platform-operators`): reads",
    "oncall": "Role `ai-platform-oncall` (group `ai-platform-oncall`): reads, exec, port-forward, restarts",
    "deployer": "Role `ai-platform-deployer` (group `ai-platform-deployers`): releases, scale, rollbacks",
    "pulumi": "a config change and `pulumi up` through CI (the deploy role, after review)",
    "backup-operator": "the AWS role `backup.operatorRoleArn` (reads and restores backups)",
    "monitoring": "the login the Gateway asks for at `prom.` and `grafana.` (user `ops`, Secret `monitoring-login` in "
    "`public-gateway`; X-15)",
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
    """One command of a manual (once, with every section it appears in) and what it is on this platform."""

    sections: tuple[str, ...]
    """Headings of the manual the command appears under."""
    manual: str
    """The command as the manual writes it."""
    equivalent: tuple[str, ...] = ()
    """Commands that do it here, in order (`$DOMAIN`: the stack's domain, `$BUCKET`: its backup bucket)."""
    role: str | None = None
    """Who runs the equivalent: a key of ROLES."""
    note: str = ""
    """What differs, and why."""
    not_applicable: str = ""
    """Why the command has no place on Kubernetes or this platform."""
    gap: str = ""
    """The command applies, but the part it needs is not deployed yet."""


@dataclass(frozen=True)
class Runbook:
    file: str
    """The manual's file name."""
    title: str
    service: str
    """The catalog's service the manual is about."""
    entries: tuple[Entry, ...]


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
    found: list[tuple[str, str]] = []
    block: list[str] = []
    section, language = "", None
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
    kept: list[str] = []
    heredoc = None
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


def manuals(directory: Path = MANUALS_DIR) -> dict[str, str]:
    """The operations manuals by file name (`<nnn>-<title>.md`; the directory's README is not one)."""
    return {path.name: path.read_text() for path in sorted(directory.glob("[0-9][0-9][0-9]-*.md"))}


# --- the map ------------------------------------------------------------------------------------


def load(directory: Path = MAP_DIR) -> list[Runbook]:
    """Every runbook map, in manual order; a malformed entry raises ValueError naming the file and command."""
    return [_runbook(path) for path in sorted(directory.glob("*.yaml"))]


def _runbook(path: Path) -> Runbook:
    doc = yaml.safe_load(path.read_text())
    entries = tuple(_entry(path.name, raw) for raw in doc["commands"])
    return Runbook(doc["manual"], doc["title"], doc["service"], entries)


def _entry(file: str, raw: dict[str, Any]) -> Entry:
    where = f"{file}: {raw.get('manual')!r}"
    kinds = [key for key in ("equivalent", "not_applicable", "gap") if raw.get(key)]
    if len(kinds) != 1:
        raise ValueError(f"{where}: give exactly one of equivalent, not_applicable or gap, got {kinds}")
    if raw.get("equivalent") and raw.get("role") not in ROLES:
        raise ValueError(f"{where}: role must be one of {sorted(ROLES)}, got {raw.get('role')!r}")
    return Entry(
        sections=tuple(raw["sections"]),
        manual=raw["manual"],
        equivalent=tuple(raw.get("equivalent") or ()),
        role=raw.get("role"),
        note=raw.get("note", ""),
        not_applicable=raw.get("not_applicable", ""),
        gap=raw.get("gap", ""),
    )


# --- RUNBOOKS.md ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    commands: int
    """Commands of the manual, each occurrence counted."""
    unique: int
    mapped: int
    """Commands with an equivalent (as written included)."""
    as_written: int
    """Equivalents that are the manual's command itself."""
    not_applicable: int
    gaps: int


def counts(runbook: Runbook) -> Counts:
    entries = runbook.entries
    return Counts(
        commands=sum(len(e.sections) for e in entries),
        unique=len(entries),
        mapped=sum(1 for e in entries if e.equivalent),
        as_written=sum(1 for e in entries if e.equivalent == (e.manual,)),
        not_applicable=sum(1 for e in entries if e.not_applicable),
        gaps=sum(1 for e in entries if e.gap),
    )


INTRO = """\
# Runbooks: the manuals' commands on this platform

Generated by `python -m tools.runbooks` from `runbooks/*.yaml` (a test fails when this file is stale); each
equivalent is checked against the render of both stacks by `tests/stack/test_runbooks.py`: the namespaces,
objects, containers, ports, Secret keys, database logins and hosts it names exist, and its Role grants every
API request it makes. Commands in the manuals' words come first, then what to run here.

Set once per shell: `DOMAIN=$(pulumi config get domain)` (the public hosts are `<app>.$DOMAIN`, `api.`,
`prom.` and `grafana.$DOMAIN`) and `BUCKET=$(pulumi stack output backupBucket | jq -r .name)`; for `prom.` and
`grafana.`, `MONITORING_PASSWORD` is the password of the Gateway's login (README: Releases). A trailing `&` runs a
port-forward in the background; stop it with `kill %1`.

Who runs what (S4-07, X-16; README: Access):

{roles}
{totals}"""


TOTALS_HEADER = (
    "manual",
    "commands",
    "distinct",
    "mapped",
    "of which as written",
    "not applicable",
    "not deployed yet",
)


def document(runbooks: list[Runbook]) -> str:
    rows = [
        (f"[{runbook.title}](#{_anchor(runbook.title)})", *(str(n) for n in astuple(counts(runbook))))
        for runbook in runbooks
    ]
    totals = [sum(column) for column in zip(*(astuple(counts(r)) for r in runbooks), strict=True)]
    rows.append(("**all**", *(f"**{n}**" for n in totals)))
    roles = markdown.table(("role", "who"), [(f"`{key}`", text) for key, text in ROLES.items()])
    parts = [INTRO.format(roles=roles, totals=markdown.table(TOTALS_HEADER, rows))]
    for runbook in runbooks:
        parts.append(_manual_section(runbook))
    return "\n".join(parts).rstrip() + "\n"


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def _manual_section(runbook: Runbook) -> str:
    lines = [f"## {runbook.title}", "", f"`{runbook.file}`, service `{runbook.service}`.", ""]
    for entry in runbook.entries:
        sections = ", ".join(dict.fromkeys(entry.sections))
        lines += [f"- **{sections}**: `{_one_line(entry.manual)}`", ""]
        if entry.equivalent:
            lines += ["  ```sh", *(f"  {command}" for command in entry.equivalent), "  ```", ""]
            verdict = "as written" if entry.equivalent == (entry.manual,) else f"as `{entry.role}`"
            lines += [f"  {verdict}{': ' + entry.note if entry.note else ''}", ""]
        elif entry.gap:
            lines += [f"  *Not deployed yet:* {entry.gap}", ""]
        else:
            lines += [f"  *Not applicable:* {entry.not_applicable}", ""]
    return "\n".join(lines)


def _one_line(command: str) -> str:
    return re.sub(r"\s*\\\n\s*|\n\s*", " ", command).replace("`", "'")


def main(argv: list[str]) -> int:
    DOCUMENT.write_text(document(load()))
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
