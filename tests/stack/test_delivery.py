"""Delivery in the whole program: blue-green switches by selector only, canary weights, public URLs, pinned images.

X-05, X-06, X-13, X-15, S0-09, S3-02, S3-03, S4-10.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.support.manifests import containers, pod_spec, rendered_documents
from tests.support.program import with_active, with_canary
from tests.support.runtime import STACKS, program_run
from tests.support.shared import folder_once
from tools.mock_runtime import digest
from tools.render import write_render

# The namespace of each app both stack files deliver blue-green (S0-09, S4-10).
BLUE_GREEN = {"ai-benchmark-api": "ai-benchmark", "platform-v2-api": "platform-v2-stable"}
SELECTOR = ("spec", "selector", "app.kubernetes.io/name")
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}


@pytest.fixture(scope="module")
def by_colour(tmp_path_factory) -> dict[str, Path]:
    """prod rendered once per active colour of every blue-green app."""

    def render(colour: str, out: Path) -> None:
        write_render(program_run("prod", overrides=with_active("prod", colour)), out)

    private = tmp_path_factory.getbasetemp()
    return {colour: folder_once(f"prod-{colour}", partial(render, colour), private) for colour in ("blue", "green")}


def _differences(a: Any, b: Any, path: tuple = ()) -> list[tuple]:
    """Paths (key tuples) where A and B differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for key in sorted(set(a) | set(b)) for d in _differences(a.get(key), b.get(key), (*path, key))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, (*path, i))]
    return [] if a == b else [path]


def _resources(root: Path) -> dict[str, dict]:
    return {r["urn"]: r for r in json.loads((root / "resources.json").read_text())}


def _object(resources: dict[str, dict], kind: str, namespace: str, name: str) -> dict:
    found = [
        r
        for r in resources.values()
        if r["inputs"].get("kind") == kind
        and r["inputs"]["metadata"].get("namespace") == namespace
        and r["inputs"]["metadata"].get("name") == name
    ]
    assert len(found) == 1, f"{kind} {namespace}/{name}: {len(found)} found"
    return found[0]


TARGET = ("spec", "scaleTargetRef", "name")
TRAFFIC = ("metadata", "labels", "ai-platform/traffic")


def _colour_hpas(documents: dict[str, dict], app: str, namespace: str) -> set[str]:
    """Files of the HPAs scaling a colour of APP: the active one under the app's HPA name and its `-preview`."""
    prefix, colours = f"{namespace}/HorizontalPodAutoscaler-", (f"{app}-blue", f"{app}-green")
    found = {
        f for f, doc in documents.items() if f.startswith(prefix) and doc["spec"]["scaleTargetRef"]["name"] in colours
    }
    assert len(found) == 2, found
    return found


def test_switching_the_active_colour_changes_only_the_routing_selectors(by_colour):
    """X-05: the switch is one config value and one `pulumi up`; nothing but routing changes: the Services'
    selectors, the HPAs' targets (each HPA follows its traffic, S4-03) and the Deployments' traffic labels."""
    blue, green = rendered_documents(by_colour["blue"]), rendered_documents(by_colour["green"])
    assert set(blue) == set(green), "the same objects exist whichever colour is active"
    for app, namespace in BLUE_GREEN.items():
        for colour in ("blue", "green"):
            assert f"{namespace}/Deployment-{app}-{colour}.yaml" in blue, "both colours run side by side"
    changed = {(file, path) for file in blue for path in _differences(blue[file], green[file])}
    expected = {
        (f"{namespace}/Service-{service}.yaml", SELECTOR)
        for app, namespace in BLUE_GREEN.items()
        for service in (app, f"{app}-preview")
    }
    for app, namespace in BLUE_GREEN.items():
        expected |= {(file, TARGET) for file in _colour_hpas(blue, app, namespace)}
        expected |= {(f"{namespace}/Deployment-{app}-{colour}.yaml", TRAFFIC) for colour in ("blue", "green")}
    assert changed == expected


def test_switching_the_active_colour_moves_only_the_routing_services_dependencies(by_colour):
    """The resources' inputs differ only in routing (Services, HPAs, traffic labels); only the routing Services
    wait on another Job, and the HPAs on the other colour's Deployment. No resource is replaced."""
    blue, green = _resources(by_colour["blue"]), _resources(by_colour["green"])
    assert set(blue) == set(green)
    routing = {
        _object(blue, "Service", namespace, service)["urn"]
        for app, namespace in BLUE_GREEN.items()
        for service in (app, f"{app}-preview")
    }
    documents = rendered_documents(by_colour["blue"])
    hpas, colours = set(), set()
    for app, namespace in BLUE_GREEN.items():
        names = {documents[file]["metadata"]["name"] for file in _colour_hpas(documents, app, namespace)}
        hpas |= {_object(blue, "HorizontalPodAutoscaler", namespace, name)["urn"] for name in names}
        colours |= {_object(blue, "Deployment", namespace, f"{app}-{c}")["urn"] for c in ("blue", "green")}
    inputs_changed = {urn for urn in blue if blue[urn]["inputs"] != green[urn]["inputs"]}
    assert inputs_changed == routing | hpas | colours
    dependencies_changed = {urn for urn in blue if blue[urn]["dependsOn"] != green[urn]["dependsOn"]}
    assert dependencies_changed == routing | hpas


@pytest.mark.parametrize("active", ["blue", "green"])
def test_each_routing_service_waits_for_the_smoke_test_of_the_colour_it_selects(by_colour, active):
    """S0-09: the switch happens only once the new colour answered its /health check."""
    resources = _resources(by_colour[active])
    idle = "green" if active == "blue" else "blue"
    for app, namespace in BLUE_GREEN.items():
        jobs = {
            r["inputs"]["metadata"]["labels"]["colour"]: r
            for r in resources.values()
            if r["inputs"].get("kind") == "Job" and r["inputs"]["metadata"]["name"].startswith(f"{app}-smoke-")
        }
        assert set(jobs) == {"blue", "green"}
        for service, colour in ((app, active), (f"{app}-preview", idle)):
            routing = _object(resources, "Service", namespace, service)
            assert routing["inputs"]["spec"]["selector"] == {"app.kubernetes.io/name": f"{app}-{colour}"}
            assert jobs[colour]["urn"] in routing["dependsOn"], f"{service} waits for the {colour} smoke test"
            other = "green" if colour == "blue" else "blue"
            assert jobs[other]["urn"] not in routing["dependsOn"]
        # The idle colour's test targets exactly the pods the preview Service selects.
        env = {e["name"]: e["value"] for e in jobs[idle]["inputs"]["spec"]["template"]["spec"]["containers"][0]["env"]}
        target = _object(resources, "Service", namespace, f"{app}-{idle}")
        preview = _object(resources, "Service", namespace, f"{app}-preview")
        assert env["URL"].startswith(f"http://{app}-{idle}.{namespace}.svc.cluster.local:8000/health")
        name = "app.kubernetes.io/name"
        assert target["inputs"]["spec"]["selector"][name] == preview["inputs"]["spec"]["selector"][name]
        assert jobs[idle]["name"] == f"{app}-smoke-{idle}", "stable logical name; the Job's metadata.name moves"


@pytest.mark.parametrize("weight", [0, 37, 100])
def test_canary_route_weights_follow_the_config(weight):
    """S3-02: `cad-ml-platform-canary` gets `weight` percent of the public traffic (0 and 100 included); a dark
    canary can also be scaled to nothing."""
    run = program_run("prod", overrides=with_canary("prod", weight))
    route = run.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "cad-ml-platform-route").inputs
    weights = {ref["name"]: ref["weight"] for ref in route["spec"]["rules"][0]["backendRefs"]}
    assert weights == {"cad-ml-platform": 100 - weight, "cad-ml-platform-canary": weight}
    assert route["spec"]["hostnames"] == ["api.ai.example.com"]  # S3-03
    canary = run.one("kubernetes:apps/v1:Deployment", "cad-ml-platform-canary-deployment").inputs
    assert canary["spec"]["replicas"] == (0 if weight == 0 else 1)


def test_canary_in_the_stack_file():
    """The manual's canary commands work: `cad-ml-platform-canary` has container `cad-ml-platform`."""
    run = program_run("prod")
    deployments = {r.inputs["metadata"]["name"]: r.inputs for r in run.by_type("kubernetes:apps/v1:Deployment")}
    canary = deployments["cad-ml-platform-canary"]["spec"]
    assert canary["template"]["spec"]["containers"][0]["name"] == "cad-ml-platform"
    assert canary["replicas"] == 1
    route = run.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "cad-ml-platform-route").inputs
    assert {ref["name"]: ref["weight"] for ref in route["spec"]["rules"][0]["backendRefs"]} == {
        "cad-ml-platform": 90,
        "cad-ml-platform-canary": 10,
    }


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_give_public_urls_and_the_active_colour(stack):
    """X-13: per app its public URL (https, X-15) and, for blue-green apps, the live colour."""
    domain = {"staging": "staging.ai.example.com", "prod": "ai.example.com"}[stack]
    active = {"staging": "green", "prod": "blue"}[stack]
    apps = {
        name: app
        for service in program_run(stack).outputs["services"].values()
        for name, app in service["apps"].items()
    }
    assert apps["cad-ml-platform"]["publicUrl"] == f"https://api.{domain}"  # S3-03
    assert apps["docc2context-api"]["publicUrl"] == f"https://docc2context-api.{domain}"
    assert apps["ai-benchmark-worker"]["publicUrl"] is None
    for app in BLUE_GREEN:
        assert apps[app]["activeColour"] == active
    assert apps["cad-ml-platform"]["activeColour"] is None


@pytest.mark.parametrize("stack", STACKS)
def test_every_public_host_is_served_over_https_with_its_certificate(stack):
    """X-15, S3-03, S2-04: api., prom., grafana. and kibana. plus each public app's API; port 80 only redirects."""
    run = program_run(stack)
    domain = {"staging": "staging.ai.example.com", "prod": "ai.example.com"}[stack]
    gateway = run.one("kubernetes:gateway.networking.k8s.io/v1:Gateway", "public-gateway").inputs["spec"]
    https = {listener["hostname"] for listener in gateway["listeners"] if listener["protocol"] == "HTTPS"}
    assert {f"api.{domain}", f"prom.{domain}", f"grafana.{domain}", f"kibana.{domain}"} <= https
    assert f"platform-v2-api.{domain}" in https and f"ai-benchmark-api.{domain}" in https
    certificates = {
        name
        for r in run.by_type("kubernetes:cert-manager.io/v1:Certificate")
        if r.inputs["metadata"]["namespace"] == "public-gateway"
        for name in r.inputs["spec"]["dnsNames"]
    }
    assert certificates == https
    http = [listener for listener in gateway["listeners"] if listener["protocol"] == "HTTP"]
    assert [listener["port"] for listener in http] == [80]
    redirect = run.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "public-https-redirect").inputs["spec"]
    assert redirect["rules"][0]["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 301}


def _all_images(stack: str) -> dict[str, list[str]]:
    workloads = [r.inputs for r in program_run(stack).registrations if r.inputs.get("kind") in POD_KINDS]
    return {f"{d['kind']}/{d['metadata']['name']}": [c["image"] for c in containers(pod_spec(d))] for d in workloads}


def test_pinned_images_are_deployed_by_digest():
    """pinImages (prod): the apps, both colours, the canary and the smoke tests run digest references."""
    images = _all_images("prod")
    delivered = {
        name: refs
        for name, refs in images.items()
        if (name.startswith("Job/") and "-smoke-" in name) or name.startswith("Deployment/")
    }
    assert len(delivered) >= 15
    for name, refs in delivered.items():
        assert refs and all("@sha256:" in ref for ref in refs), f"{name}: {refs}"
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ai-platform"
    for colour, tag in (("blue", "1.4.2"), ("green", "1.4.1")):
        # Each colour runs the digest (as the mocks' registry gives it) of its own configured image.
        reference = f"{registry}/platform-v2:{tag}"
        assert images[f"Deployment/platform-v2-api-{colour}"] == [f"{reference}@{digest(reference)}"]


def test_pinned_apps_carry_no_tag_suppression_and_unpinned_ones_do():
    """The CKV_K8S_43 reason is written only where an image is deployed by tag."""

    def suppressions(stack):
        return {
            r.inputs["metadata"]["name"]: " ".join((r.inputs["metadata"].get("annotations") or {}).values())
            for r in program_run(stack).by_type("kubernetes:apps/v1:Deployment")
        }

    assert not any("CKV_K8S_43" in reasons for reasons in suppressions("prod").values())
    assert all("CKV_K8S_43" in reasons for reasons in suppressions("staging").values())


def test_with_pinning_every_container_image_in_the_render_is_a_digest():
    unpinned = {name: refs for name, refs in _all_images("prod").items() if not all("@sha256:" in r for r in refs)}
    assert unpinned == {}


def test_digests_of_the_stacks_own_registry_are_read_through_the_ecr_api():
    """Prod pins images from its ECR registry through the ECR API with the AWS provider's credentials (no
    registry token, which would change every run); public images are read from their registries anonymously."""
    run = program_run("prod")
    images = run.one("pulumi:providers:aws", "aws-images")
    ecr = [(args, provider) for token, args, provider in run.invokes if token == "aws:ecr/getImage:getImage"]
    assert ecr, "prod deploys its own images by digest"
    assert all(provider.startswith(images.urn + "::") for _, provider in ecr)
    assert {args["repositoryName"] for args, _ in ecr} >= {"ai-platform/ai-benchmark", "ai-platform/platform-v2"}
    public = [(args["name"], provider) for token, args, provider in run.invokes if token.startswith("docker:")]
    assert public and not [name for name, _ in public if ".dkr.ecr." in name]
    assert not [token for token, _, _ in run.invokes if "AuthorizationToken" in token]
