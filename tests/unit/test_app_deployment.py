"""AppDeployment: hardened pod, probes, HPA ownership of replicas, PDB (X-02, X-03, X-04)."""

from typing import Any

import pulumi

from components.app_deployment import (
    AppDeployment,
    AppDeploymentArgs,
    Autoscaling,
    Probe,
    Probes,
    Resources,
    SecretRef,
)
from components.app_volumes import ClaimMount, ScratchVolume, WritableDir
from components.scheduling import Scheduling
from tests.support.runtime import assert_equal, inputs_of


def _args(**overrides: Any) -> AppDeploymentArgs:
    base: dict[str, Any] = dict(
        namespace="team",
        image="registry.example.com/app:1.0.0",
        port=8000,
        probes=Probes(liveness=Probe("/health", 30, 10), readiness=Probe("/ready", 5, 5)),
        resources=Resources({"cpu": "250m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"}),
        replicas=3,
        env={"LOG_LEVEL": "info"},
        secret_env={"REDIS_URL": SecretRef("redis-secret", "url")},
        writable_dirs=(WritableDir("/app/results", "1Gi"),),
        config_files={"production.yaml": "server:\n  port: 8000\n"},
    )
    base.update(overrides)
    return AppDeploymentArgs(**base)


@pulumi.runtime.test
def test_pod_is_hardened_and_probed(mock_runtime):
    app = AppDeployment("web", _args())

    def check(inputs):
        spec = inputs["spec"]
        pod = spec["template"]["spec"]
        container = pod["containers"][0]
        assert spec["replicas"] == 3
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["livenessProbe"]["initialDelaySeconds"] == 30
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["startupProbe"]["httpGet"]["path"] == "/health"
        assert container["resources"]["limits"] == {"cpu": "500m", "memory": "512Mi"}
        secret_env = {
            "name": "REDIS_URL",
            "valueFrom": {"secretKeyRef": {"name": "redis-secret", "key": "url", "optional": False}},
        }
        assert secret_env in container["env"]
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert {"/tmp", "/app/results", "/app/config"} <= set(mounts)
        assert mounts["/app/config"]["readOnly"] is True
        assert all(v["emptyDir"]["sizeLimit"] for v in pod["volumes"] if "emptyDir" in v)
        assert container["lifecycle"]["preStop"]["sleep"]["seconds"] < pod["terminationGracePeriodSeconds"]
        assert "topology.kubernetes.io/zone" in {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
        assert "nodeSelector" not in pod

    return inputs_of(mock_runtime, app.deployment, check)


@pulumi.runtime.test
def test_hpa_owns_replicas(mock_runtime):
    app = AppDeployment("api", _args(autoscaling=Autoscaling(3, 15, name="api-hpa")))

    def check_hpa(inputs):
        assert inputs["metadata"]["name"] == "api-hpa"
        assert inputs["spec"]["maxReplicas"] == 15
        assert {m["resource"]["name"] for m in inputs["spec"]["metrics"]} == {"cpu", "memory"}
        assert inputs["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] > 0

    def check_deployment(inputs):
        assert "replicas" not in inputs["spec"]

    def check_pdb(inputs):
        assert inputs["spec"]["maxUnavailable"] == 1

    return pulumi.Output.all(
        inputs_of(mock_runtime, app.hpa, check_hpa),
        inputs_of(mock_runtime, app.deployment, check_deployment),
        inputs_of(mock_runtime, app.pdb, check_pdb),
    )


@pulumi.runtime.test
def test_single_replica_has_no_pdb_and_spot_scheduling(mock_runtime):
    spot = Scheduling(
        {"eks.amazonaws.com/capacityType": "SPOT"}, ({"key": "spot", "operator": "Exists", "effect": "NoSchedule"},)
    )
    app = AppDeployment("solo", _args(replicas=1, scheduling=spot))
    assert app.pdb is None and app.hpa is None

    def check(inputs):
        pod = inputs["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"eks.amazonaws.com/capacityType": "SPOT"}
        assert pod["tolerations"][0]["key"] == "spot"

    return inputs_of(mock_runtime, app.deployment, check)


@pulumi.runtime.test
def test_url_is_in_cluster_dns(mock_runtime):
    app = AppDeployment("web", _args())
    return app.url.apply(lambda url: assert_equal(url, "http://web.team.svc.cluster.local:8000"))


def test_scratch_space_must_fit_the_ephemeral_storage_limit():
    """S2-02: emptyDirs over the pod's ephemeral-storage limit would get it evicted before they fill."""
    import pytest

    storage = Resources({"cpu": "1", "ephemeral-storage": "50Gi"}, {"cpu": "2", "ephemeral-storage": "50Gi"})
    with pytest.raises(ValueError, match="exceed the ephemeral-storage limit 50Gi"):
        _args(resources=storage, writable_dirs=(WritableDir("/work", "45Gi"), WritableDir("/logs", "5Gi")))
    _args(resources=storage, writable_dirs=(WritableDir("/work", "44Gi"), WritableDir("/logs", "5Gi")))


@pulumi.runtime.test
def test_an_app_without_http_is_probed_by_commands(mock_runtime):
    """A queue worker serves no HTTP: its probes run in the container; startup follows liveness (X-02)."""
    alive = Probe(command=("/bin/sh", "-c", "test -f /tmp/heartbeat"), period_seconds=30)
    ready = Probe(command=("python", "-c", "print(1)"), timeout_seconds=5)
    app = AppDeployment("worker", _args(probes=Probes(liveness=alive, readiness=ready)))

    def check(inputs):
        container = inputs["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["exec"] == {"command": ["/bin/sh", "-c", "test -f /tmp/heartbeat"]}
        assert container["livenessProbe"]["periodSeconds"] == 30
        assert container["readinessProbe"]["exec"] == {"command": ["python", "-c", "print(1)"]}
        assert container["readinessProbe"]["timeoutSeconds"] == 5
        assert container["startupProbe"]["exec"] == container["livenessProbe"]["exec"]
        assert container["startupProbe"]["periodSeconds"] == 5
        assert not any("httpGet" in container[f"{kind}Probe"] for kind in ("liveness", "readiness", "startup"))

    return inputs_of(mock_runtime, app.deployment, check)


def test_a_probe_is_a_path_or_a_command():
    import pytest

    for path, command in (("", ()), ("/health", ("true",))):
        with pytest.raises(ValueError, match="either an HTTP path or a command"):
            Probe(path, command=command)


@pulumi.runtime.test
def test_scratch_and_shared_volumes(mock_runtime):
    """S2-02: a scratch volume per pod (generic ephemeral) as /tmp, in place of the small /tmp emptyDir; S1-05: a
    claim every pod mounts."""
    scratch = ScratchVolume("/tmp", "50Gi", "gp3")
    app = AppDeployment("web", _args(scratch=scratch, claims=(ClaimMount("/app/shared", "web-shared"),)))

    def check(inputs):
        pod = inputs["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
        assert volumes[mounts["/tmp"]]["ephemeral"]["volumeClaimTemplate"]["spec"] == {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "50Gi"}},
            "storageClassName": "gp3",
        }
        assert mounts["/tmp"] == "scratch", "each pod's claim is `<pod>-scratch`"
        assert "tmp" not in volumes
        assert volumes[mounts["/app/shared"]]["persistentVolumeClaim"] == {"claimName": "web-shared"}
        assert volumes[mounts["/app/results"]]["emptyDir"] == {"sizeLimit": "1Gi"}

    return inputs_of(mock_runtime, app.deployment, check)


def test_a_path_is_mounted_once():
    import pytest

    with pytest.raises(ValueError, match="paths mounted twice: /app/results"):
        _args(claims=(ClaimMount("/app/results", "shared"),))
    with pytest.raises(ValueError, match="paths mounted twice: /tmp"):
        _args(writable_dirs=(WritableDir("/tmp", "1Gi"),))
