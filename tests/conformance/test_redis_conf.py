"""The rendered redis.conf + auth.conf, loaded by a real redis-server (S1-06, S2-03, S1-10, X-12).

Each server binds 127.0.0.1 on a free port with its data in a temp dir; only `dir` and the
`include` path are rewritten for the test. Proves: AUTH required, AOF on and written (and
replayed after a restart), maxmemory/policy as configured, dangerous commands denied while
redis_exporter still scrapes, the readiness probe command only passes on PONG, and the start
script makes pod 0 a primary and other pods authenticated replicas of it.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from components.app_deployment import Resources
from components.redis_cache import RedisCacheArgs
from components.redis_server import (
    AUTH_CONF_PATH,
    DATA_DIR,
    START_SCRIPT,
    ping_command,
    redis_memory_bytes,
    render_auth_conf,
    render_exporter_password_file,
    render_redis_conf,
)
from tests.support.runtime import missing, need_tool

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError:
    missing("the redis client (pip `redis`) is not installed (`make test` installs it)", allow_module_level=True)

PASSWORD = "Conformance0Test0Password0123456"
ARGS = RedisCacheArgs(
    namespace="test",
    maxmemory="64mb",
    maxmemory_policy="allkeys-lru",
    resources=Resources({"cpu": "100m", "memory": "128Mi"}, {"cpu": "500m", "memory": "128Mi"}),
    storage_size="1Gi",
)


@dataclass
class Server:
    port: int
    data_dir: Path
    process: subprocess.Popen

    def client(self, password: str | None = PASSWORD) -> redis.Redis:
        # No retries: a refused AUTH must surface at once.
        return redis.Redis(
            host="127.0.0.1", port=self.port, password=password, socket_timeout=5, retry=Retry(NoBackoff(), 0)
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_config(root: Path, args: RedisCacheArgs) -> tuple[Path, Path]:
    """The component's files with only the data dir and include path moved into ROOT."""
    data_dir, secret_dir = root / "data", root / "secret"
    data_dir.mkdir(parents=True, exist_ok=True)
    secret_dir.mkdir(exist_ok=True)
    (secret_dir / "auth.conf").write_text(render_auth_conf(PASSWORD, args.denied_commands))
    (secret_dir / "password").write_text(PASSWORD)
    conf = render_redis_conf(args.maxmemory, args.maxmemory_policy)
    conf = conf.replace(f"dir {DATA_DIR}\n", f"dir {data_dir}\n")
    conf = conf.replace(f"include {AUTH_CONF_PATH}\n", f"include {secret_dir / 'auth.conf'}\n")
    assert str(data_dir) in conf and str(secret_dir) in conf, "the rendered paths changed: update the test"
    config = root / "redis.conf"
    config.write_text(conf)
    return config, data_dir


def _wait_until_listening(server: Server) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {server.process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("redis-server did not listen within 10 s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Starts redis-server on the rendered config; every server started is stopped by pid afterwards."""
    binary = need_tool("redis-server", "loads the rendered redis.conf")
    started: list[subprocess.Popen] = []

    def start(name: str = "primary", pod_name: str | None = None, primary_port: int | None = None) -> Server:
        root = tmp_path / name
        config, data_dir = _write_config(root, ARGS)
        port = _free_port()
        server_args = [str(config), "--port", str(port), "--bind", "127.0.0.1"]
        if pod_name is None:
            command = [binary, *server_args]
            env = None
        else:
            # The pod's start script, with redis-server from this machine on PATH.
            command = ["sh", "-c", START_SCRIPT, "redis-start", *server_args]
            env = {
                "PATH": f"{Path(binary).parent}:{os.environ['PATH']}",
                "POD_NAME": pod_name,
                "PRIMARY_HOST": "127.0.0.1",
                "PRIMARY_PORT": str(primary_port or 0),
            }
        log = (root / "redis.log").open("wb")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        started.append(process)
        server = Server(port, data_dir, process)
        _wait_until_listening(server)
        return server

    yield start
    for process in started:
        _stop(process)


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_auth_is_required(start_server):
    server = start_server()
    with pytest.raises(redis.exceptions.AuthenticationError):
        server.client(password=None).ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        server.client(password="wrong-password-0123456789").ping()
    assert server.client().ping() is True


def test_aof_is_on_written_and_replayed_after_restart(start_server, tmp_path):
    server = start_server()
    client = server.client()
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    client.set("conformance-key", "kept")
    aof_files = list((server.data_dir / "appendonlydir").glob("*.aof"))
    assert aof_files, f"no AOF files in {server.data_dir}"
    assert any(b"conformance-key" in f.read_bytes() for f in aof_files)
    assert not list(server.data_dir.glob("*.rdb")), "RDB snapshots are off: the AOF is the persistence"

    client.close()
    _stop(server.process)
    restarted = start_server()  # same temp dir, same AOF
    _wait_for(lambda: _loaded(restarted), "the AOF to load")
    assert restarted.client().get("conformance-key") == b"kept"


def test_maxmemory_and_policy_are_as_configured(start_server):
    client = start_server().client()
    assert int(client.config_get("maxmemory")["maxmemory"]) == redis_memory_bytes(ARGS.maxmemory) == 64 * 2**20
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}


def test_dangerous_commands_are_denied(start_server):
    client = start_server().client()
    client.set("survives", "1")
    for command in (("FLUSHALL",), ("FLUSHDB",), ("CONFIG", "SET", "appendonly", "no"), ("ACL", "LIST"), ("SHUTDOWN",)):
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.execute_command(*command)
    assert client.get("survives") == b"1"
    assert client.config_get("appendonly") == {"appendonly": "yes"}


def test_redis_exporter_scrapes_with_the_acl(start_server, tmp_path):
    """The sidecar's program, configured as in the pod: address plus password file, no password env."""
    exporter = need_tool("prometheus-redis-exporter", "redis_exporter, the sidecar's program")
    server = start_server()
    port = _free_port()
    address = f"redis://127.0.0.1:{server.port}"
    password_file = tmp_path / "passwords.json"
    password_file.write_text(render_exporter_password_file(address, PASSWORD))
    env = {"REDIS_ADDR": address, "REDIS_PASSWORD_FILE": str(password_file)}
    log = (tmp_path / "exporter.log").open("wb")
    process = subprocess.Popen(
        [exporter, "-web.listen-address", f"127.0.0.1:{port}"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    try:
        _wait_for(lambda: _http_ok(f"http://127.0.0.1:{port}/health"), "the exporter")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            metrics = _samples(response.read().decode())
    finally:
        _stop(process)
    assert metrics["redis_up"] == 1
    # CONFIG GET still works for the exporter although CONFIG is denied.
    assert metrics["redis_config_maxmemory"] == 64 * 2**20
    assert metrics['redis_exporter_last_scrape_error{err=""}'] == 0
    assert "NOPERM" not in (tmp_path / "exporter.log").read_text()


def test_readiness_probe_passes_only_on_pong(start_server, tmp_path):
    server = start_server()
    secret_file = tmp_path / "primary" / "secret" / "password"
    assert subprocess.run(ping_command(str(secret_file), server.port), timeout=10).returncode == 0
    wrong = tmp_path / "wrong-password"
    wrong.write_text("wrong-password-0123456789")
    assert subprocess.run(ping_command(str(wrong), server.port), timeout=10).returncode != 0


def test_start_script_makes_pod_zero_primary_and_others_replicas(start_server):
    primary = start_server("primary", pod_name="cache-0")
    replica = start_server("replica", pod_name="cache-1", primary_port=primary.port)
    assert primary.client().info("replication")["role"] == "master"
    _wait_for(lambda: replica.client().info("replication").get("master_link_status") == "up", "replication")
    primary.client().set("replicated", "yes")
    _wait_for(lambda: replica.client().get("replicated") == b"yes", "the key on the replica")
    with pytest.raises(redis.exceptions.ReadOnlyError):
        replica.client().set("on-replica", "no")


def _loaded(server: Server) -> bool:
    try:
        # redis-py types every command as sync-or-async; the sync client returns the dict.
        return cast(dict[str, Any], server.client().info("persistence"))["loading"] == 0
    except redis.exceptions.BusyLoadingError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _samples(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def _runbook_redis_scripts() -> list[str]:
    """The shell scripts the runbook map runs inside a Redis pod (`kubectl exec ... redis-0 -c redis -- sh -c ...`)."""
    from tools import runbooks

    scripts = []
    for runbook in runbooks.load():
        for entry in runbook.entries:
            for command in (c for c in entry.equivalent if "redis-cli" in c):
                tokens = shlex.split(command.split(" | ")[0])
                assert tokens[-3:-1] == ["sh", "-c"], command
                scripts.append(tokens[-1])
    return scripts


def test_the_runbooks_redis_cli_commands_authenticate_from_the_pods_password_file(start_server, tmp_path):
    """S4-07: on-call runs redis-cli with the password the pod reads from its Secret file, never typed or copied; the
    commands pass the ACL (INFO is allowed). Only the file's path and the server's port are the test's."""
    server = start_server()
    scripts = _runbook_redis_scripts()
    assert len(scripts) >= 2
    secret_file = tmp_path / "primary" / "secret" / "password"
    for script in scripts:
        assert "/etc/redis/secret/password" in script, script
        local = script.replace("/etc/redis/secret/password", str(secret_file)).replace(
            "redis-cli", f"redis-cli -h 127.0.0.1 -p {server.port}"
        )
        result = subprocess.run(["sh", "-c", local], capture_output=True, text=True, timeout=10)
        assert result.returncode == 0 and "NOAUTH" not in result.stdout and "NOPERM" not in result.stdout, result
        assert result.stdout.strip() == "PONG" or "keyspace_hits" in result.stdout, result.stdout
