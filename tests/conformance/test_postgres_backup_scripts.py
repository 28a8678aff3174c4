"""The logical-dump and restore-check scripts, run for real against PostgreSQL and an S3 server (moto)
on loopback / Unix sockets (X-09, S1-09, S3-11, S4-05).

The scripts run in the same order as the CronJobs run them: dump.sh then upload_dump.sh (dump job),
fetch_latest_dump.sh then restore_check.sh (restore-check job). PostgreSQL runs as a non-root user
(`postgres` when the tests run as root), like the jobs' uid 999.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.aws import MOTO_REGION, moto_client
from tests.support.postgres_server import (
    Runner,
    SourceServer,
    pg_tool,
    psql,
    server_runner,
    start_server,
    stop_server,
    throwaway_server,
)
from tests.support.runtime import ROOT, need_tool

SCRIPTS = ROOT / "scripts" / "postgres"
SCHEMAS = ("production", "experiments_v1", "quarantine", "audit")
OWNER, OWNER_PASSWORD, DATABASE = "platform_user", "owner-test-password", "platform"

SEED_SQL = f"""
CREATE EXTENSION pg_stat_statements;
SET ROLE {OWNER};
CREATE SCHEMA production; CREATE SCHEMA experiments_v1; CREATE SCHEMA quarantine; CREATE SCHEMA audit;
CREATE TABLE production.runs (id int PRIMARY KEY, model text NOT NULL, score numeric(6, 3));
INSERT INTO production.runs SELECT i, 'model-' || (i % 7), i / 10.0 FROM generate_series(1, 500) i;
CREATE TABLE production."Run Notes" (id serial PRIMARY KEY, run_id int REFERENCES production.runs, note text);
INSERT INTO production."Run Notes" (run_id, note) SELECT i, 'note ' || i FROM generate_series(1, 120) i;
CREATE TABLE experiments_v1.trials (id bigint PRIMARY KEY, params jsonb, started timestamptz);
INSERT INTO experiments_v1.trials
  SELECT i, jsonb_build_object('lr', i * 0.001), '2026-01-01'::timestamptz + i * interval '1 minute'
  FROM generate_series(1, 300) i;
CREATE TABLE quarantine.items (id int PRIMARY KEY, reason text);
INSERT INTO quarantine.items SELECT i, 'reason ' || i FROM generate_series(1, 40) i;
CREATE TABLE audit.events (id bigserial PRIMARY KEY, actor text, at timestamptz DEFAULT now());
INSERT INTO audit.events (actor) SELECT 'user-' || (i % 13) FROM generate_series(1, 1000) i;
CREATE VIEW audit.actors AS SELECT actor, count(*) AS events FROM audit.events GROUP BY actor;
CREATE TABLE public.settings (key text PRIMARY KEY, value text);
INSERT INTO public.settings VALUES ('mode', 'prod'), ('version', '2');
"""
TABLES = {
    "production": ("runs", "Run Notes"),
    "experiments_v1": ("trials",),
    "quarantine": ("items",),
    "audit": ("events",),
    "public": ("settings",),
}


@pytest.fixture(scope="module")
def runner() -> Runner:
    pg_tool("initdb")
    return server_runner()


@pytest.fixture(scope="module")
def workspace(runner):
    path = Path(tempfile.mkdtemp(prefix="pgbackup-", dir="/tmp"))
    path.chmod(0o755)
    runner.own(path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def source(runner, workspace) -> Iterator[SourceServer]:
    """A PostgreSQL server on a Unix socket only, with the owner role, a multi-schema database and data."""
    with throwaway_server(
        runner, workspace, "source", "local all postgres trust\nlocal all all scram-sha-256\n"
    ) as server:
        server.query("postgres", f"CREATE ROLE {OWNER} LOGIN PASSWORD '{OWNER_PASSWORD}'")
        server.query("postgres", f"CREATE DATABASE {DATABASE} OWNER {OWNER}")
        server.query(DATABASE, SEED_SQL)
        yield server


@pytest.fixture
def bucket(moto) -> str:
    name = f"backups-{uuid.uuid4().hex[:12]}"
    moto_client(moto, "s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": MOTO_REGION})
    return name


# --- running the scripts ------------------------------------------------------------------------------


@dataclass
class Scripts:
    """The four scripts with the environment their Job containers give them."""

    runner: Runner
    workspace: Path
    source: SourceServer
    endpoint: str
    bucket: str
    prefix: str = "daily/platform/dumps"
    dump_dir: Path | None = None

    def env(self, **extra: str) -> dict[str, str]:
        aws_dir = str(Path(need_tool("aws", "PyPI awscli in .venvs/awscli")).parent)
        pg_dir = str(Path(pg_tool("pg_dump")).parent)
        return {
            "PATH": f"{pg_dir}:{aws_dir}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.workspace),
            "LANG": "C.UTF-8",
            "BUCKET": self.bucket,
            "PREFIX": self.prefix,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": MOTO_REGION,
            "AWS_DEFAULT_REGION": MOTO_REGION,
            "AWS_PAGER": "",
            "AWS_EC2_METADATA_DISABLED": "true",
            **extra,
        }

    def run(self, script: str, as_server_user: bool = False, **env: str) -> subprocess.CompletedProcess:
        prefix = self.runner.prefix if as_server_user else ()
        command = [
            *prefix,
            "env",
            "-i",
            *(f"{k}={v}" for k, v in self.env(**env).items()),
            "bash",
            str(SCRIPTS / script),
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)

    def fresh_dir(self, name: str) -> Path:
        path = self.workspace / f"{name}-{uuid.uuid4().hex[:8]}"
        path.mkdir()
        return self.runner.own(path)

    def dump(self, schemas: tuple[str, ...] = SCHEMAS) -> subprocess.CompletedProcess:
        password_file = self.workspace / "owner-password"
        password_file.write_text(OWNER_PASSWORD)
        password_file.chmod(0o600)
        self.runner.own(password_file)
        self.dump_dir = self.fresh_dir("dumps")
        return self.run(
            "dump.sh",
            as_server_user=True,
            PGHOST=str(self.source.socket_dir),
            PGUSER=OWNER,
            PGPASSWORD_FILE=str(password_file),
            PGSSLMODE="disable",
            DUMP_DATABASES=DATABASE,
            DUMP_SCHEMAS=" ".join(schemas),
            DUMP_DIR=str(self.dump_dir),
        )

    def dump_and_upload(self, **upload_env: str) -> None:
        dumped = self.dump()
        assert dumped.returncode == 0, dumped.stderr
        uploaded = self.run("upload_dump.sh", as_server_user=False, DUMP_DIR=str(self.dump_dir), **upload_env)
        assert uploaded.returncode == 0, uploaded.stderr

    def fetch(self) -> tuple[subprocess.CompletedProcess, Path]:
        fetched = self.fresh_dir("fetched")
        return self.run("fetch_latest_dump.sh", DUMP_DIR=str(fetched)), fetched

    def restore_check(self, dump_dir: Path, **env: str) -> tuple[subprocess.CompletedProcess, Path]:
        scratch = self.fresh_dir("scratch")
        result = self.run(
            "restore_check.sh", as_server_user=True, DUMP_DIR=str(dump_dir), SCRATCH_DIR=str(scratch), **env
        )
        return result, scratch

    def object_keys(self) -> list[str]:
        listing = moto_client(self.endpoint, "s3").list_objects_v2(Bucket=self.bucket, Prefix=self.prefix + "/")
        return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture
def scripts(runner, workspace, source, moto, bucket) -> Scripts:
    return Scripts(runner, workspace, source, moto, bucket)


def _rows(server_psql: str, socket_dir: Path, database: str, schema: str, table: str) -> str:
    return psql(server_psql, socket_dir, database, f'SELECT * FROM "{schema}"."{table}" ORDER BY 1')


# --- tests --------------------------------------------------------------------------------------------


def test_dump_upload_fetch_and_restore_check_round_trip(scripts, moto):
    """Daily dump of the whole database and of each schema lands in S3 (SSE-KMS), and the weekly check
    restores it into a throwaway server whose rows equal the source's."""
    key_arn = moto_client(moto, "kms").create_key(Description="backups")["KeyMetadata"]["Arn"]
    scripts.dump_and_upload(SSE_KMS_KEY_ID=key_arn)

    keys = scripts.object_keys()
    stamp = keys[0].removeprefix(scripts.prefix + "/").split("/")[0]
    expected = {"MANIFEST", f"{DATABASE}/database.dump", *(f"{DATABASE}/schemas/{s}.dump" for s in SCHEMAS)}
    assert {k.removeprefix(f"{scripts.prefix}/{stamp}/") for k in keys} == expected
    head = moto_client(moto, "s3").head_object(Bucket=scripts.bucket, Key=f"{scripts.prefix}/{stamp}/MANIFEST")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn

    fetched, dump_dir = scripts.fetch()
    assert fetched.returncode == 0, fetched.stderr
    checked, scratch = scripts.restore_check(dump_dir)
    assert checked.returncode == 0, checked.stderr
    assert f"passed: {1 + len(SCHEMAS)} archives of dump set {stamp}" in checked.stderr
    assert 'platform: production."Run Notes" has 120 rows' in checked.stderr

    # The throwaway data directory is left in SCRATCH_DIR (an emptyDir in the Job): compare every row.
    pgdata = scratch / "pgdata"
    start_server(scripts.runner, pgdata, scratch / "compare.log")
    try:
        restored_socket, source = scratch / "socket", scripts.source
        for schema, tables in TABLES.items():
            for table in tables:
                original = _rows(source.psql, source.socket_dir, DATABASE, schema, table)
                assert original.strip()
                assert _rows(source.psql, restored_socket, DATABASE, schema, table) == original
                if schema in SCHEMAS:
                    per_schema = _rows(source.psql, restored_socket, f"{DATABASE}__{schema}", schema, table)
                    assert per_schema == original
        views = psql(source.psql, restored_socket, f"{DATABASE}__audit", "SELECT count(*) FROM audit.actors")
        assert views.strip() == "13"
    finally:
        stop_server(pgdata)


@pytest.mark.parametrize("manifest_updated", [False, True], ids=["checksum-mismatch", "truncated-archive"])
def test_corrupted_dump_fails_the_restore_check(scripts, moto, manifest_updated):
    """A damaged archive fails the check: by checksum, or, when MANIFEST was rewritten to match, by pg_restore."""
    scripts.dump_and_upload()
    s3 = moto_client(moto, "s3")
    archive_key = next(k for k in scripts.object_keys() if k.endswith(f"{DATABASE}/database.dump"))
    original = s3.get_object(Bucket=scripts.bucket, Key=archive_key)["Body"].read()
    damaged = original[: len(original) // 2]
    s3.put_object(Bucket=scripts.bucket, Key=archive_key, Body=damaged)
    if manifest_updated:
        manifest_key = archive_key.rsplit("/", 2)[0] + "/MANIFEST"
        manifest = s3.get_object(Bucket=scripts.bucket, Key=manifest_key)["Body"].read().decode()
        manifest = manifest.replace(hashlib.sha256(original).hexdigest(), hashlib.sha256(damaged).hexdigest())
        s3.put_object(Bucket=scripts.bucket, Key=manifest_key, Body=manifest.encode())

    fetched, dump_dir = scripts.fetch()
    assert fetched.returncode == 0, fetched.stderr
    checked, _ = scripts.restore_check(dump_dir)
    assert checked.returncode != 0
    expected = "pg_restore of" if manifest_updated else "checksum mismatch"
    assert expected in checked.stderr, checked.stderr


def test_missing_or_incomplete_dump_fails(scripts, moto):
    """No dump set at all, or only one whose upload never reached MANIFEST: the check fails."""
    fetched, _ = scripts.fetch()
    assert fetched.returncode != 0
    assert "no complete dump set" in fetched.stderr

    moto_client(moto, "s3").put_object(
        Bucket=scripts.bucket, Key=f"{scripts.prefix}/20990101T000000Z/{DATABASE}/database.dump", Body=b"partial"
    )
    fetched, _ = scripts.fetch()
    assert fetched.returncode != 0
    assert "no complete dump set" in fetched.stderr


def test_newest_complete_set_is_fetched_and_a_stale_one_fails(scripts, moto):
    """The newest complete set wins over older ones; a set older than MAX_AGE_HOURS fails the check."""
    scripts.dump_and_upload()
    s3 = moto_client(moto, "s3")
    stamp = scripts.object_keys()[0].removeprefix(scripts.prefix + "/").split("/")[0]
    for key in scripts.object_keys():  # an older, complete copy of the same set
        s3.copy_object(
            Bucket=scripts.bucket,
            CopySource={"Bucket": scripts.bucket, "Key": key},
            Key=key.replace(stamp, "20200101T000000Z"),
        )
    fetched, dump_dir = scripts.fetch()
    assert fetched.returncode == 0, fetched.stderr
    assert [p.name for p in dump_dir.iterdir()] == [stamp]

    old = dump_dir / "20200101T000000Z"
    (dump_dir / stamp).rename(old)
    checked, _ = scripts.restore_check(dump_dir, MAX_AGE_HOURS="48")
    assert checked.returncode != 0
    assert "newest dump set 20200101T000000Z is" in checked.stderr and "(limit 48h)" in checked.stderr


def test_dump_of_a_missing_schema_fails_and_leaves_nothing_to_upload(scripts):
    """A renamed/dropped schema fails the dump job instead of producing an empty archive."""
    dumped = scripts.dump(schemas=("production", "no_such_schema"))
    assert dumped.returncode != 0
    assert "no_such_schema" in dumped.stderr
    assert not list(scripts.dump_dir.glob("*/MANIFEST"))
    uploaded = scripts.run("upload_dump.sh", DUMP_DIR=str(scripts.dump_dir))
    assert uploaded.returncode != 0
    assert scripts.object_keys() == []
