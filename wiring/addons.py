"""The operators the platform builds on, pinned (ARCHITECTURE: PlatformAddons)."""

from __future__ import annotations

from components.platform_addons import HelmAddon

CNPG_NAMESPACE = "cnpg-system"
GATEWAY_NAMESPACE = "envoy-gateway-system"
GATEWAY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
"""controllerName of GatewayClasses that Envoy Gateway implements."""

# Envoy Gateway implements the Gateway API (ingress-nginx is retired) and installs its CRDs. Its
# proxies run in this namespace as non-root with seccomp RuntimeDefault, so `restricted` holds.
ENVOY_GATEWAY = HelmAddon(
    name="envoy-gateway",
    chart="oci://docker.io/envoyproxy/gateway-helm",
    version="v1.9.1",
    namespace=GATEWAY_NAMESPACE,
)

CERT_MANAGER = HelmAddon(
    name="cert-manager",
    chart="cert-manager",
    version="v1.21.1",
    repository="https://charts.jetstack.io",
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

# CloudNativePG 1.30 (chart 0.29.0): the generation whose CRDs the render is validated against.
CLOUDNATIVE_PG = HelmAddon(
    name="cloudnative-pg",
    chart="cloudnative-pg",
    version="0.29.0",
    repository="https://cloudnative-pg.github.io/charts",
    namespace=CNPG_NAMESPACE,
    values={"monitoring": {"podMonitorEnabled": True}},
)

# Backups to S3 go through the Barman Cloud plugin (in-tree barmanObjectStore is deprecated since 1.26);
# it must share the operator's namespace and needs cert-manager for its TLS.
BARMAN_CLOUD = HelmAddon(
    name="plugin-barman-cloud",
    chart="plugin-barman-cloud",
    version="0.8.1",
    repository="https://cloudnative-pg.github.io/charts",
    namespace=CNPG_NAMESPACE,
    values={"image": {"tag": "v0.14.0"}, "sidecarImage": {"tag": "v0.14.0"}},
    after=("cert-manager", "cloudnative-pg"),
)

# Keyed by the `ai-platform:addons` switch that turns each one off.
ADDONS = {
    "cert_manager": CERT_MANAGER,
    "cloudnative_pg": CLOUDNATIVE_PG,
    "barman_cloud": BARMAN_CLOUD,
    "gateway": ENVOY_GATEWAY,
}
