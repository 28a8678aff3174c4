"""The point-in-time restore drill's script, run for real (X-09, S3-11).

A real PostgreSQL archives its WAL into a directory (as the Barman Cloud plugin archives into S3) and has a
base backup; `kubectl` is tests/support/fake_kubectl.py on PATH, which records every call and performs the recovery
CloudNativePG would: PostgreSQL replaying the archive up to the manifest's target time. So the drill's
target time, markers and checks meet a real point-in-time recovery; a recovery that never becomes ready, one
that ignores the target, and WAL that never reaches the archive each fail with their own message, and the
scratch cluster is deleted in every case.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres_server import Runner, pg_tool, psql, server_runner, start_server, stop_server
from tests.support.runtime import ROOT

SCRIPT = ROOT / "scripts" / "postgres" / "pitr_drill.sh"
NAMESPACE, SCRATCH = "platform-v2-stable", "platform-db-pitr"
MANIFEST = {
    "apiVersion": "postgresql.cnpg.io/v1",
    "kind": "Cluster",
    "metadata": {"name": SCRATCH, "namespace": NAMESPACE},
    "spec": {"bootstrap": {"recovery": {"source": "origin", "recoveryTarget": {"targetTime": "__TARGET_TIME__"}}}},
}
SEED_SQL = """
CREATE SCHEMA production;
CREATE TABLE production.runs (id int PRIMARY KEY, model text);
INSERT INTO production.runs SELECT i, 'model-' || i FROM generate_series(1, 100) i;
CREATE TABLE public.settings (key text PRIMARY KEY, value text);
"""


@dataclass
class Source:
    runner: Runner
    workspace: Path
    socket: Path
    archive: Path
    base_backup: Path


def _source(runner: Runner, workspace: Path, archive_command: str, base_backup: bool = True) -> Iterator[Source]:
    pgdata, socket, archive = workspace / "source", workspace / "source-socket", workspace / "archive"
    for folder in (socket, archive):
        folder.mkdir()
        runner.own(folder)
    subprocess.run(
        [*runner.prefix, pg_tool("initdb"), "-D", str(pgdata), "-U", "postgres", "--auth-local=trust", "--no-sync"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (pgdata / "pg_hba.conf").write_text("local all all trust\nlocal replication all trust\n")
    with (pgdata / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = ''\nunix_socket_directories = '{socket}'\nfsync = off\n"
            f"wal_level = replica\narchive_mode = on\narchive_command = '{archive_command}'\n"
            # CloudNativePG archives at least every 5 minutes; a second keeps the test short.
            "archive_timeout = 1\n"
        )
    start_server(runner, pgdata, workspace / "source.log")
    try:
        psql(pg_tool("psql"), socket, "postgres", "CREATE DATABASE platform")
        psql(pg_tool("psql"), socket, "platform", SEED_SQL)
        backup = workspace / "base"
        if base_backup:  # it waits until its WAL is archived
            subprocess.run(
                [
                    *runner.prefix,
                    pg_tool("pg_basebackup"),
                    "-h",
                    str(socket),
                    "-U",
                    "postgres",
                    "-D",
                    str(backup),
                    "-X",
                    "none",
                    "--checkpoint=fast",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
        yield Source(runner, workspace, socket, archive, backup)
    finally:
        stop_server(pgdata)


@pytest.fixture
def workspace() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pitr-drill-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def source(workspace) -> Iterator[Source]:
    runner = server_runner()
    runner.own(workspace)
    yield from _source(runner, workspace, f"cp %p {workspace}/archive/%f")


@dataclass
class Drill:
    result: subprocess.CompletedProcess
    calls: list[dict]


def run_drill(source: Source, archive_timeout: int = 60, **fake: str) -> Drill:
    work = source.workspace
    bin_dir = work / "bin"
    bin_dir.mkdir(exist_ok=True)
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(f'#!/bin/sh\nexec {sys.executable} {ROOT / "tests" / "support" / "fake_kubectl.py"} "$@"\n')
    kubectl.chmod(0o755)
    manifest = work / "scratch-cluster.json"
    manifest.write_text(json.dumps(MANIFEST))
    calls = work / "kubectl-calls.jsonl"
    calls.write_text("")
    env = {
        "PATH": f"{bin_dir}:{Path(pg_tool('psql')).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
        "PGHOST": str(source.socket),
        "PGUSER": "postgres",
        "PGDATABASE": "platform",
        "NAMESPACE": NAMESPACE,
        "SCRATCH_CLUSTER": SCRATCH,
        "SCRATCH_HOST": str(work / "scratch-socket"),
        "CLUSTER_MANIFEST": str(manifest),
        "ARCHIVE_TIMEOUT_SECONDS": str(archive_timeout),
        "POLL_SECONDS": "0.2",
        "FAKE_KUBECTL_CALLS": str(calls),
        "FAKE_BASE_BACKUP": str(source.base_backup),
        "FAKE_WAL_ARCHIVE": str(source.archive),
        "FAKE_SCRATCH_DATA": str(work / "scratch"),
        "FAKE_SCRATCH_SOCKET": str(work / "scratch-socket"),
        "FAKE_PG_CTL": pg_tool("pg_ctl"),
        "FAKE_PSQL": pg_tool("psql"),
        **({"FAKE_RUN_AS": "postgres"} if os.geteuid() == 0 else {}),
        **fake,
    }
    result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300, check=False)
    return Drill(result, [json.loads(line) for line in calls.read_text().splitlines()])


def verbs(drill: Drill) -> list[str]:
    return [next(a for a in call["argv"] if not a.startswith("-") and a != NAMESPACE) for call in drill.calls]


def test_the_database_recovers_to_the_target_time_and_the_scratch_cluster_is_removed(source):
    drill = run_drill(source)
    assert drill.result.returncode == 0, drill.result.stderr
    assert "OK: platform recovered to" in drill.result.stderr
    # A leftover from an earlier run is removed first, the scratch cluster is created, awaited, and removed.
    assert verbs(drill) == ["delete", "create", "wait", "delete"]
    created = drill.calls[1]
    assert created["argv"][:2] == ["-n", NAMESPACE]
    target = created["manifest"]["spec"]["bootstrap"]["recovery"]["recoveryTarget"]["targetTime"]
    assert target.endswith("+00") and target in drill.result.stderr
    assert drill.calls[3]["argv"][2:4] == ["delete", "cluster"] and SCRATCH in drill.calls[3]["argv"]
    assert not (source.workspace / "scratch").exists(), "the scratch data must be gone"
    # The source keeps both markers; only the one before the target was recovered.
    notes = psql(pg_tool("psql"), source.socket, "platform", "SELECT note FROM ai_platform_drill.markers ORDER BY id")
    assert notes.split("\n")[:2] == ["before the target", "after the target"]


def test_a_recovery_that_never_becomes_ready_fails_and_is_removed(source):
    drill = run_drill(source, FAKE_RECOVERY="fail")
    assert drill.result.returncode == 1
    assert f"PITR drill FAILED: Cluster {SCRATCH} did not recover to" in drill.result.stderr
    assert "Setting up primary: recovery did not finish" in drill.result.stderr
    assert verbs(drill) == ["delete", "create", "wait", "get", "delete"]


def test_a_restore_that_ignores_the_target_fails_the_check(source):
    drill = run_drill(source, FAKE_RECOVERY="latest")
    assert drill.result.returncode == 1
    assert "written after" in drill.result.stderr and "the recovery did not stop at the target" in drill.result.stderr
    assert verbs(drill)[-1] == "delete"
    assert not (source.workspace / "scratch").exists()


def test_wal_that_never_reaches_the_archive_fails_before_any_recovery(workspace):
    runner = server_runner()
    runner.own(workspace)
    for source in _source(runner, workspace, "false", base_backup=False):
        drill = run_drill(source, archive_timeout=3)
        assert drill.result.returncode == 1
        assert "was not archived within 3s" in drill.result.stderr
        assert "create" not in verbs(drill), "no scratch cluster without the WAL it needs"
