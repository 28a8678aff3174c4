"""BlueGreen: two colours of one app side by side; Services choose which colour gets the traffic.

Each colour is an `AppDeployment` (`<app>-blue`, `<app>-green`: ServiceAccount, Deployment, Service,
PDB, ServiceMonitor). Service `<app>` selects the active colour, `<app>-preview` the idle one, and
each colour keeps its own Service `<app>-<colour>`.

The HPAs follow the traffic too (S4-03, X-04): the app's HPA name (the manual's `platform-v2-hpa`) scales the
active colour, `<hpa>-preview` the idle one, so `kubectl describe hpa platform-v2-hpa` and `kubectl patch hpa
platform-v2-hpa` reach what serves the traffic whichever colour it is. Each colour's Deployment carries
`ai-platform/traffic: active` or `preview` (on the object, not its pods), so the manuals' `kubectl scale` and
`rollout` steps select it: `kubectl rollout status deployment -l app=<app>,ai-platform/traffic=active`.

Switching the active colour changes the two routing selectors, the two HPAs' targets and the two Deployments'
traffic labels, and nothing else (no pod restarts): both colours have the same
autoscaling bounds unless `idle_replicas` is set (the idle colour, without traffic, sits at its HPA
minimum and scales up as traffic returns after a switch), and every colour that runs pods has a
smoke-test Job named after the image it tested. A Service only routes to a colour whose Job succeeded
(it depends on that Job), so traffic never reaches an untested image, whether a release deploys and
switches in one update or two.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

import versions
from components import kube
from components.app_deployment import (
    AppDeployment,
    AppDeploymentArgs,
    check_tracks_match,
    service_ports,
)
from components.autoscaling import Autoscaling, HpaTarget, horizontal_pod_autoscaler
from components.network_policies import Flow, NetworkPolicies, NetworkPoliciesArgs, Pods

COLOURS = ("blue", "green")
COLOUR_LABEL = "colour"
"""Pod label naming the colour (`kubectl get pods -L colour`)."""
TRAFFIC_LABEL = "ai-platform/traffic"
"""Deployment label: `active` on the colour Service `<app>` routes to, `preview` on the other."""

# The official curl image runs as its own `curl_user` (UID 100); curl needs nothing else.
CURL_UID = 100
CURL_UID_REASON = "the official curlimages/curl image runs as its own curl_user, UID 100; the pod writes nothing"
CURL_UNPINNED_REASON = "tag-pinned official curl image; pass a digest reference (pinImages) to pin it"
SMOKE_RESOURCES = kube.resources(kube.Resources({"cpu": "10m", "memory": "16Mi"}, {"cpu": "100m", "memory": "64Mi"}))
REQUEST_TIMEOUT_SECONDS = 5
MAX_JOB_NAME = 63
"""Job names become the `job-name` pod label value."""

# Polls until the expected status arrives; the Job's activeDeadlineSeconds ends a test that never passes.
SMOKE_SCRIPT = """\
while :; do
  status=$(curl --silent --show-error --output /dev/null --write-out '%{http_code}' \\
    --max-time "$REQUEST_TIMEOUT" "$URL")
  echo "GET $URL -> $status (expecting $EXPECTED_STATUS)"
  [ "$status" = "$EXPECTED_STATUS" ] && exit 0
  sleep 2
done
"""


@dataclass(frozen=True)
class SmokeTest:
    """An HTTP request a colour must answer with the expected status before a Service routes to it."""

    path: str = "/health"
    """URL path requested on the colour's Service port."""
    expected_status: int = 200
    """HTTP status that passes the test."""
    timeout_seconds: int = 60
    """Deadline of the whole test (`activeDeadlineSeconds`), retries included."""
    backoff_limit: int = 2
    """Pod restarts allowed when a test pod itself fails (eviction, node loss)."""
    image: pulumi.Input[str] = versions.CURL_IMAGE
    """Official curl image (tag or digest)."""


@dataclass(frozen=True)
class BlueGreenArgs:
    """The two colours of one app and which one is live."""

    blue: AppDeploymentArgs
    """The blue colour: image and everything else it runs with."""
    green: AppDeploymentArgs
    """The green colour; namespace and port must equal blue's."""
    active: str
    """Colour that Service `<app>` routes to: `blue` or `green`."""
    idle_replicas: int | None = None
    """Fixed replicas of the idle colour (0 frees it); None scales it exactly like the active colour."""
    smoke_test: SmokeTest = SmokeTest()
    """Test each running colour passes before a Service routes to it."""


class BlueGreen(pulumi.ComponentResource):
    """Blue and green AppDeployments, active/preview Services and the smoke tests that gate them."""

    service_name: str
    """Name of the active Service (the app name, as the manuals use it)."""
    preview_service_name: str
    """Name of the Service selecting the idle colour."""
    url: pulumi.Output[str]
    """In-cluster URL of the active Service."""
    preview_url: pulumi.Output[str]
    """In-cluster URL of the preview Service."""
    active: str
    idle: str
    colours: dict[str, AppDeployment]
    """AppDeployment per colour."""
    service: k8s.core.v1.Service
    preview_service: k8s.core.v1.Service
    smoke_jobs: dict[str, k8s.batch.v1.Job]
    """Smoke-test Job per colour that runs pods."""
    hpas: dict[str, k8s.autoscaling.v2.HorizontalPodAutoscaler]
    """HPA per traffic role (`active`, `preview`); the preview one goes when the idle colour is held at zero."""
    hpa_name: str | None
    """Name of the HPA scaling the active colour (the manual's HPA name, else the app's); None without autoscaling."""
    network_policies: list[k8s.networking.v1.NetworkPolicy]
    """What lets the smoke-test pods reach the colours."""
    labels: dict[str, str]
    """Labels both colours' pods carry (`app: <app>`), for NetworkPolicies that must not care about colour."""
    selector: dict[str, str]
    """Selects the pods of both colours (the same as `labels`)."""
    port: int
    metrics_port: int

    def __init__(self, name: str, args: BlueGreenArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:blue_green:BlueGreen", name, None, opts)
        _check(name, args)
        child = kube.child_options(self, opts)
        self.active = args.active
        self.idle = next(c for c in COLOURS if c != args.active)
        self.service_name = name
        self.preview_service_name = f"{name}-preview"
        self.labels = {"app": name}
        self.selector = dict(self.labels)
        base = args.blue
        self.port, self.metrics_port = base.port, base.metrics_port or base.port
        colour_args = {"blue": args.blue, "green": args.green}
        final = {colour: self._colour_args(name, colour, colour_args[colour], args) for colour in COLOURS}
        self.colours = {colour: AppDeployment(f"{name}-{colour}", final[colour], child) for colour in COLOURS}
        self.hpa_name = (base.autoscaling.name or name) if base.autoscaling else None
        self.hpas = self._hpas(name, final, child)
        self.network_policies = self._smoke_network_policies(name, base, child)
        self.smoke_jobs = {
            colour: self._smoke_job(name, colour, colour_args[colour], args.smoke_test, child)
            for colour in COLOURS
            if self._runs_pods(colour, args)
        }
        self.service = self._routing_service(f"{name}-service", name, self.active, base, child)
        self.preview_service = self._routing_service(
            f"{name}-preview-service", self.preview_service_name, self.idle, base, child
        )

        self.url = kube.service_url(name, base.namespace, base.port)
        self.preview_url = kube.service_url(self.preview_service_name, base.namespace, base.port)
        self.register_outputs(
            {"serviceName": name, "url": self.url, "previewUrl": self.preview_url, "activeColour": self.active}
        )

    def _runs_pods(self, colour: str, args: BlueGreenArgs) -> bool:
        return colour == self.active or args.idle_replicas != 0

    def _colour_args(self, name: str, colour: str, app: AppDeploymentArgs, args: BlueGreenArgs) -> AppDeploymentArgs:
        autoscaling, replicas = app.autoscaling, app.replicas
        if colour == self.idle and args.idle_replicas is not None:
            autoscaling, replicas = _pinned(autoscaling, args.idle_replicas)
        return replace(
            app,
            container_name=app.container_name or name,
            pod_labels={**app.pod_labels, **self.labels, COLOUR_LABEL: colour},
            deployment_labels={
                **app.deployment_labels,
                TRAFFIC_LABEL: "active" if colour == self.active else "preview",
            },
            autoscaling=autoscaling,
            declare_hpa=False,  # the HPAs below follow the traffic, not a colour
            replicas=replicas,
        )

    def _hpas(
        self, name: str, colours: dict[str, AppDeploymentArgs], opts: pulumi.ResourceOptions
    ) -> dict[str, k8s.autoscaling.v2.HorizontalPodAutoscaler]:
        """The active colour's HPA under the app's HPA name, the idle colour's as `<name>-preview`. A switch only
        retargets them (`scaleTargetRef` is mutable), so neither is replaced and the bounds stay where they are."""
        hpas = {}
        for role, colour, suffix in (("active", self.active, ""), ("preview", self.idle, "-preview")):
            scaling, app = colours[colour].autoscaling, colours[colour]
            if scaling is None or self.hpa_name is None:
                continue
            target = self.colours[colour]
            hpas[role] = horizontal_pod_autoscaler(
                f"{name}{suffix}-hpa",
                HpaTarget(
                    f"{self.hpa_name}{suffix}", app.namespace, target.service_name, kube.app_labels(name, app.part_of)
                ),
                scaling,
                pulumi.ResourceOptions.merge(
                    opts,
                    pulumi.ResourceOptions(
                        depends_on=[target.deployment],
                        # Each colour declared its own HPA before they followed the traffic (`<hpa>-<colour>`): the
                        # first update after the move takes each one over from the colour that has its role.
                        aliases=[pulumi.Alias(name=f"{name}-{colour}-hpa", parent=target)],
                    ),
                ),
            )
        return hpas

    def _routing_service(
        self, resource_name: str, service_name: str, colour: str, app: AppDeploymentArgs, opts: pulumi.ResourceOptions
    ) -> k8s.core.v1.Service:
        """A Service selecting COLOUR's pods; it waits for that colour's smoke test to pass."""
        target = self.colours[colour]
        gate = [self.smoke_jobs[colour]] if colour in self.smoke_jobs else []
        return k8s.core.v1.Service(
            resource_name,
            metadata=kube.metadata(service_name, app.namespace, kube.app_labels(service_name, app.part_of)),
            spec={
                "type": "ClusterIP",
                "selector": kube.selector_labels(target.service_name),
                "ports": service_ports(app),
            },
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[target.deployment, *gate])),
        )

    def _smoke_job(
        self, name: str, colour: str, app: AppDeploymentArgs, test: SmokeTest, opts: pulumi.ResourceOptions
    ) -> k8s.batch.v1.Job:
        target = self.colours[colour]
        url = pulumi.Output.concat(kube.service_url(target.service_name, app.namespace, app.port), test.path)
        # Jobs are immutable: a new image (or test) is a new Job name, so Pulumi creates a fresh Job
        # before deleting the old one; a failed Job is replaced and rerun on the next update.
        job_name = pulumi.Output.all(app.image, test.image).apply(
            lambda images: f"{name}-smoke-{colour}-{kube.short_hash(json.dumps([*images, _test_settings(test)]), 10)}"
        )
        labels = {**kube.app_labels(f"{name}-smoke", app.part_of, component="smoke-test"), COLOUR_LABEL: colour}
        findings = kube.fixed_uid_findings(CURL_UID_REASON, test.image, unpinned_reason=CURL_UNPINNED_REASON)
        annotations = {"pulumi.com/replaceUnready": "true", **kube.checkov_skips(findings)}
        return k8s.batch.v1.Job(
            f"{name}-smoke-{colour}",
            metadata=kube.metadata(job_name, app.namespace, labels, annotations),
            # No ttlSecondsAfterFinished: Pulumi owns the Job (a Job the cluster removed by itself would show
            # as a create in every refresh-preview); it goes when a new image's test replaces it.
            spec={
                "backoffLimit": test.backoff_limit,
                "activeDeadlineSeconds": test.timeout_seconds,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "restartPolicy": "Never",
                        "automountServiceAccountToken": False,
                        "securityContext": kube.pod_security_context(CURL_UID),
                        "containers": [_smoke_container(test, url)],
                        "volumes": [kube.empty_dir("tmp", "16Mi")],
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(
                opts,
                pulumi.ResourceOptions(
                    # The test's own NetworkPolicies must exist before it spends its deadline.
                    depends_on=[target.deployment, target.service, *self.network_policies],
                    # Pulumi waits for the Job to complete; allow the test's own deadline and the pod start.
                    custom_timeouts=pulumi.CustomTimeouts(create=f"{test.timeout_seconds + 300}s"),
                ),
            ),
        )

    def _smoke_network_policies(
        self, name: str, app: AppDeploymentArgs, opts: pulumi.ResourceOptions
    ) -> list[k8s.networking.v1.NetworkPolicy]:
        """The namespace denies all traffic by default: let the smoke pods reach both colours on the app port."""
        # Both ends live in the app's namespace; its name is only known as an output, so the flow uses a
        # local stand-in and the policies are placed through `namespace_ref`.
        here = "app-namespace"
        smoke = Pods(f"{name}-smoke-test", here, kube.selector_labels(f"{name}-smoke"))
        colours = Pods(f"{name}-smoke-test", here, dict(self.labels))  # the ingress policy admitting the test
        # BlueGreen declared these two policies itself (as `<app>-smoke-ingress`/`-egress`) before they moved
        # into the component: their old URNs are aliased so the live policies are kept.
        moved = {
            f"{smoke.name}-{direction}": [pulumi.Alias(name=f"{name}-smoke-{direction}", parent=self)]
            for direction in ("ingress", "egress")
        }
        policies = NetworkPolicies(
            f"{name}-smoke-test",
            NetworkPoliciesArgs(
                here,
                (Flow(smoke, colours, (app.port,)),),
                app.namespace,
                kube.app_labels(name, app.part_of),
                aliases=moved,
            ),
            opts,
        )
        return list(policies.policies.values())


def _pinned(autoscaling: Autoscaling | None, replicas: int) -> tuple[Autoscaling | None, int]:
    """The idle colour held at REPLICAS. An autoscaled colour keeps its HPA with both bounds at REPLICAS, so
    the program never writes `replicas` that the HPA owns; at zero the HPA goes (an HPA cannot hold zero, and
    it does not scale a Deployment up from zero while it is being removed) and the Deployment takes 0."""
    if autoscaling is None or replicas == 0:
        return None, replicas
    return replace(autoscaling, min_replicas=replicas, max_replicas=replicas), replicas


def _check(name: str, args: BlueGreenArgs) -> None:
    if len(f"{name}-smoke-green-") + 10 > MAX_JOB_NAME:
        raise ValueError(f"{name!r} is too long for smoke-test Job names (at most {MAX_JOB_NAME} characters)")
    if args.active not in COLOURS:
        raise ValueError(f"active must be one of {COLOURS}, got {args.active!r}")
    if args.idle_replicas is not None and args.idle_replicas < 0:
        raise ValueError(f"idle_replicas must be >= 0, got {args.idle_replicas}")
    check_tracks_match("blue", args.blue, "green", args.green)


def _smoke_container(test: SmokeTest, url: pulumi.Output[str]) -> dict[str, Any]:
    return {
        "name": "smoke-test",
        "image": test.image,
        "imagePullPolicy": "Always",
        "command": ["sh", "-c", SMOKE_SCRIPT],
        "env": [
            {"name": "URL", "value": url},
            {"name": "EXPECTED_STATUS", "value": str(test.expected_status)},
            {"name": "REQUEST_TIMEOUT", "value": str(REQUEST_TIMEOUT_SECONDS)},
        ],
        "resources": SMOKE_RESOURCES,
        "securityContext": kube.container_security_context(CURL_UID),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def _test_settings(test: SmokeTest) -> list[Any]:
    return [test.path, test.expected_status, test.timeout_seconds, test.backoff_limit]
