"""Expectations derived from the stack files: how each app is delivered, and the Deployments it runs as."""

from __future__ import annotations

from typing import Any

from tools.mock_runtime import load_stack_config


def delivery_strategies(stack: str) -> dict[str, str]:
    """App -> the delivery strategy the stack file sets for it (apps it does not name roll)."""
    services = load_stack_config(stack).get("ai-platform:services") or {}
    return {
        app: (config.get("delivery") or {}).get("strategy", "rolling")
        for service in services.values()
        for app, config in ((service or {}).get("apps") or {}).items()
    }


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
