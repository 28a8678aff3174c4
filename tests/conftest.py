"""Fixtures: a fresh Pulumi mock runtime per test, both stacks rendered once, their charts templated once, one
checkov run per stack (once per session, whichever pytest-xdist worker needs them first), a local moto server.
Helpers live in tests/support."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.runtime import STACKS, missing, program_run, start_unit_runtime  # noqa: E402
from tests.support.shared import folder_once, once, share_through  # noqa: E402
from tests.support.validators import (  # noqa: E402
    CHECKOV_CHARTS,
    CHECKOV_PROGRAM,
    run_checkov,
    templated_charts,
    templated_or_error,
)
from tools.mock_runtime import RecordingMonitor  # noqa: E402


@pytest.fixture
def mock_runtime() -> RecordingMonitor:
    """A fresh mock runtime (stack `prod`); the returned monitor records every registration, completing them in
    a shuffled order (tests/support/runtime.py ShuffledMonitor)."""
    return start_unit_runtime()


@pytest.fixture(scope="session", autouse=True)
def _workers_share_expensive_results(tmp_path_factory) -> None:
    """Each pytest-xdist worker is a process of its own: they share the renders, the templated charts and the
    validator runs through the folder common to all workers of the session (tests/support/shared.py)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        share_through(tmp_path_factory.getbasetemp().parent)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """Both stacks rendered offline exactly as `python -m tools.render` writes them (read them, never change
    them: every worker reads the same folders)."""
    from tools.render import write_render

    def render(stack: str, out: Path) -> None:
        write_render(program_run(stack), out)

    private = tmp_path_factory.getbasetemp()
    return {stack: folder_once(f"render-{stack}", partial(render, stack), private) for stack in STACKS}


@pytest.fixture(scope="session")
def charts(rendered) -> dict[str, Any]:
    """Both stacks' releases templated (`tools.charts.StackCharts` per stack)."""
    return {stack: templated_charts(stack, rendered[stack]) for stack in STACKS}


@pytest.fixture(scope="session")
def crd_schemas(charts) -> dict[str, Any]:
    """Per stack, the strict schemas of the CRDs its charts install: tests/support/crd_schemas.py."""
    from tests.support.crd_schemas import stack_schemas
    from tools.charts import ChartsUnavailableError

    try:
        return once("crd-schemas", lambda: {stack: stack_schemas(charts[stack]) for stack in STACKS})
    except ChartsUnavailableError as error:
        missing(str(error))


@pytest.fixture(scope="session")
def checkov_reports(rendered, tmp_path_factory) -> dict[str, dict[str, Any]]:
    """One checkov run per stack over the program's manifests (under `program/`) and the chart objects (under
    `charts/<release>/`, when the charts are available), so NetworkPolicies are matched to every pod they
    select. CRDs are left out: no check applies to them and they are most of the bytes."""

    def report(stack: str) -> dict[str, Any]:
        folder = tmp_path_factory.mktemp(f"checkov-{stack}")
        shutil.copytree(rendered[stack] / "manifests", folder / CHECKOV_PROGRAM)
        charts = templated_or_error(stack, rendered[stack])
        if not isinstance(charts, Exception):
            charts.write(folder / CHECKOV_CHARTS, skip_kinds={"CustomResourceDefinition"})
        return run_checkov(folder)

    return {stack: once(f"checkov-{stack}", partial(report, stack)) for stack in STACKS}


@pytest.fixture
def moto() -> Iterator[str]:
    """A moto server on 127.0.0.1 (random port) with empty state; stopped after the test."""
    import logging

    import requests
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)  # backends live in-process: drop earlier tests' state
    try:
        yield endpoint
    finally:
        requests.post(f"{endpoint}/moto-api/reset", timeout=10)
        server.stop()


def pytest_terminal_summary(terminalreporter, config) -> None:
    """Tests run in a random order (pytest-randomly): print the seed so a failure replays in the same order."""
    seed = config.getoption("randomly_seed", None)
    if seed is not None:
        terminalreporter.write_line(
            f"random order seed {seed}: replay with `.venv/bin/python -m pytest -p randomly --randomly-seed={seed}` "
            "(add `-n 0` for one process running every test in that order)"
        )
