"""Grafana in the kube-prometheus-stack release (X-10): its Helm values and the names derived from them.

Grafana's admin login comes from a Secret the caller creates (user `GRAFANA_ADMIN_USER`, a generated
password), through Grafana's login form only: no anonymous access, and no HTTP basic authentication, whose
`Authorization` header is the Gateway's own login in front of Grafana (X-15). Its dashboard sidecar loads every
ConfigMap labelled `grafana_dashboard: "1"` from all namespaces,
through a ClusterRole that may only read ConfigMaps (`grafana_sidecar_role`). It runs `restricted` with a
read-only root filesystem and makes no calls home.
"""

from __future__ import annotations

from typing import Any

from components import kube
from components.kube import Resources

GRAFANA_ADMIN_USER = "admin"
GRAFANA_UID = 472
GRAFANA_RESOURCES = Resources({"cpu": "100m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"})
# Grafana's dashboard/datasource sidecars.
SIDECAR_RESOURCES = Resources({"cpu": "20m", "memory": "96Mi"}, {"cpu": "200m", "memory": "256Mi"})
# The dashboards sidecar (k8s-sidecar) answers /healthz on its HEALTH_PORT, which the Grafana chart sets.
SIDECAR_HEALTH_PORT = 8084


def grafana_values(
    release_name: str,
    *,
    admin_secret: str,
    resources: Resources,
    storage_size: str | None,
    storage_class: str | None,
    root_url: str | None,
) -> dict[str, Any]:
    """The chart's `grafana` values: login from ADMIN_SECRET, dashboards from ConfigMaps, a volume of
    STORAGE_SIZE when given (dashboards come from ConfigMaps, so persistence is optional)."""
    values: dict[str, Any] = {
        "enabled": True,
        "fullnameOverride": grafana_name(release_name),
        "admin": {
            "existingSecret": admin_secret,
            "userKey": "admin-user",
            "passwordKey": "admin-password",
        },
        # The chart's own ClusterRole would let the sidecars read every Secret in the cluster.
        "rbac": {"useExistingClusterRole": grafana_sidecar_role(release_name)},
        "image": {"pullPolicy": "Always"},
        "resources": kube.resources(resources),
        # The image runs as the grafana user (472).
        "securityContext": kube.pod_security_context(GRAFANA_UID),
        "containerSecurityContext": kube.container_security_context(GRAFANA_UID),
        # Read-only root filesystem: Grafana still needs a scratch /tmp.
        "extraEmptyDirMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "sidecar": {
            "imagePullPolicy": "Always",
            "resources": kube.resources(SIDECAR_RESOURCES),
            "securityContext": kube.container_security_context(GRAFANA_UID),
            # Only the dashboards sidecar keeps running; datasources are written once, before Grafana starts.
            "livenessProbe": kube.http_get("/healthz", SIDECAR_HEALTH_PORT),
            "readinessProbe": kube.http_get("/healthz", SIDECAR_HEALTH_PORT),
            "datasources": {"initDatasources": True, "skipReload": True, "resource": "configmap"},
            "dashboards": {
                "enabled": True,
                # The reload API would need basic auth; Grafana's file provider picks changes up within 30 s.
                "skipReload": True,
                "label": "grafana_dashboard",
                "labelValue": "1",
                "searchNamespace": "ALL",
                "resource": "configmap",
                "folderAnnotation": "grafana_folder",
                "provider": {"foldersFromFilesStructure": True, "allowUiUpdates": False},
            },
        },
        "persistence": _persistence(storage_size, storage_class),
        # The pod's fsGroup already gives the volume to Grafana's group; the chart's chown init container would
        # run as root with CAP_CHOWN, which the namespace's restricted Pod Security level refuses.
        "initChownData": {"enabled": False},
    }
    if storage_size:
        # The new pod needs the volume the old one holds (ReadWriteOnce): replace the pod, do not surge.
        values["deploymentStrategy"] = {"type": "Recreate"}
    # No calls home: update checks and usage reports would need egress to the internet.
    ini: dict[str, Any] = {
        "analytics": {"check_for_updates": False, "check_for_plugin_updates": False, "reporting_enabled": False},
        # Nobody reads dashboards without logging in; the Gateway's basic-auth header is not Grafana's login.
        "auth.anonymous": {"enabled": False},
        "auth.basic": {"enabled": False},
    }
    if root_url:
        ini["server"] = {"root_url": root_url}
    values["grafana.ini"] = ini
    return values


def _persistence(storage_size: str | None, storage_class: str | None) -> dict[str, Any]:
    """Grafana's volume (its database: users, preferences, annotations), or none."""
    if not storage_size:
        return {"enabled": False}
    persistence: dict[str, Any] = {
        "enabled": True,
        "type": "pvc",
        "accessModes": ["ReadWriteOnce"],
        "size": storage_size,
    }
    if storage_class:
        persistence["storageClassName"] = storage_class
    return persistence


def grafana_name(release_name: str) -> str:
    """Grafana's Deployment and Service in release RELEASE_NAME."""
    return f"{release_name}-grafana"


def grafana_sidecar_role(release_name: str) -> str:
    """ClusterRole of Grafana's sidecars: read ConfigMaps (dashboards, datasources) in every namespace."""
    return f"{grafana_name(release_name)}-sidecar"
