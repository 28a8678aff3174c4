"""Kubernetes' Pod Security Standards (baseline, restricted) as checks over a pod spec."""

from __future__ import annotations

from typing import Any

from tests.support.manifests import containers

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
ALLOWED_SECCOMP = {"RuntimeDefault", "Localhost"}
ALLOWED_SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
# Images that run as their own fixed user below the platform's 10001 must say why on the workload.
FIXED_UID_BELOW = 10000
UID_REASON_KEYS = ("ai-platform/run-as-user-reason",)


LEVELS = ("privileged", "baseline", "restricted")


def violations(spec: dict[str, Any], level: str = "restricted") -> list[str]:
    """What the Pod Security LEVEL refuses in a pod spec (empty when it is admitted)."""
    if level == "privileged":
        return []
    found = _baseline_violations(spec)
    if level == "restricted":
        found += _restricted_violations(spec)
    return found


def _baseline_violations(spec: dict[str, Any]) -> list[str]:
    found = []
    pod = spec.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            found.append(f"Host Namespaces: {field}")
    if pod.get("windowsOptions", {}).get("hostProcess"):
        found.append("HostProcess")
    found += [f"HostPath Volumes: {v['name']}" for v in spec.get("volumes") or [] if "hostPath" in v]
    found += [f"Sysctls: {s['name']}" for s in pod.get("sysctls") or [] if s["name"] not in SAFE_SYSCTLS]
    found += _selinux(pod, "pod")
    if (pod.get("seccompProfile") or {}).get("type") == "Unconfined":
        found.append("Seccomp: pod Unconfined")
    if (pod.get("appArmorProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
        found.append("AppArmor: pod")
    for container in containers(spec):
        found += [f"{container['name']}: {problem}" for problem in _container_baseline(container)]
    return found


def _restricted_violations(spec: dict[str, Any]) -> list[str]:
    pod = spec.get("securityContext") or {}
    found = [
        f"Volume Types: {v['name']}" for v in spec.get("volumes") or [] if not set(v) - {"name"} <= RESTRICTED_VOLUMES
    ]
    if pod.get("runAsUser") == 0:
        found.append("Running as Non-root user: pod runAsUser 0")
    for container in containers(spec):
        found += [f"{container['name']}: {problem}" for problem in _container_restricted(container, pod)]
    return found


def _container_baseline(container: dict[str, Any]) -> list[str]:
    found = []
    context = container.get("securityContext") or {}
    if context.get("privileged"):
        found.append("Privileged Containers")
    found += [f"Host Ports: {p['hostPort']}" for p in container.get("ports") or [] if p.get("hostPort")]
    if context.get("procMount", "Default") != "Default":
        found.append("/proc Mount Type")
    found += _selinux(context, "container")
    if (context.get("appArmorProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
        found.append("AppArmor")
    baseline_capabilities = {
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
        "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    }  # fmt: skip
    added = set((context.get("capabilities") or {}).get("add") or []) - baseline_capabilities
    if added:
        found.append(f"Capabilities: adds {sorted(added)}")
    return found


def _container_restricted(container: dict[str, Any], pod: dict[str, Any]) -> list[str]:
    found = []
    context = container.get("securityContext") or {}
    if context.get("allowPrivilegeEscalation") is not False:
        found.append("Privilege Escalation: allowPrivilegeEscalation must be false")
    if context.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
        found.append("Running as Non-root: runAsNonRoot must be true")
    if context.get("runAsUser", pod.get("runAsUser")) == 0:
        found.append("Running as Non-root user: runAsUser 0")
    seccomp = (context.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
    if seccomp not in ALLOWED_SECCOMP:
        found.append(f"Seccomp: {seccomp!r} is not RuntimeDefault or Localhost")
    capabilities = context.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        found.append("Capabilities: must drop ALL")
    if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
        found.append(f"Capabilities: only NET_BIND_SERVICE may be added, adds {capabilities['add']}")
    return found


def _selinux(context: dict[str, Any], where: str) -> list[str]:
    options = context.get("seLinuxOptions") or {}
    if options.get("type", "") not in ALLOWED_SELINUX_TYPES or options.get("user") or options.get("role"):
        return [f"SELinux: {where}"]
    return []


def enforced_levels(docs: list[dict[str, Any]]) -> dict[str, str]:
    """Namespace -> the Pod Security level it enforces (Kubernetes' default: `privileged`)."""
    return {
        doc["metadata"]["name"]: doc["metadata"]
        .get("labels", {})
        .get("pod-security.kubernetes.io/enforce", "privileged")
        for doc in docs
        if doc["kind"] == "Namespace"
    }


def restricted_namespaces(docs: list[dict[str, Any]]) -> set[str]:
    return {name for name, level in enforced_levels(docs).items() if level == "restricted"}
