"""The log-follower sidecar: the files an app writes to its log directories reach the node's log shipper (S2-04;
manual 001's `/app/logs/application.log`)."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
from typing import Any

import pytest

from components.app_deployment import AppDeployment, AppDeploymentArgs, Probe, Probes, Resources, WritableDir
from components.log_follower import FOLLOW_LOGS_SCRIPT, LogFollower
from tests.support.runtime import synth

FOLLOWER = LogFollower("busybox:1.37.0")


def _pod(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        namespace="team",
        image="registry.example.com/app:1.0.0",
        port=8000,
        probes=Probes(liveness=Probe("/health"), readiness=Probe("/ready")),
        resources=Resources({"cpu": "250m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"}),
        container_name="api",
        writable_dirs=(WritableDir("/app/results", "1Gi"), WritableDir("/app/logs", "1Gi", logs=True)),
        log_follower=FOLLOWER,
    )
    base.update(overrides)
    built = synth(lambda: AppDeployment("web", AppDeploymentArgs(**base)))
    return built.manifests[("Deployment", "web")]["spec"]["template"]


def test_the_follower_reads_the_log_directories_read_only_as_the_apps_user():
    template = _pod()
    app, follower = template["spec"]["containers"]
    assert follower["name"] == "log-follower" and follower["image"] == "busybox:1.37.0"
    assert follower["command"][:2] == ["sh", "-c"] and follower["command"][-1] == "/app/logs"
    mounts = {m["mountPath"]: m for m in follower["volumeMounts"]}
    assert mounts.keys() == {"/tmp", "/app/logs"}, "only the log directory, not the app's other data"
    assert mounts["/app/logs"]["readOnly"] is True
    assert mounts["/app/logs"]["name"] == {m["mountPath"]: m["name"] for m in app["volumeMounts"]}["/app/logs"]
    assert follower["securityContext"]["runAsUser"] == app["securityContext"]["runAsUser"]
    assert follower["securityContext"]["readOnlyRootFilesystem"] is True
    assert follower["livenessProbe"]["exec"] and follower["resources"]["limits"]["memory"] == "32Mi"
    # `kubectl logs <pod>` keeps showing the app, as the manuals expect.
    assert template["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"] == "api"


@pytest.mark.parametrize(
    "change",
    [{"log_follower": None}, {"writable_dirs": (WritableDir("/app/results", "1Gi"),)}],
    ids=["log aggregation off", "no log directory"],
)
def test_no_follower_without_log_aggregation_or_log_directories(change):
    template = _pod(**change)
    assert [c["name"] for c in template["spec"]["containers"]] == ["api"]
    assert "follower-tmp" not in {v["name"] for v in template["spec"]["volumes"]}


def test_the_follower_script_prints_every_log_file_including_new_ones(tmp_path):
    """The sidecar's script run for real with the system's sh and tail: existing and new files, other files not."""
    sh = shutil.which("sh")
    assert sh
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "application.log").write_text('{"level":"info","message":"started"}\n')
    (logs / "notes.txt").write_text("not a log\n")
    script = FOLLOW_LOGS_SCRIPT.replace("/tmp/heartbeat", str(tmp_path / "heartbeat"))
    process = subprocess.Popen(
        [sh, "-c", script, "log-follower", str(logs)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "FOLLOW_INTERVAL_SECONDS": "1"},
        start_new_session=True,
    )
    assert process.stdout is not None
    output = process.stdout

    def next_line() -> str:
        ready, _, _ = select.select([output], [], [], 30)
        assert ready, "the follower printed nothing within 30 s"
        return output.readline()

    try:
        lines = [next_line()]
        (logs / "worker.log").write_text("second file\n")
        lines.append(next_line())  # once the loop has found the new file
        with (logs / "application.log").open("a") as handle:
            handle.write("appended\n")
        lines.append(next_line())
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the script and the tails it started
        process.wait(timeout=10)
    assert lines == ['{"level":"info","message":"started"}\n', "second file\n", "appended\n"]
    assert (tmp_path / "heartbeat").exists()
