"""Register what the log stack's snapshots and retention need (S2-05), idempotently.

Reads the desired objects from the JSON file `SETUP_CONFIG`:

    {"repository": {"name": "backup", "body": {"type": "s3", "settings": {...}}},
     "ilm_policies": {"<name>": {"policy": {...}}},
     "index_templates": {"<name>": {...}},
     "slm_policies": {"<name>": {"schedule": ..., "repository": "backup", ...}}}

and, in that order (each one refers to the one before), PUTs only what differs from what Elasticsearch has:
a second run changes nothing. Then it verifies the repository (every node can write to the bucket), so the
job fails when the IRSA role or the bucket policy keeps Elasticsearch out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from esapi import Client, ElasticsearchError, fail


def matches(desired: Any, current: Any) -> bool:
    """DESIRED is contained in CURRENT (Elasticsearch adds defaults and returns settings as strings)."""
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(k in current and matches(v, current[k]) for k, v in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(current, list)
            and len(desired) == len(current)
            and all(matches(d, c) for d, c in zip(desired, current, strict=True))
        )
    return _scalar(desired) == _scalar(current)


def _scalar(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _repository(answer: dict, name: str) -> Any:
    return answer.get(name)


def _ilm_policy(answer: dict, name: str) -> Any:
    return {"policy": answer[name]["policy"]} if name in answer else None


def _index_template(answer: dict, name: str) -> Any:
    found = [t["index_template"] for t in answer.get("index_templates", []) if t.get("name") == name]
    return found[0] if found else None


def _slm_policy(answer: dict, name: str) -> Any:
    return answer[name]["policy"] if name in answer else None


def ensure(client: Client, what: str, path: str, body: Any, current_of: Callable[[dict, str], Any]) -> bool:
    """PUT BODY at PATH unless Elasticsearch already has it; True when it changed something."""
    name = path.rsplit("/", 1)[1]
    answer = client.request("GET", path, missing_ok=True)
    if answer is not None and matches(body, current_of(answer, name)):
        print(f"unchanged: {what} {name}", flush=True)
        return False
    client.request("PUT", path, body)
    print(f"{'created' if answer is None else 'updated'}: {what} {name}", flush=True)
    return True


def main() -> None:
    with open(os.environ["SETUP_CONFIG"], encoding="utf-8") as handle:
        config = json.load(handle)
    client = Client.from_env()
    repository = config["repository"]
    try:
        client.wait_until_ready(int(os.environ.get("WAIT_SECONDS", "1200")))
        ensure(client, "snapshot repository", f"_snapshot/{repository['name']}", repository["body"], _repository)
        for name, body in config.get("ilm_policies", {}).items():
            ensure(client, "ILM policy", f"_ilm/policy/{name}", body, _ilm_policy)
        for name, body in config.get("index_templates", {}).items():
            ensure(client, "index template", f"_index_template/{name}", body, _index_template)
        for name, body in config.get("slm_policies", {}).items():
            ensure(client, "snapshot lifecycle policy", f"_slm/policy/{name}", body, _slm_policy)
        verified = client.request("POST", f"_snapshot/{repository['name']}/_verify")
    except ElasticsearchError as error:
        fail(str(error))
    nodes = sorted(node.get("name", node_id) for node_id, node in (verified.get("nodes") or {}).items())
    if not nodes:
        fail(f"snapshot repository {repository['name']} verified by no node")
    print(f"verified: snapshot repository {repository['name']} is writable from {', '.join(nodes)}", flush=True)


if __name__ == "__main__":
    main()
