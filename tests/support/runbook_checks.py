"""Checks of the runbook map against one stack's render: does each equivalent name what exists, and may its Role
run it? kubectl commands: tests/support/kubectl_checks.py. curl and the like must reach a public host of the stack,
on a path its routes serve and with the monitoring login where the Gateway asks for it, or a local port an earlier
port-forward of the same entry opened; `pulumi config set` a key the schema has; `aws s3` the backup bucket's dumps
of a service with a database, or Prometheus' blocks where a role of the stack uploads them.
"""

from __future__ import annotations

import re
from typing import get_args

from pydantic import BaseModel

from services import CATALOG
from settings.models import METRICS_OWNER
from settings.schema import AppConfig
from tests.support.kubectl_checks import check_kubectl, parse_kubectl, segments
from tests.support.stack_view import StackView
from tools.mock_runtime import ROOT
from tools.runbooks import Entry

# `pulumi config set` keys this map may use (besides an app's settings under services.<service>.apps.<app>).
TOP_LEVEL_CONFIG = {"imageTag", "primaryAiApiKey"}


def problems(view: StackView, entry: Entry) -> list[str]:
    """Everything wrong with ENTRY's equivalent on the stack VIEW shows."""
    found: list[str] = []
    ports: set[int] = set()
    for command in entry.equivalent:
        if command.startswith("#"):
            found += [f"{p} does not exist" for p in re.findall(r"[\w/]+\.py", command) if not (ROOT / p).exists()]
            continue
        for tokens in segments(command.replace("$DOMAIN", view.domain)):
            found += _command_problems(view, entry, tokens, ports)
    return found


def _command_problems(view: StackView, entry: Entry, tokens: list[str], ports: set[int]) -> list[str]:
    while tokens and re.match(r"^[A-Z_]+=", tokens[0]):
        found = _url_problems(view, tokens[0].split("=", 1)[1], ports)
        if found:
            return found
        tokens = tokens[1:]
    program = tokens[0] if tokens else ""
    if program == "watch":
        return [p for inner in segments(tokens[1]) for p in _command_problems(view, entry, inner, ports)]
    if program == "kubectl":
        return check_kubectl(view, parse_kubectl(tokens), entry.role, ports)
    if program == "pulumi":
        return _pulumi_problems(tokens, entry.role)
    if program == "aws":
        return _aws_problems(view, tokens)
    if program in ("curl", "open", "make", "openssl"):
        urls = [t for t in tokens if t.startswith(("http://", "https://"))]
        found = [p for url in urls for p in _url_problems(view, url, ports)]
        if program == "openssl" and "-connect" in tokens:
            found += _url_problems(view, f"https://{tokens[tokens.index('-connect') + 1]}", ports)
        if program in ("curl", "open") and not found:
            found += [p for url in urls for p in _request_problems(view, url, tokens, entry.role)]
        return found
    return []


def _url_problems(view: StackView, url: str, ports: set[int]) -> list[str]:
    match = re.match(r"^(https?)://([^/:?]+)(?::(\d+))?", url)
    if not match:
        return []
    scheme, host, port = match.groups()
    if host == "localhost":
        return [] if port and int(port) in ports else [f"{url}: no port-forward opens localhost:{port}"]
    if scheme != "https" or host not in view.hosts:
        return [f"{url}: {host} is not a public host of the stack ({sorted(view.hosts)})"]
    return []


def _request_problems(view: StackView, url: str, tokens: list[str], role: str | None) -> list[str]:
    """What the Gateway does with a request to URL: a path its routes serve (X-15: public apps serve their API
    only), and the monitoring login where it asks for one."""
    match = re.match(r"^https://([^/:?#]+)(?::\d+)?([^?#]*)", url)
    if not match or match.group(1) not in view.paths:
        return []
    host, path = match.group(1), match.group(2) or "/"
    found = []
    if not any(_serves(kind, value, path) for kind, value in view.paths[host]):
        found.append(f"{url}: the Gateway serves no {path} on {host} (only {view.paths[host]})")
    if host in view.login_hosts and (
        role != "monitoring" or (tokens[0] == "curl" and not {"-u", "--user"} & set(tokens))
    ):
        found.append(f"{url}: {host} asks for the monitoring login (role monitoring; curl -u)")
    return found


def _serves(kind: str, value: str, path: str) -> bool:
    """Gateway API path matching: `Exact`, or `PathPrefix` by whole path elements (`/api` serves `/api/x`, not
    `/apix`)."""
    if kind == "Exact":
        return path == value
    prefix = value.rstrip("/")
    return path == prefix or path.startswith(f"{prefix}/")


def _pulumi_problems(tokens: list[str], role: str | None) -> list[str]:
    if role != "pulumi":
        return [f"`pulumi` runs through CI (role pulumi), not as {role}"]
    if tokens[1:3] == ["stack", "select"]:
        return [] if tokens[3] in ("staging", "prod") else [f"no stack {tokens[3]}"]
    if tokens[1:3] != ["config", "set"]:
        return [] if tokens[1:] == ["up"] else [f"the checks do not know `{' '.join(tokens)}`"]
    rest = [t for t in tokens[3:] if not t.startswith("--")]
    key = rest[0]
    if "--path" not in tokens:
        return [] if key in TOP_LEVEL_CONFIG else [f"config key {key} is not one this map may set"]
    parts = key.split(".")
    if parts[0] != "services" or parts[1] not in CATALOG:
        return [f"config path {key}: no such service"]
    if parts[2] != "apps" or parts[3] not in {app.name for app in CATALOG[parts[1]].apps}:
        return [f"config path {key}: no such app"]
    return [] if _settable(AppConfig, parts[4:]) else [f"config path {key}: no such app setting"]


def _settable(model: type[BaseModel], path: list[str]) -> bool:
    """Whether PATH (camelCase keys) names a setting of MODEL, or a key inside one of its maps."""
    fields = {info.alias or name: info.annotation for name, info in model.model_fields.items()}
    if path[0] not in fields:
        return False
    inner = next((t for t in get_args(fields[path[0]]) or (fields[path[0]],) if isinstance(t, type)), None)
    if len(path) == 1 or inner is None or not issubclass(inner, BaseModel):
        return True
    return _settable(inner, path[1:])


def _aws_problems(view: StackView, tokens: list[str]) -> list[str]:
    for url in (t for t in tokens if t.startswith("s3://")):
        bucket, _, key = url.removeprefix("s3://").partition("/")
        if bucket != "$BUCKET" or view.bucket is None:
            return [f"{url}: the backup bucket is $BUCKET (this stack has {view.bucket})"]
        parts = key.split("/")
        if parts[1:2] == [METRICS_OWNER]:  # Prometheus' blocks (S3-11), where the stack copies them
            if key.startswith(tuple(view.uploads)):
                continue
            return [f"{url}: no role of this stack uploads Prometheus' blocks there ({sorted(view.uploads)})"]
        service = CATALOG.get(parts[1]) if len(parts) > 2 else None
        if parts[0] != "daily" or service is None or service.database is None or parts[2] != "dumps":
            return [f"{url}: dumps are under daily/<service with a database>/dumps/"]
    return []
