"""The CrossGuard policy pack (X-16): its unit tests, and the whole pack over every resource both stacks declare.

The pack pins its own protobuf, so it runs in its own virtualenv (`.venvs/policy`, `make tools`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.runtime import ROOT, STACKS, missing

POLICY_PYTHON = ROOT / ".venvs" / "policy" / "bin" / "python"


def _policy_python() -> str:
    if not POLICY_PYTHON.exists():
        missing("the policy pack's virtualenv .venvs/policy is missing (`make tools` creates it)")
    return str(POLICY_PYTHON)


def _check(render: Path, stack: str) -> subprocess.CompletedProcess:
    config = ROOT / "policy" / "config" / f"{stack}.json"
    command = [_policy_python(), str(ROOT / "policy" / "offline.py"), str(render), "--config", str(config)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_each_policy_passes_and_fails_its_own_cases():
    result = subprocess.run(
        [_policy_python(), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "policy" / "tests")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.parametrize("stack", STACKS)
def test_the_whole_pack_passes_on_everything_the_stack_declares(rendered, stack):
    result = _check(rendered[stack], stack)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("0 violations, 0 mandatory")


def test_the_pack_over_a_render_catches_a_tag_only_image_and_an_unprotected_database(rendered, tmp_path):
    resources = json.loads((rendered["prod"] / "resources.json").read_text())
    for resource in resources:
        if resource["inputs"].get("kind") == "Deployment" and resource["name"] == "docc2context-api-deployment":
            resource["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] = "example.com/docc2context:1.4.2"
        if resource["type"] == "kubernetes:postgresql.cnpg.io/v1:Cluster":
            resource["protect"] = False
    broken = tmp_path / "render"
    broken.mkdir()
    (broken / "resources.json").write_text(json.dumps(resources))
    result = _check(broken, "prod")
    assert result.returncode == 1
    assert "images-pinned" in result.stdout and "is not pinned by digest" in result.stdout
    assert result.stdout.count("[mandatory] stateful-resources-protected") == 4


@pytest.mark.parametrize("stack", STACKS)
def test_each_stacks_policy_config_follows_its_stack_file(stack):
    """Digest pinning is required where the stack pins images; data protection where it protects data."""
    config = json.loads((ROOT / "policy" / "config" / f"{stack}.json").read_text())
    values = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert bool(config.get("images-pinned", {}).get("requireDigest")) == bool(values.get("ai-platform:pinImages"))
    protection = config.get("stateful-resources-protected", {}).get("enforcementLevel", "mandatory")
    assert (protection == "mandatory") == bool(values.get("ai-platform:protectData"))
