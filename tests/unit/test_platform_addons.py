"""PlatformAddons: each add-on namespace denies by default and allows exactly the given flows before its
release is installed (X-07, X-16)."""

import pulumi

from components.network_policies import Flow, Network, Pods
from components.platform_addons import HelmAddon, PlatformAddons, PlatformAddonsArgs
from tests.support.runtime import one, when_registered

POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
OPERATOR = Pods("operator", "operators", {"app": "operator"})
WEBHOOK_CALLERS = Network("control-plane", ("10.0.0.0/8",))
ADDONS = [
    HelmAddon("operator", "operator", "1.0.0", "operators", "https://charts.example.com"),
    HelmAddon("plugin", "plugin", "2.0.0", "operators", "https://charts.example.com", after=("operator",)),
    HelmAddon("gateway", "oci://registry.example.com/charts/gateway", "3.0.0", "gateways", pod_security="baseline"),
]
FLOWS = [Flow(WEBHOOK_CALLERS, OPERATOR, (9443,)), Flow(OPERATOR, Network("api", ("172.20.0.1/32",)), (443,))]


@pulumi.runtime.test
def test_every_namespace_denies_by_default_and_its_releases_wait_for_its_policies(mock_runtime):
    addons = PlatformAddons("addons", PlatformAddonsArgs(ADDONS, flows=FLOWS))
    assert sorted(addons.namespaces) == ["gateways", "operators"]

    def check(registrations):
        policies = [r for r in registrations if r.type == POLICY]
        by_namespace: dict[str, set[str]] = {}
        for policy in policies:
            by_namespace.setdefault(policy.inputs["metadata"]["namespace"], set()).add(
                policy.inputs["metadata"]["name"]
            )
        baseline = {"default-deny-ingress", "default-deny-egress", "allow-dns-egress"}
        assert by_namespace == {"operators": baseline | {"operator-ingress", "operator-egress"}, "gateways": baseline}
        for release, namespace in (("operator", "operators"), ("plugin", "operators"), ("gateway", "gateways")):
            registration = one(mock_runtime, "kubernetes:helm.sh/v3:Release", f"addons-{release}")
            waited = {p.urn for p in policies if p.inputs["metadata"]["namespace"] == namespace}
            assert waited <= set(registration.dependencies), release
        plugin = one(mock_runtime, "kubernetes:helm.sh/v3:Release", "addons-plugin")
        assert one(mock_runtime, "kubernetes:helm.sh/v3:Release", "addons-operator").urn in plugin.dependencies
        gateways = one(mock_runtime, "kubernetes:core/v1:Namespace", "addons-gateways")
        assert gateways.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"

    return when_registered(mock_runtime, addons.releases.values(), check)
