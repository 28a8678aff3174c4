"""BlueGreen: both colours side by side, Services route by colour, smoke tests gate the routing (X-05, S0-09, S4-10)."""

from typing import Any

import pulumi
import pytest

from components.app_deployment import AppDeploymentArgs, Autoscaling, Probe, Probes, Resources
from components.blue_green import BlueGreen, BlueGreenArgs, SmokeTest
from tests.support.runtime import synth

BLUE_IMAGE = "registry.example.com/api:1.0.0"
GREEN_IMAGE = "registry.example.com/api:2.0.0"


def _app(image: str = BLUE_IMAGE, **overrides) -> AppDeploymentArgs:
    base: dict[str, Any] = dict(
        namespace="team",
        image=image,
        port=8000,
        probes=Probes(liveness=Probe("/health"), readiness=Probe("/ready")),
        resources=Resources({"cpu": "250m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"}),
        autoscaling=Autoscaling(3, 10, name="api-hpa"),
        part_of="team",
        container_name="api",
        service_monitor=True,
    )
    base.update(overrides)
    return AppDeploymentArgs(**base)


def _blue_green(active="blue", idle_replicas=None, smoke_test: SmokeTest | None = None) -> BlueGreen:
    return BlueGreen(
        "api",
        BlueGreenArgs(
            blue=_app(),
            green=_app(GREEN_IMAGE),
            active=active,
            idle_replicas=idle_replicas,
            smoke_test=smoke_test or SmokeTest(),
        ),
    )


def _jobs(objects) -> dict:
    return {name: r for (kind, name), r in objects.items() if kind == "Job"}


def test_both_colours_run_as_full_app_deployments():
    objects = synth(_blue_green).objects
    for colour, image in (("blue", BLUE_IMAGE), ("green", GREEN_IMAGE)):
        deployment = objects[("Deployment", f"api-{colour}")].inputs
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]
        assert container["image"] == image
        assert container["name"] == "api", "the manuals' `kubectl set image ... api=` keeps working"
        assert pod["metadata"]["labels"]["app"] == "api" and pod["metadata"]["labels"]["colour"] == colour
        assert "replicas" not in deployment["spec"], "an HPA owns each colour's replicas"
        hpa = objects[("HorizontalPodAutoscaler", "api-hpa" if colour == "blue" else "api-hpa-preview")].inputs
        assert hpa["spec"]["scaleTargetRef"]["name"] == f"api-{colour}"
        assert hpa["spec"]["minReplicas"] == 3
        assert ("PodDisruptionBudget", f"api-{colour}") in objects
        assert objects[("Service", f"api-{colour}")].inputs["spec"]["selector"]["app.kubernetes.io/name"] == (
            f"api-{colour}"
        )


@pytest.mark.parametrize("active", ["blue", "green"])
def test_active_service_selects_the_active_colour_and_waits_for_its_smoke_test(active):
    built = synth(lambda: _blue_green(active=active))
    component, objects = built.component, built.objects
    idle = "green" if active == "blue" else "blue"

    service, preview = objects[("Service", "api")], objects[("Service", "api-preview")]
    assert service.inputs["spec"]["selector"] == {"app.kubernetes.io/name": f"api-{active}"}
    assert preview.inputs["spec"]["selector"] == {"app.kubernetes.io/name": f"api-{idle}"}
    assert service.inputs["spec"]["ports"][0]["port"] == 8000
    jobs = {r.inputs["metadata"]["labels"]["colour"]: r for r in _jobs(objects).values()}
    assert jobs[active].urn in service.dependencies, "the switch waits for the smoke test of the colour"
    assert jobs[idle].urn in preview.dependencies
    assert jobs[idle].urn not in service.dependencies

    assert (component.active, component.idle) == (active, idle)


def test_smoke_job_is_hardened_and_named_after_the_image_it_tests():
    objects = synth(
        lambda: _blue_green(smoke_test=SmokeTest(path="/ready", expected_status=204, timeout_seconds=90))
    ).objects

    jobs = _jobs(objects)
    assert len(jobs) == 2
    green = next(r for name, r in jobs.items() if name.startswith("api-smoke-green-"))
    blue = next(r for name, r in jobs.items() if name.startswith("api-smoke-blue-"))
    # Same test, different images: different names (a new image is a new Job; Jobs are immutable).
    assert green.inputs["metadata"]["name"] != blue.inputs["metadata"]["name"]
    assert len(green.inputs["metadata"]["name"]) <= 63
    spec = green.inputs["spec"]
    assert spec["backoffLimit"] >= 1
    assert spec["activeDeadlineSeconds"] == 90
    assert "ttlSecondsAfterFinished" not in spec, "Pulumi owns the Job: the cluster must not remove it"
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = pod["containers"][0]
    assert container["image"].startswith("curlimages/curl:")
    assert container["securityContext"]["runAsUser"] == 100
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]) == {"requests", "limits"}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["URL"] == "http://api-green.team.svc.cluster.local:8000/ready"
    assert env["EXPECTED_STATUS"] == "204"
    annotations = green.inputs["metadata"]["annotations"]
    assert annotations["pulumi.com/replaceUnready"] == "true"
    reasons = "\n".join(v for k, v in annotations.items() if k.startswith("checkov.io/skip"))
    assert "CKV_K8S_40=" in reasons and "UID 100" in reasons, "the fixed UID carries its reason"
    assert "CKV_K8S_43=" in reasons, "a tag-pinned curl image is an accepted finding with a reason"
    green_app = objects[("Deployment", "api-green")]
    assert green_app.urn in green.dependencies, "the test runs once the colour has rolled out"


def test_a_pinned_smoke_image_needs_no_suppression():
    pinned = "curlimages/curl@sha256:" + "a" * 64
    objects = synth(lambda: _blue_green(smoke_test=SmokeTest(image=pulumi.Output.from_input(pinned)))).objects

    for job in _jobs(objects).values():
        annotations = job.inputs["metadata"]["annotations"]
        assert not any(v.startswith("CKV_K8S_43=") for v in annotations.values())
        assert job.inputs["spec"]["template"]["spec"]["containers"][0]["image"].endswith("a" * 64)


def test_idle_replicas_scale_only_the_idle_colour_down():
    built = synth(lambda: _blue_green(active="green", idle_replicas=0))
    component, objects = built.component, built.objects
    assert set(component.smoke_jobs) == {"green"}, "a colour without pods has nothing to test"
    assert set(component.hpas) == {"active"} and component.colours["blue"].pdb is None

    assert objects[("Deployment", "api-blue")].inputs["spec"]["replicas"] == 0
    assert "replicas" not in objects[("Deployment", "api-green")].inputs["spec"]
    assert objects[("HorizontalPodAutoscaler", "api-hpa")].inputs["spec"]["scaleTargetRef"]["name"] == "api-green"
    assert ("HorizontalPodAutoscaler", "api-hpa-preview") not in objects
    preview = objects[("Service", "api-preview")]
    assert not any(r.urn in preview.dependencies for r in _jobs(objects).values())


def test_idle_replicas_above_zero_hold_the_idle_colour_through_its_hpa():
    """The program never writes `replicas` that an HPA owns: the idle colour's HPA holds it at the number."""
    built = synth(lambda: _blue_green(active="blue", idle_replicas=2))
    component, objects = built.component, built.objects
    assert set(component.smoke_jobs) == {"blue", "green"}

    for colour in ("blue", "green"):
        assert "replicas" not in objects[("Deployment", f"api-{colour}")].inputs["spec"]
    idle = objects[("HorizontalPodAutoscaler", "api-hpa-preview")].inputs["spec"]
    assert (idle["minReplicas"], idle["maxReplicas"]) == (2, 2)
    assert idle["scaleTargetRef"]["name"] == "api-green"
    active = objects[("HorizontalPodAutoscaler", "api-hpa")].inputs["spec"]
    assert (active["minReplicas"], active["maxReplicas"]) != (2, 2)
    assert active["scaleTargetRef"]["name"] == "api-blue"


@pytest.mark.parametrize("active", ["blue", "green"])
def test_the_manuals_hpa_name_and_the_traffic_label_follow_the_active_colour(active):
    """S4-03: `kubectl describe hpa <hpa>` and `-l ai-platform/traffic=active` reach what serves the traffic."""
    built = synth(lambda: _blue_green(active=active))
    idle = "green" if active == "blue" else "blue"
    objects = built.objects
    hpas = {name: r.inputs for (kind, name), r in objects.items() if kind == "HorizontalPodAutoscaler"}
    assert {name: hpa["spec"]["scaleTargetRef"]["name"] for name, hpa in hpas.items()} == {
        "api-hpa": f"api-{active}",
        "api-hpa-preview": f"api-{idle}",
    }
    for colour, traffic in ((active, "active"), (idle, "preview")):
        deployment = objects[("Deployment", f"api-{colour}")].inputs
        assert deployment["metadata"]["labels"]["ai-platform/traffic"] == traffic
        assert "ai-platform/traffic" not in deployment["spec"]["template"]["metadata"]["labels"], "no restart"
    assert built.component.hpa_name == "api-hpa"


def test_smoke_pods_may_reach_both_colours_through_default_deny():
    objects = synth(_blue_green).objects

    egress = objects[("NetworkPolicy", "api-smoke-test-egress")].inputs["spec"]
    assert egress["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "api-smoke"}}
    assert egress["egress"] == [
        {"to": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"protocol": "TCP", "port": 8000}]}
    ]
    ingress = objects[("NetworkPolicy", "api-smoke-test-ingress")].inputs["spec"]
    assert ingress["podSelector"] == {"matchLabels": {"app": "api"}}
    assert ingress["ingress"][0]["from"] == [{"podSelector": egress["podSelector"]}]
    job = next(iter(_jobs(objects).values()))
    assert job.inputs["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "api-smoke"


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(active="red"), "active must be one of"),
        (dict(green=_app(GREEN_IMAGE, namespace="other")), "must share namespace"),
        (dict(idle_replicas=-1), "idle_replicas must be >= 0"),
    ],
)
def test_bad_arguments_are_refused(mock_runtime, args, message):
    values = dict(blue=_app(), green=_app(GREEN_IMAGE), active="blue") | args
    with pytest.raises(ValueError, match=message):
        BlueGreen("api", BlueGreenArgs(**values))
