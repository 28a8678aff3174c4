"""The HorizontalPodAutoscaler of an app (X-04): its bounds and targets, and the autoscaling/v2 object.

AppDeployment declares one per app; BlueGreen declares its own pair that follows the traffic, not a colour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import kube


@dataclass(frozen=True)
class Autoscaling:
    """HPA (autoscaling/v2) bounds and targets; the HPA owns the replica count."""

    min_replicas: int
    """Fewest replicas; above 1 also declares a PodDisruptionBudget."""
    max_replicas: int
    """Most replicas."""
    cpu_utilization: int = 75
    """Target average CPU use, in percent of the request."""
    memory_utilization: int = 80
    """Target average memory use, in percent of the request."""
    scale_up_stabilization_seconds: int = 0
    """Window of recommendations considered before scaling up."""
    scale_down_stabilization_seconds: int = 300
    """Window of recommendations considered before scaling down."""
    name: str | None = None
    """HPA name; defaults to the app name."""


@dataclass(frozen=True)
class HpaTarget:
    """Where an HPA lives and the Deployment it scales."""

    name: str
    """Name of the HPA object."""
    namespace: pulumi.Input[str]
    """Namespace of the HPA and its Deployment."""
    deployment: str
    """Name of the Deployment it scales."""
    labels: Mapping[str, str]
    """Labels of the HPA object."""


def horizontal_pod_autoscaler(
    resource_name: str, target: HpaTarget, scaling: Autoscaling, opts: pulumi.ResourceOptions
) -> k8s.autoscaling.v2.HorizontalPodAutoscaler:
    """An autoscaling/v2 HPA on CPU and memory use (X-04); the program wins its bounds back on the next `up`."""
    return k8s.autoscaling.v2.HorizontalPodAutoscaler(
        resource_name,
        metadata=kube.metadata(target.name, target.namespace, dict(target.labels), kube.PULUMI_WINS),
        spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target.deployment},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                _utilization("cpu", scaling.cpu_utilization),
                _utilization("memory", scaling.memory_utilization),
            ],
            "behavior": {
                "scaleUp": {
                    "stabilizationWindowSeconds": scaling.scale_up_stabilization_seconds,
                    "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
                },
                "scaleDown": {
                    "stabilizationWindowSeconds": scaling.scale_down_stabilization_seconds,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                },
            },
        },
        opts=opts,
    )


def _utilization(resource: str, percent: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": percent}},
    }
