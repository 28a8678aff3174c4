"""RedisCache: AOF Redis 7 on a PVC, password only in Secrets, exporter, replicas, URL Secret.

Requirements: S0-04, S1-04 (`redis-secret` / `url`), S1-06 (Redis 7, append-only on a volume),
S1-08 (`up{job="redis"}`), S1-10 (replicas), S2-03 (memory), S3-04, X-12 (no plain-text secrets).
"""

import json
from typing import Any

import kubernetes_validate
import pulumi
import pytest
from pulumi.runtime import rpc

from components.app_deployment import Resources
from components.redis_cache import RedisCache, RedisCacheArgs
from tests.support.crd_schemas import validate_custom_resource
from tests.support.runtime import assert_equal, inputs_of, one, when_registered
from tools.render import clean, manifest

# What the mock runtime returns as the RandomPassword result of component `cache`.
MOCK_PASSWORD = "generated-cache-password"
SERVICE = "kubernetes:core/v1:Service"


def _args(**overrides: Any) -> RedisCacheArgs:
    base: dict[str, Any] = dict(
        namespace="team",
        maxmemory="1gb",
        maxmemory_policy="allkeys-lru",
        resources=Resources({"cpu": "250m", "memory": "1536Mi"}, {"cpu": "1", "memory": "1536Mi"}),
        storage_size="10Gi",
        storage_class="gp3",
    )
    base.update(overrides)
    return RedisCacheArgs(**base)


def _plain_text_paths(value, needle: str, path: str = ""):
    """Paths where NEEDLE occurs in a value that is not marked secret."""
    if rpc.is_rpc_secret(value):
        return []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _plain_text_paths(v, needle, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _plain_text_paths(v, needle, f"{path}[{i}]")]
    return [path] if isinstance(value, str) and needle in value else []


@pulumi.runtime.test
def test_statefulset_runs_hardened_aof_redis_with_exporter(mock_runtime):
    cache = RedisCache("cache", _args())

    def check(inputs):
        spec = inputs["spec"]
        pod = spec["template"]["spec"]
        redis, exporter = pod["containers"]
        assert spec["serviceName"] == "cache-headless"
        assert spec["replicas"] == 1
        assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
        (claim,) = spec["volumeClaimTemplates"]
        assert claim["metadata"]["name"] == "data"
        assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
        assert claim["spec"]["storageClassName"] == "gp3"
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]

        assert redis["image"] == "redis:7.4-alpine"
        assert redis["command"][-1] == "/etc/redis/conf/redis.conf"
        mounts = {m["mountPath"]: m for m in redis["volumeMounts"]}
        assert mounts["/data"]["name"] == "data"
        assert mounts["/etc/redis/conf"]["readOnly"] and mounts["/etc/redis/secret"]["readOnly"]
        assert mounts["/tmp"]["name"] == "tmp"
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["config"]["configMap"]["name"] == "cache-config"
        assert volumes["auth"]["secret"]["secretName"] == "cache-auth"
        assert {i["key"] for i in volumes["auth"]["secret"]["items"]} == {"auth.conf", "password"}
        assert volumes["tmp"]["emptyDir"]["sizeLimit"]
        assert redis["resources"]["limits"]["memory"] == "1536Mi"
        assert redis["livenessProbe"]["tcpSocket"]["port"] == 6379
        readiness = " ".join(redis["readinessProbe"]["exec"]["command"])
        assert "redis-cli" in readiness and "ping" in readiness and "PONG" in readiness

        assert exporter["image"].startswith("oliver006/redis_exporter:")
        assert exporter["ports"] == [{"name": "metrics", "containerPort": 9121, "protocol": "TCP"}]
        # The exporter reads the password from a file of the same Secret: no secret in any env var.
        env = {e["name"]: e["value"] for e in exporter["env"]}
        assert env["REDIS_ADDR"] == "redis://127.0.0.1:6379"
        assert env["REDIS_PASSWORD_FILE"] == "/etc/redis-exporter/passwords.json"
        (mount,) = exporter["volumeMounts"]
        assert mount == {"name": "exporter-auth", "mountPath": "/etc/redis-exporter", "readOnly": True}
        assert volumes["exporter-auth"]["secret"] == {
            "secretName": "cache-auth",
            "items": [{"key": "passwords.json", "path": "passwords.json"}],
            "defaultMode": 0o440,
        }
        assert not [e for c in (redis, exporter) for e in c["env"] if "secretKeyRef" in e.get("valueFrom", {})]

        # Pod Security `restricted`, fixed UIDs with the reason on the object.
        assert pod["securityContext"]["runAsUser"] == 999 and pod["securityContext"]["fsGroup"] == 999
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
        for container in (redis, exporter):
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"] == {"drop": ["ALL"]} and ctx["runAsNonRoot"] is True
            assert container["resources"]["requests"] and container["resources"]["limits"]
        assert redis["securityContext"]["runAsUser"] == 999
        skips = inputs["metadata"]["annotations"]
        assert skips["checkov.io/skip1"].startswith("CKV_K8S_40=") and "UID 999" in skips["checkov.io/skip1"]
        assert skips["checkov.io/skip2"].startswith("CKV_K8S_43="), "tag-pinned images are accepted with a reason"
        assert "topology.kubernetes.io/zone" in {c["topologyKey"] for c in pod["topologySpreadConstraints"]}

    return inputs_of(mock_runtime, cache.statefulset, _as_plain(check))


@pulumi.runtime.test
def test_config_map_holds_the_conf_and_no_password(mock_runtime):
    cache = RedisCache("cache", _args(maxmemory="512mb", maxmemory_policy="noeviction"))

    def check(inputs):
        conf = inputs["data"]["redis.conf"]
        lines = conf.splitlines()
        for line in ("appendonly yes", "maxmemory 512mb", "maxmemory-policy noeviction", "dir /data"):
            assert line in lines
        assert "include /etc/redis/secret/auth.conf" in lines
        assert MOCK_PASSWORD not in conf and "requirepass" not in conf and ">" not in conf

    return inputs_of(mock_runtime, cache.config_map, check)


@pulumi.runtime.test
def test_password_appears_only_in_secret_values(mock_runtime):
    cache = RedisCache("cache", _args(replicas=2))

    def check(_):
        holders = set()
        for registration in mock_runtime.registrations:
            leaks = _plain_text_paths(registration.inputs, MOCK_PASSWORD)
            assert not leaks, f"{registration.type} {registration.name} has the password in plain text at {leaks}"
            if MOCK_PASSWORD in repr(registration.inputs):
                holders.add(registration.type)
        assert holders == {"kubernetes:core/v1:Secret"}

    return when_registered(mock_runtime, _children(cache), check)


@pulumi.runtime.test
def test_auth_secret_holds_acl_and_masterauth(mock_runtime):
    cache = RedisCache("cache", _args())

    def check(inputs):
        assert rpc.is_rpc_secret(inputs["stringData"])
        data = rpc.unwrap_rpc_secret(inputs["stringData"])
        assert data["password"] == MOCK_PASSWORD
        acl, masterauth = data["auth.conf"].splitlines()
        assert acl.startswith(f"user default on >{MOCK_PASSWORD} ~* &* +@all ")
        assert "-flushall" in acl.split() and "-config" in acl.split() and acl.endswith("+config|get")
        assert masterauth == f"masterauth {MOCK_PASSWORD}"
        assert json.loads(data["passwords.json"]) == {"redis://127.0.0.1:6379": MOCK_PASSWORD}

    return inputs_of(mock_runtime, cache.auth_secret, check)


@pulumi.runtime.test
def test_replicas_get_primary_service_headless_pdb_and_service_monitor(crd_schemas, mock_runtime):
    cache = RedisCache("cache", _args(replicas=3, service_monitor_labels={"release": "monitoring"}))

    def check_service(inputs):
        spec = inputs["spec"]
        assert inputs["metadata"]["name"] == "cache"
        assert spec["selector"]["statefulset.kubernetes.io/pod-name"] == "cache-0"
        assert {(p["name"], p["port"]) for p in spec["ports"]} == {("redis", 6379), ("metrics", 9121)}

    def check_headless(inputs):
        spec = inputs["spec"]
        assert spec["clusterIP"] == "None" and spec["publishNotReadyAddresses"] is True
        assert "statefulset.kubernetes.io/pod-name" not in spec["selector"]

    def check_pdb(inputs):
        assert inputs["spec"]["maxUnavailable"] == 1

    def check_statefulset(inputs):
        spec = inputs["spec"]
        assert spec["replicas"] == 3
        env = {e["name"]: e.get("value") for e in spec["template"]["spec"]["containers"][0]["env"]}
        assert env["PRIMARY_HOST"] == "cache-0.cache-headless.team.svc.cluster.local"

    def check_monitor(inputs):
        selector = inputs["spec"]["selector"]["matchLabels"]
        service_labels = one(mock_runtime, SERVICE, "cache-service").inputs["metadata"]["labels"]
        headless_labels = one(mock_runtime, SERVICE, "cache-headless").inputs["metadata"]["labels"]
        assert selector.items() <= headless_labels.items(), "must scrape every pod through the headless Service"
        assert not selector.items() <= service_labels.items(), "would scrape the primary twice"
        (endpoint,) = inputs["spec"]["endpoints"]
        assert endpoint["port"] == "metrics"
        assert {"action": "replace", "targetLabel": "job", "replacement": "redis"} in endpoint["relabelings"]
        assert inputs["metadata"]["labels"]["release"] == "monitoring"
        assert validate_custom_resource(inputs, crd_schemas["prod"]) == []

    return pulumi.Output.all(
        inputs_of(mock_runtime, cache.service, check_service),
        inputs_of(mock_runtime, cache.headless_service, check_headless),
        inputs_of(mock_runtime, cache.pdb, check_pdb),
        inputs_of(mock_runtime, cache.statefulset, _as_plain(check_statefulset)),
        inputs_of(
            mock_runtime, cache.service_monitor, _as_plain(check_monitor), [cache.service, cache.headless_service]
        ),
    )


@pulumi.runtime.test
def test_single_replica_has_no_pdb(mock_runtime):
    cache = RedisCache("cache", _args(replicas=1, service_monitor=False))
    assert cache.pdb is None and cache.service_monitor is None
    return cache.statefulset.urn


@pulumi.runtime.test
def test_url_secret_name_key_and_secret_value(mock_runtime):
    cache = RedisCache("cache", _args(url_secret_name="redis-secret", url_secret_key="url"))
    assert cache.service_name == "cache" and cache.url_secret_name == "redis-secret"

    def check(inputs):
        assert inputs["metadata"]["name"] == "redis-secret" and inputs["metadata"]["namespace"] == "team"
        assert rpc.is_rpc_secret(inputs["stringData"]), "the URL must be a secret value"
        url = rpc.unwrap_rpc_secret(inputs["stringData"])["url"]
        assert url == f"redis://:{MOCK_PASSWORD}@cache.team.svc.cluster.local:6379/0"

    async def check_outputs():
        assert await cache.password.is_secret()
        assert await cache.password.future() == MOCK_PASSWORD
        assert await cache.host.future() == "cache.team.svc.cluster.local"

    return pulumi.Output.all(inputs_of(mock_runtime, cache.url_secret, check), check_outputs())


@pulumi.runtime.test
def test_kubernetes_name_decouples_object_names_from_the_component_name(mock_runtime):
    cache = RedisCache("bench-redis", _args(kubernetes_name="redis"))
    assert cache.service_name == "redis"

    def check_statefulset(inputs):
        assert inputs["metadata"]["name"] == "redis"
        spec = inputs["spec"]
        assert spec["serviceName"] == "redis-headless"
        pod = spec["template"]["spec"]
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        assert env["PRIMARY_HOST"]["value"] == "redis-0.redis-headless.team.svc.cluster.local"
        assert {v["name"]: v for v in pod["volumes"]}["auth"]["secret"]["secretName"] == "redis-auth"

    def check_url(inputs):
        url = rpc.unwrap_rpc_secret(inputs["stringData"])["url"]
        assert url == "redis://:generated-bench-redis-password@redis.team.svc.cluster.local:6379/0"

    return pulumi.Output.all(
        inputs_of(mock_runtime, cache.statefulset, check_statefulset),
        inputs_of(mock_runtime, cache.url_secret, check_url),
        inputs_of(mock_runtime, cache.service, lambda inputs: assert_equal(inputs["metadata"]["name"], "redis")),
    )


@pulumi.runtime.test
def test_manifests_pass_the_kubernetes_schema(mock_runtime):
    cache = RedisCache("cache", _args(replicas=2))
    kinds = ("StatefulSet", "Service", "PodDisruptionBudget", "ConfigMap", "Secret")

    def check(_):
        checked = 0
        for registration in mock_runtime.registrations:
            doc = manifest(registration)
            if doc.get("kind") in kinds:
                kubernetes_validate.validate(doc, "1.32", strict=True)
                checked += 1
        assert checked == 7

    return when_registered(mock_runtime, _children(cache), check)


def _memory(limit: str) -> Resources:
    return Resources({"cpu": "100m", "memory": limit}, {"cpu": "500m", "memory": limit})


def test_memory_limit_must_leave_headroom_over_maxmemory():
    """S2-03: Redis gets its memory; the container limit must exceed maxmemory with headroom."""
    with pytest.raises(ValueError, match=r"memory limit 1Gi is too small for maxmemory 1gb.*at least 1366Mi"):
        _args(resources=_memory("1Gi"))
    with pytest.raises(ValueError, match="too small"):
        _args(maxmemory="800mb", resources=_memory("1Gi"))
    with pytest.raises(ValueError, match="too small"):
        _args(maxmemory="2g", resources=_memory("2G"))
    # 768mb is exactly 75 % of 1Gi: allowed; so is 1gb in 1366Mi.
    assert _args(maxmemory="768mb", resources=_memory("1Gi")).maxmemory == "768mb"
    assert _args(maxmemory="1gb", resources=_memory("1366Mi")).maxmemory == "1gb"


def test_every_container_needs_cpu_and_memory_requests_and_limits():
    with pytest.raises(ValueError, match=r"resources.limits must set memory"):
        _args(resources=Resources({"cpu": "1", "memory": "1Gi"}, {"cpu": "1"}))
    with pytest.raises(ValueError, match=r"resources.requests must set cpu"):
        _args(exporter_resources=Resources({"memory": "64Mi"}, {"cpu": "100m", "memory": "64Mi"}))


def test_bad_policy_and_replicas_are_refused():
    with pytest.raises(ValueError, match="maxmemory_policy"):
        _args(maxmemory_policy="allkeys-lfru")
    with pytest.raises(ValueError, match="replicas"):
        _args(replicas=0)
    with pytest.raises(ValueError, match="maxmemory must be set"):
        _args(maxmemory="0")


def _children(cache: RedisCache) -> list[pulumi.Resource]:
    """Every child of CACHE."""
    return [
        cache.statefulset,
        cache.service,
        cache.headless_service,
        cache.config_map,
        cache.auth_secret,
        cache.url_secret,
        *(r for r in (cache.pdb, cache.service_monitor) if r is not None),
    ]


def _as_plain(check):
    """CHECK on the inputs as the provider would get them (whole floats as ints, secrets masked)."""
    return lambda inputs: check(clean(inputs))
