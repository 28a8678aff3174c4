"""Expectations derived from the stack files: how each app is delivered, and the Deployments it runs as; and the
variants of the stack files that tests in several modules read, built here once so that they are one config
and share one run (`program_run`)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from services import CATALOG
from settings import required_secret_keys
from tools.mock_runtime import CLUSTER_STACK_OUTPUTS, load_stack_config
from tools.stack_config import Secure

SERVICES = "ai-platform:services"


def _apps(services: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, config) of every app a stack file's `services` configures."""
    for service in services.values():
        yield from ((service or {}).get("apps") or {}).items()


def _strategy(app: dict[str, Any]) -> str:
    """An app's delivery strategy (apps that name none roll)."""
    return (app.get("delivery") or {}).get("strategy", "rolling")


def delivery_strategies(stack: str) -> dict[str, str]:
    """App -> the delivery strategy the stack file sets for it."""
    return {name: _strategy(app) for name, app in _apps(load_stack_config(stack).get(SERVICES) or {})}


def apps_delivered(strategy: str, stack: str = "prod") -> set[str]:
    """Apps the stack delivers with STRATEGY (`blue-green`, `canary`)."""
    return {app for app, chosen in delivery_strategies(stack).items() if chosen == strategy}


BLUE_GREEN = apps_delivered("blue-green")
"""Apps prod delivers blue-green (S0-09, S4-10); staging does the same."""
CANARY = apps_delivered("canary")
"""Apps prod delivers through a canary (S3-02)."""


def deployment_names(app: str) -> set[str]:
    """The Deployments an app runs as under its delivery strategy."""
    if app in BLUE_GREEN:
        return {f"{app}-blue", f"{app}-green"}
    return {app, f"{app}-canary"} if app in CANARY else {app}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def env_of(deployment: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(deployment)["env"]}


# --- variants of the stack files ----------------------------------------------------------------


def secret_values(stack: str) -> dict[str, str]:
    """A distinctive value for every secret STACK's config asks for, as an operator sets them with `--secret`:
    pass them as `secrets` to `program_run` and look for them where no secret may be."""
    needed = required_secret_keys(CATALOG, load_stack_config(stack))
    return {key: f"s3cr3t-{key.split(':')[1]}-value" for key in needed}


def own_cluster(kubeconfig: str | None = None) -> dict[str, Any]:
    """`ai-platform:cluster` of a prod that holds its own KUBECONFIG (a secret; the cluster stack's by default)
    instead of reading the cluster team's stack: the cluster `prod-eks`, with the cluster stack's OIDC provider."""
    return {
        "name": "prod-eks",
        "kubeconfig": Secure(kubeconfig or CLUSTER_STACK_OUTPUTS["kubeconfig"]),
        "oidcProviderArn": CLUSTER_STACK_OUTPUTS["oidcProviderArn"],
        "oidcIssuerUrl": CLUSTER_STACK_OUTPUTS["oidcIssuerUrl"],
    }


def stack_services(stack: str) -> dict[str, Any]:
    """A copy of STACK's `services` config, to edit into overrides."""
    return copy.deepcopy(load_stack_config(stack)[SERVICES])


def _with_deliveries(stack: str, strategy: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """STACK's overrides with CHANGE made to the delivery of every app it delivers with STRATEGY."""
    services = stack_services(stack)
    for _, app in _apps(services):
        if _strategy(app) == strategy:
            change(app["delivery"])
    return {SERVICES: services}


def with_active(stack: str, colour: str) -> dict[str, Any]:
    """STACK's overrides that make COLOUR the active colour of every app it delivers blue-green."""
    return _with_deliveries(stack, "blue-green", lambda delivery: delivery.update(active=colour))


def with_canary(stack: str, weight: int) -> dict[str, Any]:
    """STACK's overrides that send WEIGHT percent of each canary app's traffic to its canary, scaled to nothing
    when dark (weight 0)."""
    replicas = 0 if weight == 0 else 1
    return _with_deliveries(stack, "canary", lambda delivery: delivery.update(weight=weight, canaryReplicas=replicas))


def retired(stack: str, service: str) -> dict[str, Any]:
    """STACK's overrides that turn SERVICE off, with the acknowledgement prod asks for (settings/data_loss.py)."""
    services = stack_services(stack)
    services.setdefault(service, {})["enabled"] = False
    return {SERVICES: services, "ai-platform:acknowledgeDataLoss": [f"services.{service}.enabled"]}
