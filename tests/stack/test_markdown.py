"""The Markdown table every tool prints: a header, the separator, a line per row, each line ended."""

from __future__ import annotations

from tools.markdown import table


def test_a_table_is_its_header_its_separator_and_a_line_per_row():
    assert table(("a", "b"), [("1", "x"), ("2", "")]) == "| a | b |\n|---|---|\n| 1 | x |\n| 2 |  |\n"


def test_a_table_without_rows_is_its_header():
    assert table(("only",), []) == "| only |\n|---|\n"
