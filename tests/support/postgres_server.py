"""A throwaway PostgreSQL server for tests: Debian's binaries, a Unix socket in a temp dir, no TCP.

PostgreSQL refuses to run as root, so under root the server runs as the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.runtime import missing, need_tool


def pg_tool(name: str) -> str:
    """A PostgreSQL binary: on PATH, else the newest /usr/lib/postgresql/<major>/bin (Debian keeps them there)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]))
    return candidates[-1] if candidates else need_tool(name, "Debian package postgresql")


@dataclass(frozen=True)
class Runner:
    """Runs commands as the non-root user PostgreSQL needs (initdb and postgres refuse root)."""

    prefix: tuple[str, ...]
    uid: int
    gid: int

    def own(self, path: Path) -> Path:
        if os.geteuid() == 0:
            os.chown(path, self.uid, self.gid)
        return path


def server_runner() -> Runner:
    if os.geteuid() != 0:
        return Runner((), os.getuid(), os.getgid())
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        missing("running as root needs the `postgres` system user (Debian package postgresql)")
    runuser = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or need_tool("runuser")
    return Runner((runuser, "-u", "postgres", "--"), account.pw_uid, account.pw_gid)


@dataclass
class SourceServer:
    socket_dir: Path
    pgdata: Path
    psql: str

    def query(self, database: str, sql: str) -> str:
        return psql(self.psql, self.socket_dir, database, sql)


def psql(binary: str, socket_dir: Path, database: str, sql: str) -> str:
    result = subprocess.run(
        [
            binary,
            "--no-psqlrc",
            "-X",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(socket_dir),
            "-U",
            "postgres",
            "-d",
            database,
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def start_server(runner: Runner, pgdata: Path, log: Path) -> None:
    subprocess.run(
        [*runner.prefix, pg_tool("pg_ctl"), "-D", str(pgdata), "-l", str(log), "-w", "-t", "60", "start"],
        check=True,
        capture_output=True,
        timeout=90,
    )


def stop_server(pgdata: Path) -> None:
    """Fast shutdown of the postmaster whose pid is in PGDATA/postmaster.pid."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


@contextmanager
def throwaway_server(runner: Runner, workspace: Path, name: str, hba: str, ident: str = "") -> Iterator[SourceServer]:
    """initdb + start a server under WORKSPACE/NAME listening on a Unix socket only, with pg_hba.conf HBA (and
    pg_ident.conf IDENT when given); stopped on exit."""
    pgdata, socket_dir = workspace / name, workspace / f"{name}-socket"
    socket_dir.mkdir()
    runner.own(socket_dir)
    subprocess.run(
        [
            *runner.prefix,
            pg_tool("initdb"),
            "-D",
            str(pgdata),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (pgdata / "pg_hba.conf").write_text(hba)
    if ident:
        (pgdata / "pg_ident.conf").write_text(ident)
    with (pgdata / "postgresql.conf").open("a") as conf:
        conf.write(f"listen_addresses = ''\nunix_socket_directories = '{socket_dir}'\nfsync = off\n")
    start_server(runner, pgdata, workspace / f"{name}.log")
    try:
        yield SourceServer(socket_dir, pgdata, pg_tool("psql"))
    finally:
        stop_server(pgdata)
