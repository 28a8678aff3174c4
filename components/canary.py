"""Canary: a stable Deployment, a canary Deployment of the same app, and a weighted public route.

The stable app is a full `AppDeployment` named `<app>` (HPA, PDB, ...); the canary is `<app>-canary`
with a fixed replica count and the same container name, so `kubectl set image deployment/<app>-canary
<container>=...` works as the manuals write it. Service `<app>` keeps selecting only stable pods (in-cluster
callers stay on stable); the Gateway API `HTTPRoute` sends `weight` percent of public requests to
`<app>-canary`. Weight 0 keeps the canary dark, 100 sends it everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pulumi
import pulumi_kubernetes as k8s

from components import kube
from components.app_deployment import AppDeployment, AppDeploymentArgs, check_tracks_match
from components.public_hosts import EVERY_PATH, PathMatch, check_paths, route_matches

TRACK_LABEL = "track"
"""Pod label telling stable and canary pods apart."""


@dataclass(frozen=True)
class GatewayListener:
    """A listener of a Gateway that the route attaches to."""

    gateway: str
    """Gateway name."""
    namespace: str
    """Gateway namespace."""
    section: str | None = None
    """Listener name; None attaches to every listener that admits the route."""


@dataclass(frozen=True)
class CanaryArgs:
    """The stable app, its canary, and the share of public traffic the canary gets."""

    stable: AppDeploymentArgs
    """The stable app as it runs today."""
    canary: AppDeploymentArgs
    """The canary: usually the stable app with the new image; namespace and port must be the stable's."""
    weight: int
    """Percent (0-100) of the route's requests sent to the canary."""
    hostnames: Sequence[str]
    """Public host names the route serves."""
    parents: Sequence[GatewayListener]
    """Gateway listeners the route attaches to."""
    canary_replicas: int = 1
    """Fixed replica count of the canary (0 parks it; only with weight 0)."""
    paths: Sequence[PathMatch] = EVERY_PATH
    """What the route serves (the app's public API, X-15)."""


class Canary(pulumi.ComponentResource):
    """Stable and canary AppDeployments behind one weighted HTTPRoute."""

    service_name: str
    """Name of the stable Service (the app name)."""
    url: pulumi.Output[str]
    """In-cluster URL of the stable Service."""
    stable: AppDeployment
    canary: AppDeployment
    route: k8s.apiextensions.CustomResource
    """The weighted HTTPRoute."""
    weights: dict[str, int]
    """Backend Service name -> weight in the route."""
    labels: dict[str, str]
    """Labels both tracks' pods carry (`app: <app>`)."""
    selector: dict[str, str]
    """Selects the pods of both tracks (the same as `labels`)."""
    port: int
    metrics_port: int

    def __init__(self, name: str, args: CanaryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:canary:Canary", name, None, opts)
        _check(args)
        child = kube.child_options(self, opts)
        self.service_name = name
        self.labels = {"app": name}
        self.selector = dict(self.labels)
        stable = args.stable
        self.port, self.metrics_port = stable.port, stable.metrics_port or stable.port
        container = stable.container_name or name
        self.stable = AppDeployment(
            name, replace(stable, container_name=container, pod_labels=self._pod_labels(stable, "stable")), child
        )
        self.canary = AppDeployment(
            f"{name}-canary",
            replace(
                args.canary,
                container_name=container,
                pod_labels=self._pod_labels(args.canary, "canary"),
                autoscaling=None,
                replicas=args.canary_replicas,
            ),
            child,
        )
        self.weights = {self.stable.service_name: 100 - args.weight, self.canary.service_name: args.weight}
        self.route = self._route(name, args, child)
        self.url = self.stable.url
        self.register_outputs({"serviceName": name, "url": self.url, "weights": self.weights})

    def _pod_labels(self, app: AppDeploymentArgs, track: str) -> dict[str, str]:
        return {**app.pod_labels, **self.labels, TRACK_LABEL: track}

    def _route(self, name: str, args: CanaryArgs, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        backends = [
            {"group": "", "kind": "Service", "name": service, "port": args.stable.port, "weight": weight}
            for service, weight in self.weights.items()
        ]
        return k8s.apiextensions.CustomResource(
            f"{name}-route",
            api_version=f"{kube.GATEWAY_API}/v1",
            kind="HTTPRoute",
            metadata=kube.metadata(name, args.stable.namespace, kube.app_labels(name, args.stable.part_of)),
            spec={
                "parentRefs": [kube.gateway_parent_ref(p.gateway, p.namespace, p.section) for p in args.parents],
                "hostnames": list(args.hostnames),
                "rules": [{"matches": route_matches(args.paths), "backendRefs": backends}],
            },
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[self.stable.service, self.canary.service])
            ),
        )


def _check(args: CanaryArgs) -> None:
    if not 0 <= args.weight <= 100:
        raise ValueError(f"weight must be a percentage (0-100), got {args.weight}")
    if args.canary_replicas < 0:
        raise ValueError(f"canary_replicas must be >= 0, got {args.canary_replicas}")
    if args.weight > 0 and args.canary_replicas == 0:
        raise ValueError(f"a canary with weight {args.weight} needs at least one replica")
    check_tracks_match("stable", args.stable, "canary", args.canary)
    if not args.parents or not args.hostnames:
        raise ValueError("a canary route needs at least one Gateway listener and one host name")
    check_paths("canary route", args.paths)
