"""The operators the platform builds on, pinned (ARCHITECTURE: PlatformAddons)."""

from __future__ import annotations

from typing import Any

import versions
from components.platform_addons import HelmAddon

CNPG_NAMESPACE = "cnpg-system"
GATEWAY_NAMESPACE = "envoy-gateway-system"
GATEWAY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
"""controllerName of GatewayClasses that Envoy Gateway implements."""


def _chart(pin: versions.ChartPin) -> dict[str, Any]:
    """HelmAddon fields of a pinned chart (an OCI chart is its full reference, without repository)."""
    return {"chart": pin.reference, "version": pin.version, "repository": None if pin.is_oci else pin.repository}


# Envoy Gateway implements the Gateway API (ingress-nginx is retired) and installs its CRDs. Its
# proxies run in this namespace as non-root with seccomp RuntimeDefault, so `restricted` holds.
ENVOY_GATEWAY = HelmAddon(name="envoy-gateway", **_chart(versions.GATEWAY_HELM), namespace=GATEWAY_NAMESPACE)

CERT_MANAGER = HelmAddon(
    name="cert-manager",
    **_chart(versions.CERT_MANAGER),
    namespace="cert-manager",
    values={
        "crds": {"enabled": True},
        "prometheus": {"servicemonitor": {"enabled": True}},
        # HTTP-01 challenges are answered through the Gateway (PublicRoute's ClusterIssuer).
        "config": {
            "apiVersion": "controller.config.cert-manager.io/v1alpha1",
            "kind": "ControllerConfiguration",
            "enableGatewayAPI": True,
        },
    },
    # cert-manager watches Gateway API objects only if their CRDs exist when it starts.
    after=("envoy-gateway",),
)

CLOUDNATIVE_PG = HelmAddon(
    name="cloudnative-pg",
    **_chart(versions.CLOUDNATIVE_PG),
    namespace=CNPG_NAMESPACE,
    values={"monitoring": {"podMonitorEnabled": True}},
)

# Backups to S3 go through the Barman Cloud plugin (in-tree barmanObjectStore is deprecated since 1.26);
# it must share the operator's namespace and needs cert-manager for its TLS.
BARMAN_CLOUD = HelmAddon(
    name="plugin-barman-cloud",
    **_chart(versions.PLUGIN_BARMAN_CLOUD),
    namespace=CNPG_NAMESPACE,
    values={
        "image": {"tag": versions.BARMAN_CLOUD_PLUGIN_TAG},
        "sidecarImage": {"tag": versions.BARMAN_CLOUD_PLUGIN_TAG},
    },
    after=("cert-manager", "cloudnative-pg"),
)

# Keyed by the `ai-platform:addons` switch that turns each one off.
ADDONS = {
    "certManager": CERT_MANAGER,
    "cloudnativePg": CLOUDNATIVE_PG,
    "barmanCloud": BARMAN_CLOUD,
    "gateway": ENVOY_GATEWAY,
}
