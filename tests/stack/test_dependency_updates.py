"""Every pin gets its update proposed: renovate.json's managers see every chart and image of versions.py, the
Pulumi CLI version of the workflows and the lock files (X-14)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

import versions
from tests.support.runtime import ROOT

RENOVATE = json.loads((ROOT / "renovate.json").read_text())


def _python_regex(javascript: str) -> re.Pattern[str]:
    """Renovate's matchStrings are JavaScript regexes: named groups are `(?<name>...)`."""
    return re.compile(javascript.replace("(?<", "(?P<"), re.M)


def _found(path: str) -> list[dict[str, str]]:
    """What the custom managers that cover PATH extract from it, as Renovate would."""
    text = (ROOT / path).read_text()
    found = []
    for manager in RENOVATE["customManagers"]:
        if not any(re.search(pattern.strip("/"), path) for pattern in manager["managerFilePatterns"]):
            continue
        for pattern in manager["matchStrings"]:
            for match in _python_regex(pattern).finditer(text):
                found.append({**match.groupdict(), "datasource": manager["datasourceTemplate"]})
    return found


@pytest.mark.parametrize("chart", versions.CHARTS, ids=lambda chart: chart.name)
def test_every_chart_pin_is_watched(chart):
    seen = [d for d in _found("versions.py") if chart.name in (d.get("depName"), d.get("chart"))]
    assert len(seen) == 1, f"{chart.name} is matched {len(seen)} times"
    assert seen[0]["currentValue"] == chart.version
    assert seen[0]["datasource"] == ("docker" if chart.is_oci else "helm")


IMAGES = {name: value for name, value in vars(versions).items() if name.endswith("_IMAGE")}


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_every_image_pin_is_watched(name):
    repository, tag = IMAGES[name].rsplit(":", 1)
    seen = [d for d in _found("versions.py") if d.get("depName") == repository]
    assert [(d["currentValue"], d["datasource"]) for d in seen] == [(tag, "docker")]


def test_the_pulumi_cli_version_is_watched():
    [seen] = _found(".pulumi-version")
    assert seen["currentValue"] == (ROOT / ".pulumi-version").read_text().strip()


def test_every_lock_file_is_maintained_from_its_input():
    pattern = re.compile(RENOVATE["pip-compile"]["managerFilePatterns"][0].strip("/"))
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    locks = [path for path in tracked.splitlines() if re.search(r"(^|/)requirements[^/]*\.txt$", path)]
    assert locks and all(pattern.search(lock) and (ROOT / lock).with_suffix(".in").exists() for lock in locks)
