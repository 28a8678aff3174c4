"""The validators that run over whole renders: the charts templated with the program's values, and checkov."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate.utils

from tests.support.runtime import missing, need_tool
from tests.support.shared import once

# kubernetes-validate reads and parses its schema files for every object it validates (the definitions file is
# megabytes: most of the time of a validation). They are read-only package data: read each once per process.
kubernetes_validate.utils.schema_contents = functools.lru_cache(maxsize=None)(kubernetes_validate.utils.schema_contents)


def templated_charts(stack: str, render: Path):
    """Every Helm release of STACK's RENDER templated with the program's values (`tools.charts.StackCharts`), once
    per test session; fails under CI=true when helm or a chart archive is missing (AI_PLATFORM_CHART_DIR), skips
    elsewhere."""
    found = templated_or_error(stack, render)
    if isinstance(found, Exception):
        missing(str(found))
    return found


def templated_or_error(stack: str, render: Path):
    """As `templated_charts`, or the ChartsUnavailableError saying why the charts cannot be templated."""
    return once(f"charts-{stack}", lambda: _template_or_error(render))


def _template_or_error(render: Path):
    from tools.charts import ChartsUnavailableError, template_render

    try:
        return template_render(render)
    except ChartsUnavailableError as error:
        return error


def run_checkov(directory: Path) -> dict[str, Any]:
    """checkov's JSON report of the Kubernetes manifests under DIRECTORY."""
    checkov = need_tool("checkov", "runs in its own virtualenv under .venvs/checkov")
    result = subprocess.run(
        [checkov, "-d", str(directory), "--framework", "kubernetes", "--skip-download", "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


CHECKOV_PROGRAM, CHECKOV_CHARTS = "program", "charts"


def checkov_failures(report: dict[str, Any], part: str) -> list[dict[str, Any]]:
    """The failed checks of REPORT in files under PART (`program` or `charts`)."""
    return [f for f in report["results"]["failed_checks"] if f["file_path"].startswith(f"/{part}/")]
