"""Nothing internal is public (X-15, S3-03, S3-08), read from both renders: the routes of the public Gateway serve
each app's API and none of its `/metrics`, probes or admin paths; Prometheus and Grafana ask for a login at the
Gateway (an Envoy Gateway SecurityPolicy whose Secret is rendered beside it), and Grafana has no anonymous access.

Path matching follows the Gateway API: `PathPrefix` matches whole path elements, `Exact` one path, and a rule
without `matches` serves everything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.manifests import rendered_documents
from tests.support.runtime import STACKS

GATEWAY = "public"
# Paths that must never be served publicly: metrics, probes, CAD ML's admin API (S3-08), and "everything".
INTERNAL = ("/metrics", "/health", "/health/live", "/ready", "/admin/reset-circuit-breaker", "/admin", "/")
# Paths of each public app's API as its manual uses them (the module's own where the manual names none).
API = {
    "ai-benchmark-api": ("/api/benchmark/run", "/api/benchmark/list"),  # 000
    "agent-skeptic-bench": ("/api/evaluate",),
    "docc2context-api": ("/api/v1/convert",),
    "cad-ml-platform": ("/api/compare", "/api/v1/health/classifier/cache", "/docs", "/openapi.json"),  # 003
    "platform-v2-api": ("/api/v1/health/slo", "/api/v1/health/status", "/api/v1/metrics/slo-compliance"),  # 004
}
MONITORING_HOSTS = ("prom", "grafana")


def serves(rule: dict[str, Any], path: str) -> bool:
    """Whether an HTTPRoute rule matches PATH (Gateway API path matching)."""
    for match in rule.get("matches") or [{}]:
        kind, value = (match.get("path") or {}).get("type", "PathPrefix"), (match.get("path") or {}).get("value", "/")
        if kind == "Exact" and path == value:
            return True
        prefix = value.rstrip("/")
        if kind == "PathPrefix" and (not prefix or path == prefix or path.startswith(prefix + "/")):
            return True
    return False


def public_routes(render: Path) -> dict[str, dict[str, Any]]:
    """Host name -> the HTTPRoute serving it on the public Gateway's HTTPS listeners."""
    routes = {}
    for doc in rendered_documents(render).values():
        if doc["kind"] == "HTTPRoute" and any(p["name"] == GATEWAY for p in doc["spec"]["parentRefs"]):
            for host in doc["spec"].get("hostnames") or []:
                assert host not in routes, f"{host} is served by two routes"
                routes[host] = doc
    return routes


def public_hosts(render: Path) -> dict[str, str]:
    """App -> its public host name, from the stack outputs."""
    outputs = json.loads((render / "outputs.json").read_text())
    return {
        app: values["publicUrl"].removeprefix("https://")
        for service in outputs["services"].values()
        if service
        for app, values in service["apps"].items()
        if values["publicUrl"]
    }


def domain(render: Path) -> str:
    hosts = public_hosts(render)
    return hosts["cad-ml-platform"].removeprefix("api.")


@pytest.mark.parametrize("stack", STACKS)
def test_app_routes_serve_the_api_and_nothing_internal(rendered, stack):
    routes, hosts = public_routes(rendered[stack]), public_hosts(rendered[stack])
    assert set(hosts) == set(API)
    for app, host in hosts.items():
        rules = routes[host]["spec"]["rules"]
        for path in API[app]:
            assert any(serves(rule, path) for rule in rules), f"{host} does not serve {path}"
        for path in INTERNAL:
            assert not any(serves(rule, path) for rule in rules), f"{host} serves {path} to the internet"


def test_the_path_check_can_fail():
    """A catch-all rule (PathPrefix `/`, or no matches at all) serves every internal path."""
    assert serves({"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}, "/metrics")
    assert serves({}, "/admin/reset-circuit-breaker")
    assert not serves({"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}]}, "/apix")
    assert serves({"matches": [{"path": {"type": "PathPrefix", "value": "/api/"}}]}, "/api")


@pytest.mark.parametrize("stack", STACKS)
def test_prometheus_and_grafana_ask_for_a_login_at_the_gateway(rendered, stack):
    docs = list(rendered_documents(rendered[stack]).values())
    routes = public_routes(rendered[stack])
    policies = [d for d in docs if d["kind"] == "SecurityPolicy"]
    secrets = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in docs if d["kind"] == "Secret"}
    protected = {
        (policy["metadata"]["namespace"], ref["name"]): policy
        for policy in policies
        for ref in policy["spec"]["targetRefs"]
        if ref["kind"] == "HTTPRoute" and "basicAuth" in policy["spec"]
    }
    for label in MONITORING_HOSTS:
        route = routes[f"{label}.{domain(rendered[stack])}"]
        namespace = route["metadata"]["namespace"]
        policy = protected.get((namespace, route["metadata"]["name"]))
        assert policy is not None, f"no login in front of {label}."
        # The policy's Secret lives beside it and holds Envoy's htpasswd file, masked in the render.
        users = policy["spec"]["basicAuth"]["users"]
        assert users.get("namespace", namespace) == namespace
        secret = secrets[(namespace, users["name"])]
        assert secret["stringData"][".htpasswd"] == "[secret]"
    # Nothing else is behind the Gateway's login: the apps authenticate their own users.
    assert {name for _, name in protected} == {
        routes[f"{label}.{domain(rendered[stack])}"]["metadata"]["name"] for label in MONITORING_HOSTS
    }


@pytest.mark.parametrize("stack", STACKS)
def test_no_login_or_hash_appears_in_the_render(rendered, stack):
    """X-12: the generated password and its hash exist only as secrets (masked in every file of the render)."""
    for path in rendered[stack].rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "{SHA}" not in text and "generated-monitoring-login-password" not in text, path


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_has_no_anonymous_access(rendered, charts, stack):
    """The release asks for it, and the chart writes it into grafana.ini: a login form, no anonymous viewer, and
    no basic auth (its header is the Gateway's login)."""
    release = yaml.safe_load((rendered[stack] / "helm" / "kube-prometheus-stack.yaml").read_text())
    ini = release["values"]["grafana"]["grafana.ini"]
    assert ini["auth.anonymous"] == {"enabled": False} and ini["auth.basic"] == {"enabled": False}
    config_maps = [
        doc for _, doc in charts[stack].all() if doc["kind"] == "ConfigMap" and "grafana.ini" in (doc.get("data") or {})
    ]
    assert len(config_maps) == 1
    templated = config_maps[0]["data"]["grafana.ini"]
    assert "[auth.anonymous]\nenabled = false" in templated
    assert "[auth.basic]\nenabled = false" in templated
