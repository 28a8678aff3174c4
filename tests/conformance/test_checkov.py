"""checkov over every rendered manifest: zero failures; every suppression is on the object, with a reason.

The run is shared with the chart objects (tests/conformance/test_charts.py): one checkov call per stack.
"""

from __future__ import annotations

import pytest
import yaml

from tests.support.manifests import rendered_documents
from tests.support.runtime import STACKS
from tests.support.validators import CHECKOV_PROGRAM, checkov_failures, run_checkov


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_reports_no_failures(checkov_reports, stack):
    report = checkov_reports[stack]
    failed = [f"{f['check_id']} {f['resource']} ({f['file_path']})" for f in checkov_failures(report, CHECKOV_PROGRAM)]
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
    (tmp_path / CHECKOV_PROGRAM).mkdir()
    (tmp_path / CHECKOV_PROGRAM / "pod.yaml").write_text(yaml.safe_dump(pod))
    failed = checkov_failures(run_checkov(tmp_path), CHECKOV_PROGRAM)
    assert {"CKV_K8S_16", "CKV_K8S_20"} <= {f["check_id"] for f in failed}
