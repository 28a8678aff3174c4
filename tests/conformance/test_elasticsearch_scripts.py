"""The log stack's snapshot scripts run for real against a local Elasticsearch stand-in (S2-05).

The stand-in (tests/support/fake_elasticsearch.py) is an HTTP server on 127.0.0.1 that records every request.
The setup script gets the configuration the program renders (the prod render's ConfigMap), the restore check the
environment of the rendered CronJob: the recorded calls are exactly the repository, retention, template and
snapshot policy bodies, a second run changes nothing, drift is repaired alone, and a refused call fails the Job
with Elasticsearch's reason.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.fake_elasticsearch import FakeElasticsearch, serve
from tests.support.runtime import ROOT

SCRIPTS = ROOT / "scripts" / "elasticsearch"
CONFIG_MAP = "logging/ConfigMap-elasticsearch-snapshot-scripts.yaml"
CRONJOB = "logging/CronJob-elasticsearch-restore-check.yaml"
PASSWORD = "s3cret"


@pytest.fixture
def elasticsearch() -> Iterator[tuple[FakeElasticsearch, str]]:
    with serve() as running:
        yield running


def _run(script: str, url: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    password = tmp_path / "password"
    password.write_text(f"{PASSWORD}\n")
    environment = {"ES_URL": url, "ES_USERNAME": "snapshot-manager", "ES_PASSWORD_FILE": str(password), **env}
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script)], env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def setup_config(rendered, tmp_path) -> tuple[Path, dict[str, Any]]:
    """The setup configuration exactly as the prod render's ConfigMap carries it."""
    config_map = yaml.safe_load((rendered["prod"] / "manifests" / CONFIG_MAP).read_text())
    path = tmp_path / "setup-config.json"
    path.write_text(config_map["data"]["setup-config.json"])
    return path, json.loads(path.read_text())


@pytest.fixture
def check_env(rendered) -> dict[str, str]:
    """What the rendered restore-check CronJob tells its script (but where Elasticsearch and the password are)."""
    cronjob = yaml.safe_load((rendered["prod"] / "manifests" / CRONJOB).read_text())
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    return {key: env[key] for key in ("REPOSITORY", "INDEX_PREFIX", "SCRATCH_PREFIX", "MAX_AGE_HOURS")}


def test_setup_registers_exactly_the_rendered_objects_and_a_second_run_changes_nothing(
    elasticsearch, setup_config, tmp_path
):
    fake, url = elasticsearch
    path, config = setup_config
    first = _run("snapshot_setup.py", url, tmp_path, SETUP_CONFIG=str(path))
    assert first.returncode == 0, first.stderr
    puts = [(p, body) for method, p, body in fake.requests if method == "PUT"]
    assert puts == [
        ("/_snapshot/backup", config["repository"]["body"]),
        ("/_ilm/policy/platform-logs", config["ilm_policies"]["platform-logs"]),
        ("/_index_template/platform-logs", config["index_templates"]["platform-logs"]),
        ("/_slm/policy/daily-snapshots", config["slm_policies"]["daily-snapshots"]),
    ]
    # What S2-05 asks for: the bucket's own prefix, daily snapshots kept 30 days.
    assert config["repository"]["body"] == {
        "type": "s3",
        "settings": {"bucket": "acme-ai-platform-prod-backups", "base_path": "managed/logging"},
    }
    slm = config["slm_policies"]["daily-snapshots"]
    assert slm["retention"]["expire_after"] == "30d" and slm["repository"] == "backup"
    assert ("POST", "/_snapshot/backup/_verify", None) in fake.requests
    assert "verified: snapshot repository backup" in first.stdout
    assert fake.authorizations == {"Basic " + base64.b64encode(f"snapshot-manager:{PASSWORD}".encode()).decode()}

    fake.requests.clear()
    second = _run("snapshot_setup.py", url, tmp_path, SETUP_CONFIG=str(path))
    assert second.returncode == 0, second.stderr
    assert [method for method, *_ in fake.requests if method in ("PUT", "DELETE")] == []
    assert second.stdout.count("unchanged:") == 4


def test_setup_updates_only_what_drifted(elasticsearch, setup_config, tmp_path):
    fake, url = elasticsearch
    path, _ = setup_config
    assert _run("snapshot_setup.py", url, tmp_path, SETUP_CONFIG=str(path)).returncode == 0
    fake.objects["_slm/policy/daily-snapshots"]["retention"]["expire_after"] = "7d"  # changed by hand
    fake.requests.clear()
    assert _run("snapshot_setup.py", url, tmp_path, SETUP_CONFIG=str(path)).returncode == 0
    assert [(m, p) for m, p, _ in fake.requests if m == "PUT"] == [("PUT", "/_slm/policy/daily-snapshots")]


def test_a_refused_registration_fails_the_job_with_elasticsearchs_reason(elasticsearch, setup_config, tmp_path):
    fake, url = elasticsearch
    path, _ = setup_config
    fake.fail[("PUT", "/_snapshot/backup")] = (
        500,
        {"error": {"type": "repository_verification_exception", "reason": "[backup] path is not accessible"}},
    )
    result = _run("snapshot_setup.py", url, tmp_path, SETUP_CONFIG=str(path))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "ERROR: PUT /_snapshot/backup answered 500: repository_verification_exception: [backup] path is not accessible"
    )
    assert PASSWORD not in result.stderr + result.stdout


def _snapshot(name: str, hours_ago: float, state: str = "SUCCESS", indices: list[str] | None = None) -> dict:
    started = int((time.time() - hours_ago * 3600) * 1000)
    indices = indices or [".ds-logs-platform-default-2026.11.19-000001", ".ds-logs-platform-default-2026.11.20-000002"]
    return {"snapshot": name, "state": state, "start_time_in_millis": started, "indices": [".kibana_1", *indices]}


def test_restore_check_restores_the_newest_log_index_of_the_newest_snapshot(elasticsearch, check_env, tmp_path):
    fake, url = elasticsearch
    fake.snapshots = [_snapshot("daily-old", 30), _snapshot("daily-new", 3), _snapshot("daily-failed", 1, "FAILED")]
    result = _run("restore_check.py", url, tmp_path, **check_env)
    assert result.returncode == 0, result.stderr
    restores = [(p, body) for m, p, body in fake.requests if p.endswith("/_restore?wait_for_completion=true")]
    assert len(restores) == 1
    path, body = restores[0]
    assert path == "/_snapshot/backup/daily-new/_restore?wait_for_completion=true"
    assert body["indices"] == ".ds-logs-platform-default-2026.11.20-000002"
    assert body["rename_replacement"] == "restore-check-ds-logs-platform-default-2026.11.20-000002"
    assert body["include_global_state"] is False
    assert fake.indices == set()  # the scratch index is gone again
    assert "42 documents" in result.stdout


@pytest.mark.parametrize(
    ("snapshot", "documents", "message"),
    [
        (("daily-stale", 40), 42, "daily-stale is 40.0 h old (more than 26 h)"),
        (("daily-x", 2, "FAILED"), 42, "the repository holds no successful snapshot"),
        (("daily-empty", 2, "SUCCESS", [".kibana_2"]), 42, "holds no index starting with .ds-logs-platform-"),
        (("daily-new", 2), 0, "holds no document"),
    ],
)
def test_restore_check_fails_clearly(elasticsearch, check_env, tmp_path, snapshot, documents, message):
    fake, url = elasticsearch
    # Made when the test runs, not when it is collected: its age is measured from now.
    fake.snapshots, fake.restored_docs = [_snapshot(*snapshot)], documents
    result = _run("restore_check.py", url, tmp_path, **check_env)
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR: ") and message in result.stderr, result.stderr
