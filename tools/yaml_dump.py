"""YAML exactly as `yaml.safe_dump(doc, sort_keys=False)` writes it, faster: the render's files stay byte for byte
what PyYAML's Python emitter wrote, in a fraction of the time.

- libyaml (PyYAML's C emitter) writes every document on which the two emitters agree. They disagree on where
  to fold a long double-quoted string (libyaml only at spaces, PyYAML also right after an escape) and on an
  empty key, so a document with such a string (a line break followed or preceded by a space, a tab, a
  non-ASCII character...) or key goes through
- PyYAML's Python emitter, with its two per-character loops over a string replaced by equivalents that jump
  from one character that matters to the next: deciding that a string needs double quotes, and writing it
  double-quoted (escapes and folds at the same places).

tests/stack/test_render_yaml.py holds both stacks' renders and a set of awkward strings to PyYAML's bytes.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.emitter import ScalarAnalysis

_LIBYAML = hasattr(yaml, "CSafeDumper")

# A character PyYAML only writes escaped (outside printable ASCII but for the line feed), or a space next to a
# line break: either way the string can only be double-quoted.
_NEEDS_DOUBLE_QUOTES = re.compile(r"[^\n\x20-\x7e]| \n|\n ")
_LINE_BREAKS = re.compile("[\n\x85\u2028\u2029]")
# What write_double_quoted acts on: a space (a place to fold), a character to escape.
_SPACE_OR_ESCAPED = re.compile(r'[ "\\]|[^\x20-\x7e]')


def dump(doc: Any) -> str:
    """DOC as `yaml.safe_dump(doc, sort_keys=False)` writes it."""
    return yaml.dump(doc, Dumper=yaml.CSafeDumper if libyaml_writes(doc) else SafeDumper, sort_keys=False)


def libyaml_writes(doc: Any) -> bool:
    """Whether `dump` writes DOC through libyaml: it is installed and the emitters agree on DOC."""
    return _LIBYAML and not _disagreement(doc)


def _disagreement(value: Any) -> bool:
    """Something of VALUE the emitters write differently: a string that needs double quotes, an empty key
    (PyYAML writes `? ''`, libyaml `'':`)."""
    if isinstance(value, dict):
        return any(key == "" or _disagreement(key) or _disagreement(item) for key, item in value.items())
    if isinstance(value, list):
        return any(map(_disagreement, value))
    return isinstance(value, str) and _NEEDS_DOUBLE_QUOTES.search(value) is not None


class SafeDumper(yaml.SafeDumper):
    """yaml.SafeDumper writing the same text with fewer steps per character of a double-quoted string (to a
    `str` stream, without allow_unicode: what `yaml.safe_dump` does; anything else takes PyYAML's own path)."""

    def analyze_scalar(self, scalar: str) -> ScalarAnalysis:
        if self.allow_unicode or not _NEEDS_DOUBLE_QUOTES.search(scalar):
            return super().analyze_scalar(scalar)
        # PyYAML's analysis of such a string: neither plain nor single-quoted (special characters or a space
        # next to a break), multiline when it breaks, a block scalar only without trailing space or the above.
        special = any(not ("\x20" <= ch <= "\x7e" or ch == "\n") for ch in set(scalar))
        return ScalarAnalysis(
            scalar=scalar,
            empty=False,
            multiline=bool(_LINE_BREAKS.search(scalar)),
            allow_flow_plain=False,
            allow_block_plain=False,
            allow_single_quoted=False,
            allow_double_quoted=True,
            allow_block=not (special or " \n" in scalar or scalar.endswith(" ")),
        )

    def write_double_quoted(self, text: str, split: bool = True) -> None:
        """PyYAML's write_double_quoted, visiting only the characters it acts on: spaces, characters it escapes,
        and the character after each escape (the other places it may fold)."""
        if self.allow_unicode or self.encoding:
            return super().write_double_quoted(text, split)
        self.write_indicator('"', True)
        self._start = 0
        after_escape = -1
        for match in _SPACE_OR_ESCAPED.finditer(text):
            end, ch = match.start(), match.group()
            if 0 <= after_escape < end:
                self._visit(text, after_escape, text[after_escape], False, split)
            after_escape = -1
            escaped = ch != " "
            self._visit(text, end, ch, escaped, split)
            if escaped:
                after_escape = end + 1
        if 0 <= after_escape < len(text):
            self._visit(text, after_escape, text[after_escape], False, split)
        self._visit(text, len(text), None, True, split)
        self.write_indicator('"', False)
        return None

    def _visit(self, text: str, end: int, ch: str | None, escaped: bool, split: bool) -> None:
        """One step of PyYAML's loop, at END (CH is None past the last character)."""
        start = self._start
        if escaped:
            if start < end:
                self.column += end - start
                self.stream.write(text[start:end])
                start = end
            if ch is not None:
                if ch in self.ESCAPE_REPLACEMENTS:
                    data = "\\" + self.ESCAPE_REPLACEMENTS[ch]
                elif ch <= "\xff":
                    data = f"\\x{ord(ch):02X}"
                elif ch <= "\uffff":
                    data = f"\\u{ord(ch):04X}"
                else:
                    data = f"\\U{ord(ch):08X}"
                self.column += len(data)
                self.stream.write(data)
                start = end + 1
        if (
            0 < end < len(text) - 1
            and (ch == " " or start >= end)
            and self.column + (end - start) > self.best_width
            and split
        ):
            data = text[start:end] + "\\"
            if start < end:
                start = end
            self.column += len(data)
            self.stream.write(data)
            self.write_indent()
            self.whitespace = False
            self.indention = False
            if text[start] == " ":
                self.column += 1
                self.stream.write("\\")
        self._start = start
