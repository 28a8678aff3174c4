"""The public hosts of a PublicRoute and what follows from each (X-15, X-07): its HTTPS listener, TLS Secret
and HTTPRoute backends, the ReferenceGrants its backends in other namespaces need, and the backend pods the
Gateway's proxies are admitted to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from components import validation
from components.kube import GATEWAY_API
from components.validation import dns_slug


@dataclass(frozen=True)
class PathMatch:
    """Requests a host's route serves: a Gateway API HTTPRoute path match (X-15)."""

    value: str
    """URL path, e.g. `/api`."""
    type: Literal["PathPrefix", "Exact"] = "PathPrefix"
    """`PathPrefix` matches whole path elements (`/api` serves `/api` and `/api/x`, not `/apix`); `Exact` one path."""


EVERY_PATH = (PathMatch("/"),)
"""Everything under the host: for hosts whose whole UI is public (behind the Gateway's own authentication)."""


def route_matches(paths: Sequence[PathMatch]) -> list[dict[str, Any]]:
    """The `matches` of a route rule serving PATHS (any of them)."""
    return [{"path": {"type": path.type, "value": path.value}} for path in paths]


@dataclass(frozen=True)
class Backend:
    """A Service that receives a host's requests."""

    service: str
    """Service name."""
    namespace: str
    """Service namespace."""
    port: int
    """Service port."""
    weight: int = 1
    """Relative share of the host's requests."""
    pod_labels: Mapping[str, str] | None = None
    """Labels of the pods behind the Service; when set, the proxies are admitted to them on `target_port`."""
    target_port: int | None = None
    """Port of those pods; defaults to `port`."""


@dataclass(frozen=True)
class PublicHost:
    """One public host name and where its requests go."""

    hostname: str
    """Fully qualified host name, e.g. `api.example.com`."""
    route_namespace: str
    """Namespace whose HTTPRoutes may serve this host (the only one its listener admits)."""
    backends: Sequence[Backend] = ()
    """Services behind the host."""
    external_route: bool = False
    """The host's HTTPRoute is declared by its owner (e.g. a canary's weighted route), not by PublicRoute."""
    paths: Sequence[PathMatch] = EVERY_PATH
    """What the route serves; an app's public API only, never its `/metrics`, probes or admin paths."""


def check_hosts(hosts: Sequence[PublicHost]) -> None:
    """Raise ValueError unless HOSTS are distinct DNS names, each with backends or a route declared elsewhere,
    and few enough for one Gateway."""
    if duplicates := validation.duplicates(host.hostname for host in hosts):
        raise ValueError(f"host names listed twice: {duplicates}")
    for host in hosts:
        if not validation.DNS_NAME.match(host.hostname):
            raise ValueError(f"{host.hostname!r} is not a lower-case DNS name")
        if not host.backends and not host.external_route:
            raise ValueError(f"{host.hostname}: give backends, or mark the route as declared elsewhere")
        check_paths(host.hostname, host.paths)
    if len(hosts) > 63:
        raise ValueError("a Gateway has at most 64 listeners (one is the HTTP listener)")


def check_paths(where: str, paths: Sequence[PathMatch]) -> None:
    """Raise ValueError unless PATHS are at least one absolute URL path, each given once."""
    if not paths:
        raise ValueError(f"{where}: give the paths the route serves")
    for path in paths:
        if not path.value.startswith("/") or any(c.isspace() for c in path.value):
            raise ValueError(f"{where}: {path.value!r} is not an absolute URL path")
    if duplicates := validation.duplicates(f"{p.type} {p.value}" for p in paths):
        raise ValueError(f"{where}: paths listed twice: {duplicates}")


def listener_name(hostname: str) -> str:
    """Name of the HTTPS listener of HOSTNAME."""
    return f"https-{dns_slug(hostname)}"


def tls_secret(host: PublicHost) -> str:
    """The Secret holding HOST's certificate (cert-manager writes it, the listener reads it)."""
    return f"{dns_slug(host.hostname)}-tls"


def https_listener(host: PublicHost) -> dict[str, Any]:
    """HOST's HTTPS listener: TLS terminated with its certificate, routes admitted only from its route namespace,
    so a namespace cannot claim another team's host."""
    return {
        "name": listener_name(host.hostname),
        "protocol": "HTTPS",
        "port": 443,
        "hostname": host.hostname,
        "tls": {
            "mode": "Terminate",
            "certificateRefs": [{"group": "", "kind": "Secret", "name": tls_secret(host)}],
        },
        "allowedRoutes": {
            "namespaces": {
                "from": "Selector",
                "selector": {"matchLabels": {"kubernetes.io/metadata.name": host.route_namespace}},
            },
            "kinds": [{"group": GATEWAY_API, "kind": "HTTPRoute"}],
        },
    }


def backend_refs(host: PublicHost) -> list[dict[str, Any]]:
    """The `backendRefs` of HOST's HTTPRoute (in its route namespace)."""
    return [
        {
            "group": "",
            "kind": "Service",
            "name": backend.service,
            "port": backend.port,
            "weight": backend.weight,
            **({"namespace": backend.namespace} if backend.namespace != host.route_namespace else {}),
        }
        for backend in host.backends
    ]


def cross_namespace_services(hosts: Sequence[PublicHost]) -> dict[tuple[str, str], list[str]]:
    """(route namespace, Service namespace) -> the Services there that declared routes reach, each pair needing
    a ReferenceGrant; sorted."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for host in hosts:
        if host.external_route:
            continue
        for backend in host.backends:
            if backend.namespace != host.route_namespace:
                wanted.setdefault((host.route_namespace, backend.namespace), set()).add(backend.service)
    return {pair: sorted(services) for pair, services in sorted(wanted.items())}


def admitted_backends(hosts: Sequence[PublicHost]) -> list[tuple[Backend, Mapping[str, str]]]:
    """The backends whose pods the Gateway's proxies are admitted to, with those pods' labels: each backend
    that gives them, once per Service."""
    admitted: dict[tuple[str, str], tuple[Backend, Mapping[str, str]]] = {}
    for host in hosts:
        for backend in host.backends:
            if backend.pod_labels is not None:
                admitted.setdefault((backend.namespace, backend.service), (backend, backend.pod_labels))
    return list(admitted.values())
