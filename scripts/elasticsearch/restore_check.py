"""Prove the newest snapshot restores (S2-05): restore its newest log index into a scratch index, check it.

Environment: `REPOSITORY` (backup), `INDEX_PREFIX` (the log data stream's backing indices, `.ds-logs-platform-`),
`SCRATCH_PREFIX` (restore-check-), `MAX_AGE_HOURS` (26: a daily snapshot plus slack), `WAIT_SECONDS`.

The check fails when the newest successful snapshot is older than MAX_AGE_HOURS, holds no log index, restores
with a failed shard, does not turn green, or restores an empty index. Elasticsearch verifies every restored
file's checksum, so a green, searchable scratch index means the snapshot's data is intact. The scratch index
is deleted afterwards, and before a run in case an earlier one was interrupted.
"""

from __future__ import annotations

import os
import time

from esapi import Client, ElasticsearchError, fail


def newest_successful(snapshots: list[dict]) -> dict:
    done = [s for s in snapshots if s.get("state") == "SUCCESS"]
    if not done:
        fail("the repository holds no successful snapshot")
    return max(done, key=lambda s: int(s.get("start_time_in_millis", 0)))


def main() -> None:
    repository = os.environ.get("REPOSITORY", "backup")
    prefix = os.environ.get("INDEX_PREFIX", ".ds-logs-platform-")
    scratch_prefix = os.environ.get("SCRATCH_PREFIX", "restore-check-")
    max_age_hours = float(os.environ.get("MAX_AGE_HOURS", "26"))
    client = Client.from_env()
    try:
        client.wait_until_ready(int(os.environ.get("WAIT_SECONDS", "600")))
        snapshot = newest_successful(client.request("GET", f"_snapshot/{repository}/_all")["snapshots"])
        name = snapshot["snapshot"]
        age_hours = (time.time() * 1000 - int(snapshot["start_time_in_millis"])) / 3_600_000
        if age_hours > max_age_hours:
            fail(f"the newest successful snapshot {name} is {age_hours:.1f} h old (more than {max_age_hours:g} h)")
        indices = sorted(i for i in snapshot.get("indices", []) if i.startswith(prefix))
        if not indices:
            fail(f"snapshot {name} holds no index starting with {prefix}")
        index = indices[-1]
        scratch = scratch_prefix + index.lstrip(".")
        client.request("DELETE", scratch, missing_ok=True)
        restored = client.request(
            "POST",
            f"_snapshot/{repository}/{name}/_restore?wait_for_completion=true",
            {
                "indices": index,
                "rename_pattern": "(.+)",
                "rename_replacement": scratch,
                "include_global_state": False,
                "include_aliases": False,
                "index_settings": {"index.number_of_replicas": 0},
                "ignore_index_settings": ["index.lifecycle.name"],
            },
        )
        shards = restored.get("snapshot", {}).get("shards", {})
        if shards.get("failed", 1) != 0 or not shards.get("successful"):
            fail(f"restoring {index} from {name} into {scratch}: shards {shards}")
        health = client.request("GET", f"_cluster/health/{scratch}?wait_for_status=green&timeout=600s")
        if health.get("status") != "green":
            fail(f"the restored index {scratch} is {health.get('status')}, not green")
        count = int(client.request("GET", f"{scratch}/_count")["count"])
        if count < 1:
            fail(f"the restored index {scratch} holds no document")
        client.request("DELETE", scratch)
    except ElasticsearchError as error:
        fail(str(error))
    print(
        f"OK: snapshot {name} ({age_hours:.1f} h old) restored {index} into {scratch}: "
        f"{count} documents, {shards['successful']} shards; scratch index deleted",
        flush=True,
    )


if __name__ == "__main__":
    main()
