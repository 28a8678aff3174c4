"""S4-04 at the database level: V1 and V3 connect as their own roles and cannot use V2's schema.

The platform database's bootstrap SQL and managed roles, taken from the rendered CloudNativePG Cluster,
run against a real PostgreSQL; CNPG's part (login and password of each managed role) is replayed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.postgres_server import pg_tool, server_runner, throwaway_server
from tests.support.runtime import program_run

PASSWORD = "role-test-password"
SEED = "CREATE TABLE production.runs (id int); INSERT INTO production.runs VALUES (1)"


@pytest.fixture(scope="module")
def platform_db():
    cluster = program_run("prod").one("kubernetes:postgresql.cnpg.io/v1:Cluster", "platform-db-cluster").inputs
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    roles = [role["name"] for role in cluster["spec"]["managed"]["roles"]]
    runner = server_runner()
    workspace = Path(tempfile.mkdtemp(prefix="pgroles-", dir="/tmp"))
    workspace.chmod(0o755)
    runner.own(workspace)
    hba = "local all postgres trust\nlocal all all scram-sha-256\n"
    with throwaway_server(runner, workspace, "roles", hba) as db:
        db.query("postgres", f"CREATE ROLE {initdb['owner']} LOGIN PASSWORD '{PASSWORD}'")
        db.query("postgres", f"CREATE DATABASE {initdb['database']} OWNER {initdb['owner']}")
        for statement in initdb["postInitApplicationSQL"]:
            db.query(initdb["database"], statement)
        for role in roles:  # what CNPG's managed roles do once the cluster runs
            db.query("postgres", f"ALTER ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
        # V2's data, which each test reads or must not reach (the tests run in any order).
        seeded = _as(db, initdb["database"], initdb["owner"], SEED)
        assert seeded.returncode == 0, seeded.stderr
        yield db, initdb["database"], initdb["owner"], roles
    shutil.rmtree(workspace, ignore_errors=True)


def _as(db, database: str, role: str, sql: str) -> subprocess.CompletedProcess:
    command = [pg_tool("psql"), "--no-psqlrc", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(db.socket_dir)]
    return subprocess.run(
        [*command, "-U", role, "-d", database, "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PGPASSWORD": PASSWORD},
    )


def test_each_tier_role_owns_only_its_schema(platform_db):
    db, database, _, roles = platform_db
    assert sorted(roles) == ["platform_v1", "platform_v3"]
    own = {"platform_v1": "experiments_v1", "platform_v3": "quarantine"}
    for role, schema in own.items():
        created = _as(db, database, role, f"CREATE TABLE {schema}.t (id int); INSERT INTO {schema}.t VALUES (1)")
        assert created.returncode == 0, created.stderr
        denied = _as(db, database, role, "SELECT count(*) FROM production.runs")
        assert denied.returncode != 0 and "permission denied for schema production" in denied.stderr
        assert _as(db, database, role, "CREATE TABLE production.x (id int)").returncode != 0
        other = own["platform_v3" if role == "platform_v1" else "platform_v1"]
        assert _as(db, database, role, f"SELECT * FROM {other}.t").returncode != 0


def test_the_owner_reaches_every_schema_so_the_nightly_dump_does(platform_db):
    db, database, owner, _ = platform_db
    result = _as(db, database, owner, "SELECT count(*) FROM production.runs")
    assert result.returncode == 0 and result.stdout.strip() == "1"
    # Tables a tier creates in its own schema, read by the owner exactly as the dump job reads them.
    for role, schema in (("platform_v1", "experiments_v1"), ("platform_v3", "quarantine")):
        created = _as(
            db,
            database,
            role,
            f"CREATE TABLE {schema}.owned_by_tier (id int); INSERT INTO {schema}.owned_by_tier VALUES (7)",
        )
        assert created.returncode == 0, created.stderr
    dump = subprocess.run(
        [pg_tool("pg_dump"), "--format=plain", "-h", str(db.socket_dir), "-U", owner, database],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PGPASSWORD": PASSWORD},
    )
    assert dump.returncode == 0, dump.stderr
    assert "experiments_v1.owned_by_tier" in dump.stdout and "quarantine.owned_by_tier" in dump.stdout
