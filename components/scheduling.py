"""Where an app's pods may run: the nodes they require and the taints they tolerate, e.g. spot capacity (S4-08)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Scheduling:
    """Where pods may run (e.g. spot capacity)."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    """Node labels the pods require."""
    tolerations: Sequence[Mapping[str, str]] = ()
    """Taints the pods tolerate (Kubernetes `tolerations` entries)."""


def scheduling_fields(scheduling: Scheduling | None) -> dict[str, Any]:
    """The pod spec's `nodeSelector` and `tolerations` for SCHEDULING; none for None (anywhere)."""
    if scheduling is None:
        return {}
    spec: dict[str, Any] = {}
    if scheduling.node_selector:
        spec["nodeSelector"] = dict(scheduling.node_selector)
    if scheduling.tolerations:
        spec["tolerations"] = [dict(t) for t in scheduling.tolerations]
    return spec
