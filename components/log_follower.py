"""The log-follower sidecar of an app that writes log files (S2-04): it prints every `*.log` file of the app's
log directories to its own stdout, so the node's log shipper collects those lines with the pod's namespace and
labels like any container output (`container: log-follower`).

A sidecar rather than the shipper tailing the kubelet's pod-volume directories from the node: those paths name
pods by UID only (no namespace or labels), and mounting them would expose every pod's Secret volumes to the
shipper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

import versions
from components import kube
from components.kube import Resources

CONTAINER = "log-follower"
TMP_VOLUME = "follower-tmp"
"""Its own small `/tmp` (the heartbeat file)."""
TMP_SIZE_LIMIT = "1Mi"
RESOURCES = Resources({"cpu": "10m", "memory": "16Mi"}, {"cpu": "100m", "memory": "32Mi"})

# Streams every `*.log` file of the directories given as arguments to stdout, from its first line and across
# rotations (`tail -F` follows the name), picking up new files within seconds. The heartbeat file lets the
# probes tell a stalled loop. POSIX sh and busybox tools only.
FOLLOW_LOGS_SCRIPT = """\
followed=" "
while true; do
  for dir in "$@"; do
    for file in "$dir"/*.log; do
      [ -f "$file" ] || continue
      case "$followed" in *" $file "*) continue ;; esac
      followed="$followed$file "
      tail -n +1 -F "$file" &
    done
  done
  touch /tmp/heartbeat
  sleep "${FOLLOW_INTERVAL_SECONDS:-5}"
done
"""


@dataclass(frozen=True)
class LogFollower:
    """The sidecar's image and size."""

    image: pulumi.Input[str] = versions.BUSYBOX_IMAGE
    """An image with POSIX sh, `tail -F`, `find` and `touch` (busybox)."""
    resources: Resources = RESOURCES
    """Requests and limits of the sidecar."""


@dataclass(frozen=True)
class LogDir:
    """A directory the app writes log files to, as mounted in the pod."""

    volume: str
    """Name of the pod's volume holding it."""
    path: str
    """Mount path (the same in the app and the sidecar)."""


def follower_container(follower: LogFollower, log_dirs: Sequence[LogDir], run_as_user: int) -> dict[str, Any]:
    """The sidecar, reading LOG_DIRS read-only as the app's own user (it needs the pod volume TMP_VOLUME)."""
    heartbeat = {"exec": {"command": ["sh", "-c", "find /tmp/heartbeat -mmin -1 | grep -q ."]}}
    return {
        "name": CONTAINER,
        "image": follower.image,
        "imagePullPolicy": "Always",
        "command": ["sh", "-c", FOLLOW_LOGS_SCRIPT, CONTAINER, *(d.path for d in log_dirs)],
        "resources": kube.resources(follower.resources),
        "securityContext": kube.container_security_context(run_as_user),
        "livenessProbe": {**heartbeat, "initialDelaySeconds": 10, "periodSeconds": 30},
        "readinessProbe": {**heartbeat, "initialDelaySeconds": 5, "periodSeconds": 30},
        "volumeMounts": [
            {"name": TMP_VOLUME, "mountPath": "/tmp"},
            *({"name": d.volume, "mountPath": d.path, "readOnly": True} for d in log_dirs),
        ],
    }


def tmp_volume() -> dict[str, Any]:
    return kube.empty_dir(TMP_VOLUME, TMP_SIZE_LIMIT)
