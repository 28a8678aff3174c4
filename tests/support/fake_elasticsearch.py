"""A stand-in for Elasticsearch in the tests of the log stack's snapshot scripts (scripts/elasticsearch/).

An HTTP server on 127.0.0.1 that keeps what is PUT, answers GETs the way Elasticsearch does (settings as strings,
defaults added, each object wrapped as its API wraps it), restores and counts "indices", and records every
request (method, path, body). `fail[(method, path)]` makes a call answer an error, as Elasticsearch words one.

    with serve() as (fake, url):
        ...  # run a script with ES_URL=url
        fake.requests  # [("PUT", "/_snapshot/backup", {...}), ...]
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeElasticsearch:
    """The Elasticsearch APIs the scripts call, in memory."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.objects: dict[str, Any] = {}
        self.fail: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self.snapshots: list[dict[str, Any]] = []
        self.restored_docs = 42
        self.indices: set[str] = set()
        self.authorizations: set[str] = set()

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path, body))
        route = path.split("?")[0]
        if (method, route) in self.fail:
            return self.fail[(method, route)]
        route = route.strip("/")
        if route.startswith("_cluster/health"):
            return 200, {"status": "green"}
        if route.endswith("/_verify"):
            return 200, {"nodes": {"n1": {"name": "elasticsearch-es-default-0"}}}
        if route.startswith("_snapshot/") and route.endswith("/_all"):
            return 200, {"snapshots": self.snapshots}
        if route.endswith("/_restore"):
            self.indices.add(body["rename_replacement"])
            return 200, {"snapshot": {"shards": {"total": 1, "failed": 0, "successful": 1}}}
        if route.endswith("/_count"):
            return 200, {"count": self.restored_docs}
        if method == "PUT":
            self.objects[route] = copy.deepcopy(body)
            return 200, {"acknowledged": True}
        if method == "DELETE":
            if route in self.indices:
                self.indices.discard(route)
                return 200, {"acknowledged": True}
            return 404, {"error": {"type": "index_not_found_exception", "reason": f"no such index [{route}]"}}
        if method == "GET" and route in self.objects:
            return 200, _as_elasticsearch_returns(route, self.objects[route])
        return 404, {"error": {"type": "resource_not_found_exception", "reason": f"{route} missing"}}


def _as_elasticsearch_returns(route: str, body: Any) -> Any:
    kind, _, name = route.rpartition("/")
    if kind == "_snapshot":
        settings = {key: str(value) for key, value in body["settings"].items()}
        return {name: {"type": body["type"], "settings": {**settings, "compress": "true"}}}
    if kind == "_ilm/policy":
        return {name: {"version": 1, "modified_date": "2026-01-01", "policy": body["policy"]}}
    if kind == "_index_template":
        template = {**body, "composed_of": [], "data_stream": {"hidden": False, "allow_custom_routing": False}}
        return {"index_templates": [{"name": name, "index_template": template}]}
    if kind == "_slm/policy":
        return {name: {"version": 1, "policy": body, "next_execution_millis": 0}}
    raise AssertionError(f"no such object kind: {route}")


@contextmanager
def serve() -> Iterator[tuple[FakeElasticsearch, str]]:
    """A FakeElasticsearch listening on 127.0.0.1 (a free port) and its URL; stopped on exit."""
    fake = FakeElasticsearch()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            fake.authorizations.add(self.headers.get("Authorization") or "")
            status, answer = fake.handle(self.command, self.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = _answer  # noqa: N815 - http.server's handler names

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
