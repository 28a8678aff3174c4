"""checkov over every rendered manifest: zero failures; every suppression is on the object, with a reason."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from tests.conftest import STACKS, need_tool, rendered_documents


def _checkov(directory) -> dict:
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


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_reports_no_failures(rendered, stack):
    report = _checkov(rendered[stack] / "manifests")
    failed = [f"{f['check_id']} {f['resource']} ({f['file_path']})" for f in report["results"]["failed_checks"]]
    assert report["summary"]["resource_count"] > 50
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("stack", STACKS)
def test_every_suppression_is_written_on_the_object_with_a_reason(rendered, stack):
    for path, doc in rendered_documents(rendered[stack]).items():
        annotations = (doc.get("metadata") or {}).get("annotations") or {}
        for key, value in annotations.items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                assert check.startswith("CKV") and len(reason.strip()) > 10, f"{path}: {key}={value}"


def test_checkov_fails_an_unhardened_pod(tmp_path):
    """The same invocation reports a privileged, root pod (so the check above can fail)."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": True}}]},
    }
    (tmp_path / "pod.yaml").write_text(yaml.safe_dump(pod))
    report = _checkov(tmp_path)
    assert {"CKV_K8S_16", "CKV_K8S_20"} <= {f["check_id"] for f in report["results"]["failed_checks"]}
