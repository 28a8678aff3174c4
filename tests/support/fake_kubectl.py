"""A stand-in for `kubectl` in the point-in-time drill's tests: CloudNativePG's recovery done by PostgreSQL itself.

It answers the calls scripts/postgres/pitr_drill.sh makes, records each one (argv and, for `create`, the
manifest) as a JSON line in $FAKE_KUBECTL_CALLS, and does what CloudNativePG would do with the scratch Cluster:

- `create -f -`: a PostgreSQL server from the base backup in $FAKE_BASE_BACKUP, replaying WAL from the archive
  $FAKE_WAL_ARCHIVE up to the manifest's `recoveryTarget.targetTime`, then promoted, listening on the Unix
  socket directory $FAKE_SCRATCH_SOCKET (the drill's SCRATCH_HOST);
- `wait cluster/<name> --for=condition=Ready`: succeeds once that server has left recovery;
- `delete cluster <name>`: stops it and removes its data;
- `get cluster <name> -o jsonpath=...`: prints a phase.

$FAKE_RECOVERY breaks it on purpose: `fail` never recovers; `latest` ignores the target and replays all WAL
(a restore that is not point-in-time). Servers run as $FAKE_RUN_AS when set (PostgreSQL refuses root).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

READY_TIMEOUT_SECONDS = 60


def main(argv: list[str]) -> int:
    manifest = sys.stdin.read() if "create" in argv else None
    with open(os.environ["FAKE_KUBECTL_CALLS"], "a") as calls:
        calls.write(json.dumps({"argv": argv, "manifest": json.loads(manifest) if manifest else None}) + "\n")
    verb = next(arg for arg in argv if not arg.startswith("-") and arg != os.environ.get("NAMESPACE"))
    if verb == "create":
        return create(json.loads(manifest or "{}"))
    if verb == "wait":
        return wait_ready()
    if verb == "delete":
        delete()
        return 0
    if verb == "get":
        print("Setting up primary: recovery did not finish")
        return 0
    print(f"fake kubectl: unexpected call {argv}", file=sys.stderr)
    return 2


def _scratch() -> tuple[Path, Path]:
    return Path(os.environ["FAKE_SCRATCH_DATA"]), Path(os.environ["FAKE_SCRATCH_SOCKET"])


def _run_as() -> list[str]:
    user = os.environ.get("FAKE_RUN_AS")
    return ["runuser", "-u", user, "--"] if user else []


def create(manifest: dict) -> int:
    data, socket = _scratch()
    if data.exists():
        print("Error from server (AlreadyExists)", file=sys.stderr)
        return 1
    if os.environ.get("FAKE_RECOVERY") == "fail":
        return 0  # accepted; it never becomes ready
    target = manifest["spec"]["bootstrap"]["recovery"]["recoveryTarget"]["targetTime"]
    shutil.copytree(os.environ["FAKE_BASE_BACKUP"], data)
    archive = os.environ["FAKE_WAL_ARCHIVE"]
    settings = [
        f"restore_command = 'cp {archive}/%f %p'",
        "listen_addresses = ''",
        f"unix_socket_directories = '{socket}'",
        "archive_mode = off",
        "recovery_target_action = 'promote'",
    ]
    if os.environ.get("FAKE_RECOVERY") != "latest":
        settings.append(f"recovery_target_time = '{target}'")
    with (data / "postgresql.auto.conf").open("a") as conf:
        conf.write("\n".join(settings) + "\n")
    (data / "recovery.signal").touch()
    socket.mkdir(exist_ok=True)
    if os.environ.get("FAKE_RUN_AS"):
        subprocess.run(["chown", "-R", os.environ["FAKE_RUN_AS"], str(data), str(socket)], check=True)
    data.chmod(0o700)
    pg_ctl = os.environ["FAKE_PG_CTL"]
    started = subprocess.run(
        [*_run_as(), pg_ctl, "-D", str(data), "-l", str(data.parent / "scratch.log"), "-W", "start"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return started.returncode


def wait_ready() -> int:
    data, socket = _scratch()
    if not (data / "postmaster.pid").exists():
        print("error: timed out waiting for the condition on clusters/scratch", file=sys.stderr)
        return 1
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        answer = subprocess.run(
            [
                os.environ["FAKE_PSQL"],
                "-X",
                "-At",
                "-h",
                str(socket),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                "SELECT pg_is_in_recovery()",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if answer.stdout.strip() == "f":
            return 0
        time.sleep(0.2)
    print("error: timed out waiting for the condition on clusters/scratch", file=sys.stderr)
    return 1


def delete() -> None:
    data, _ = _scratch()
    pid_file = data / "postmaster.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().split()[0])
        try:
            os.kill(pid, signal.SIGINT)
            for _ in range(300):
                os.kill(pid, 0)
                time.sleep(0.1)
        except ProcessLookupError:
            pass
    shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
