"""On-call runs the manuals' psql and pg_dump as the database owner with no password (S4-07, X-12).

A real PostgreSQL gets CloudNativePG's fixed rule (`local all all peer map=local`, map `local`: the instance's OS
user as `postgres`) plus the `pg_ident` lines the program renders, and the databases, owners and schema roles of
prod's Clusters. Then every psql, pg_dump and pg_restore command the runbook map runs inside an instance
(`kubectl exec ... -c postgres -- <command>`) runs here as that OS user, unchanged but for the socket (PGHOST):
each one gets in as the login it names. Without the program's lines, the owner is refused, as the issue found.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.kubectl_checks import segments
from tests.support.manifests import rendered_documents
from tests.support.postgres_server import Runner, SourceServer, pg_tool, server_runner, throwaway_server
from tools import runbooks

CNPG_RULE = "local all all peer map=local\n"
REFUSED = ("authentication failed", "Peer authentication", "permission denied", "no pg_hba.conf entry")


@pytest.fixture(scope="module")
def runner() -> Runner:
    pg_tool("initdb")
    return server_runner()


@pytest.fixture(scope="module")
def workspace(runner) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pgoncall-", dir="/tmp"))
    path.chmod(0o755)
    runner.own(path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _clusters(rendered) -> list[dict[str, Any]]:
    return [doc["spec"] for doc in rendered_documents(rendered["prod"]).values() if doc["kind"] == "Cluster"]


def _os_user(runner: Runner) -> str:
    return pwd.getpwuid(runner.uid).pw_name


def _ident(runner: Runner, clusters: list[dict[str, Any]], with_program_lines: bool = True) -> str:
    """pg_ident.conf as CloudNativePG writes it, for the OS user the test's server and clients run as."""
    user = _os_user(runner)
    lines = [f"local {user} postgres"]
    if with_program_lines:
        lines += [line.replace(" postgres ", f" {user} ", 1) for c in clusters for line in c["postgresql"]["pg_ident"]]
    return "\n".join(lines) + "\n"


def _run(runner: Runner, server: SourceServer, argv: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PGHOST": str(server.socket_dir), "PGCONNECT_TIMEOUT": "10"}
    return subprocess.run(
        [*runner.prefix, "env", f"PGHOST={server.socket_dir}", pg_tool(argv[0]), *argv[1:]],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def _bootstrap(runner: Runner, server: SourceServer, clusters: list[dict[str, Any]]) -> None:
    """What CloudNativePG's initdb and managed roles make: each owner and database, the schemas and schema roles."""
    for spec in clusters:
        initdb = spec["bootstrap"]["initdb"]
        owner, database = initdb["owner"], initdb["database"]
        statements = [f'CREATE ROLE "{owner}" LOGIN', f'CREATE DATABASE "{database}" OWNER "{owner}"']
        for sql in statements:
            assert _run(runner, server, ["psql", "-U", "postgres", "-d", "postgres", "-c", sql]).returncode == 0
        sql = ";\n".join(initdb.get("postInitApplicationSQL", []))
        roles = [role["name"] for role in spec.get("managed", {}).get("roles", [])]
        sql += "".join(f';\nALTER ROLE "{role}" LOGIN NOINHERIT' for role in roles)
        if sql:
            result = _run(runner, server, ["psql", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d", database], sql)
            assert result.returncode == 0, result.stderr


def _instance_commands() -> list[list[str]]:
    """argv of every psql/pg_dump/pg_restore the runbook map runs inside a database instance."""
    found = []
    for runbook in runbooks.load():
        for entry in runbook.entries:
            for command in entry.equivalent:
                for tokens in segments(command):
                    if tokens[:2] == ["kubectl", "exec"] and "--" in tokens and "postgres" in tokens:
                        inner = tokens[tokens.index("--") + 1 :]
                        if inner[0] in ("psql", "pg_dump", "pg_restore"):
                            found.append(inner)
    return found


def test_every_database_command_of_the_runbooks_gets_in_as_the_login_it_names(rendered, runner, workspace):
    clusters = _clusters(rendered)
    commands = _instance_commands()
    assert len(commands) >= 30, "the manuals' psql and pg_dump steps"
    with throwaway_server(runner, workspace, "cnpg", CNPG_RULE, _ident(runner, clusters)) as server:
        _bootstrap(runner, server, clusters)
        refused = {}
        for argv in commands:
            result = _run(runner, server, argv)
            if any(marker in result.stderr for marker in REFUSED):
                refused[shlex.join(argv)] = result.stderr.strip()
        assert refused == {}
        # The owners' everyday steps succeed outright, the V1 and V3 roles dump their own schemas.
        for argv in (
            ["psql", "-U", "platform_user", "-d", "platform", "-c", "SELECT 1"],
            ["pg_dump", "-U", "platform_v1", "-n", "experiments_v1", "-d", "platform"],
            ["pg_dump", "-U", "benchmark_user", "-d", "benchmark_db"],
        ):
            result = _run(runner, server, argv)
            assert result.returncode == 0, result.stderr
        whoami = ["psql", "-At", "-U", "benchmark_user", "-d", "benchmark_db", "-c", "SELECT current_user"]
        assert _run(runner, server, whoami).stdout.strip() == "benchmark_user"


def test_without_the_programs_map_the_owner_is_refused(rendered, runner, workspace):
    """What the issue found: CloudNativePG's own map lets the instance's OS user in as `postgres` only."""
    clusters = _clusters(rendered)
    ident = _ident(runner, clusters, with_program_lines=False)
    with throwaway_server(runner, workspace, "cnpg-stock", CNPG_RULE, ident) as server:
        _bootstrap(runner, server, clusters)
        result = _run(runner, server, ["psql", "-U", "benchmark_user", "-d", "benchmark_db", "-c", "SELECT 1"])
        assert result.returncode != 0 and "Peer authentication failed" in result.stderr
