"""Canary: stable and canary Deployments behind a weighted Gateway API route (X-06, S3-02)."""

import pytest

from components.app_deployment import AppDeploymentArgs, Autoscaling, Probe, Probes, Resources
from components.canary import Canary, CanaryArgs, GatewayListener
from components.public_hosts import PathMatch
from tests.support.crd_schemas import validate_custom_resource
from tests.support.runtime import synth
from tools.render import clean

STABLE_IMAGE = "registry.example.com/cad:1.2.2"
CANARY_IMAGE = "registry.example.com/cad:1.2.3"


def _app(image: str = STABLE_IMAGE) -> AppDeploymentArgs:
    return AppDeploymentArgs(
        namespace="cad",
        image=image,
        port=8000,
        probes=Probes(liveness=Probe("/health"), readiness=Probe("/health")),
        resources=Resources({"cpu": "1", "memory": "2Gi"}, {"cpu": "2", "memory": "4Gi"}),
        autoscaling=Autoscaling(3, 8),
        part_of="cad",
    )


API = (PathMatch("/api"),)


def _canary(weight: int, replicas: int = 1, paths=API) -> Canary:
    return Canary(
        "cad",
        CanaryArgs(
            stable=_app(),
            canary=_app(CANARY_IMAGE),
            weight=weight,
            canary_replicas=replicas,
            hostnames=["api.example.com"],
            parents=[GatewayListener("public", "gateway", "https-api-example-com")],
            paths=paths,
        ),
    )


def _children(app) -> list:
    return [r for r in (app.deployment, app.service, app.hpa, app.pdb) if r is not None]


def test_stable_and_canary_deployments_share_the_container_name():
    objects = synth(lambda: _canary(10, replicas=2)).manifests
    stable, canary = objects[("Deployment", "cad")], objects[("Deployment", "cad-canary")]
    for deployment, image, track in ((stable, STABLE_IMAGE, "stable"), (canary, CANARY_IMAGE, "canary")):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        # The manual: `kubectl set image deployment/cad-ml-platform-canary cad-ml-platform=...`.
        assert container["name"] == "cad"
        assert container["image"] == image
        assert {"app": "cad", "track": track}.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert "replicas" not in stable["spec"], "the stable app keeps its HPA"
    assert canary["spec"]["replicas"] == 2
    assert ("HorizontalPodAutoscaler", "cad") in objects
    assert ("HorizontalPodAutoscaler", "cad-canary") not in objects
    assert objects[("Service", "cad")]["spec"]["selector"]["app.kubernetes.io/name"] == "cad"
    assert objects[("Service", "cad-canary")]["spec"]["selector"]["app.kubernetes.io/name"] == "cad-canary"


@pytest.mark.parametrize("weight", [0, 25, 100])
def test_route_sends_weight_percent_to_the_canary(crd_schemas, mock_runtime, weight):
    built = synth(lambda: _canary(weight, replicas=0 if weight == 0 else 1))
    canary, objects = built.component, built.manifests
    assert canary.weights == {"cad": 100 - weight, "cad-canary": weight}

    route = objects[("HTTPRoute", "cad")]
    assert route["metadata"]["namespace"] == "cad"
    assert route["spec"]["hostnames"] == ["api.example.com"]
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "public",
            "namespace": "gateway",
            "sectionName": "https-api-example-com",
        }
    ]
    backends = {b["name"]: b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]}
    assert backends == {"cad": 100 - weight, "cad-canary": weight}
    # both tracks serve only the app's API.
    assert route["spec"]["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/api"}}]
    assert validate_custom_resource(clean(route), crd_schemas["prod"]) == []


@pytest.mark.parametrize(
    "weight, replicas, message",
    [(101, 1, "weight must be a percentage"), (-1, 1, "weight must be a percentage"), (5, 0, "needs at least one")],
)
def test_bad_weights_are_refused(mock_runtime, weight, replicas, message):
    with pytest.raises(ValueError, match=message):
        _canary(weight, replicas)


def test_a_route_without_paths_is_refused(mock_runtime):
    with pytest.raises(ValueError, match="give the paths"):
        _canary(10, paths=())
