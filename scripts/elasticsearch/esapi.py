"""A small Elasticsearch REST client for the log stack's snapshot jobs (standard library only).

Connection from the environment: `ES_URL` (e.g. https://elasticsearch-es-http.logging.svc:9200), `ES_USERNAME`,
`ES_PASSWORD_FILE` (a mounted Secret key; never an environment value) and `ES_CA_FILE` (the CA of the HTTP
certificate). Every failure ends the job with one `ERROR:` line naming the call and Elasticsearch's reason.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from typing import Any, NoReturn


class ElasticsearchError(RuntimeError):
    """Elasticsearch answered with an error, or could not be reached."""


def fail(message: str) -> NoReturn:
    print(f"ERROR: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


class Client:
    def __init__(self, url: str, username: str, password: str, ca_file: str | None = None, timeout: int = 120):
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        self.context = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self.timeout = timeout

    @classmethod
    def from_env(cls) -> Client:
        missing = [name for name in ("ES_URL", "ES_USERNAME", "ES_PASSWORD_FILE") if not os.environ.get(name)]
        if missing:
            fail(f"set {', '.join(missing)}")
        with open(os.environ["ES_PASSWORD_FILE"], encoding="utf-8") as handle:
            password = handle.read().strip()
        return cls(os.environ["ES_URL"], os.environ["ES_USERNAME"], password, os.environ.get("ES_CA_FILE") or None)

    def request(self, method: str, path: str, body: Any = None, missing_ok: bool = False) -> Any:
        """The decoded JSON answer; None for a 404 when MISSING_OK. Raises ElasticsearchError otherwise."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/{path.lstrip('/')}", data, self.headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                text = response.read().decode() or "{}"
        except urllib.error.HTTPError as error:
            if error.code == 404 and missing_ok:
                return None
            raise ElasticsearchError(f"{method} /{path.lstrip('/')} answered {error.code}: {_reason(error)}") from None
        except (urllib.error.URLError, OSError) as error:
            raise ElasticsearchError(f"{method} /{path.lstrip('/')} failed: {error}") from None
        return json.loads(text)

    def wait_until_ready(self, deadline_seconds: int) -> None:
        """Wait until the cluster answers and is at least yellow (the operator may still be starting it)."""
        deadline = time.monotonic() + deadline_seconds
        while True:
            try:
                health = self.request("GET", "_cluster/health?wait_for_status=yellow&timeout=30s")
                if health.get("status") in ("yellow", "green"):
                    return
                problem = f"cluster health is {health.get('status')}"
            except ElasticsearchError as error:
                problem = str(error)
            if time.monotonic() >= deadline:
                raise ElasticsearchError(f"Elasticsearch not ready after {deadline_seconds} s: {problem}")
            print(f"waiting for Elasticsearch: {problem}", flush=True)
            time.sleep(10)


def _reason(error: urllib.error.HTTPError) -> str:
    """Elasticsearch's own error reason when the body has one."""
    try:
        body = json.loads(error.read().decode() or "{}")
    except (ValueError, OSError):
        return error.reason or "no reason given"
    detail = body.get("error", body)
    if isinstance(detail, dict):
        return f"{detail.get('type', 'error')}: {detail.get('reason', json.dumps(detail))}"
    return str(detail)
