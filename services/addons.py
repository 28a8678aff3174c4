"""The operators the platform builds on, pinned (ARCHITECTURE: PlatformAddons)."""

from __future__ import annotations

from components.platform_addons import HelmAddon

CNPG_NAMESPACE = "cnpg-system"

CERT_MANAGER = HelmAddon(
    name="cert-manager",
    chart="cert-manager",
    version="v1.21.1",
    repository="https://charts.jetstack.io",
    namespace="cert-manager",
    values={"crds": {"enabled": True}, "prometheus": {"servicemonitor": {"enabled": True}}},
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
    "certManager": CERT_MANAGER,
    "cloudnativePg": CLOUDNATIVE_PG,
    "barmanCloud": BARMAN_CLOUD,
}
