"""The README's generated sections (alert table, ...) match the code: `python -m tools.readme` updates them."""

import pytest

from tests.support.runtime import program_run
from tools.readme import README, SECTIONS, current


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_readme_section_matches_the_code(name):
    text = README.read_text()
    found = current(text, name)
    assert found is not None, f"README.md has no <!-- BEGIN {name} --> section"
    assert found == SECTIONS[name](program_run).strip(), (
        f"README section {name!r} is stale: run `python -m tools.readme`"
    )
