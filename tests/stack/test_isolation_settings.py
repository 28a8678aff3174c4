"""The isolation and access settings: validated, and what they change in the program (X-07, S4-07)."""

from __future__ import annotations

import pytest

from settings import SettingsError
from tests.support.runtime import program_run
from tools.mock_runtime import run_program

NETWORK = "ai-platform:networkPolicy"
RBAC = "ai-platform:rbac"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def policy(run, namespace: str, name: str) -> dict:
    found = [
        r.inputs
        for r in run.by_type(POLICY)
        if r.inputs["metadata"]["namespace"] == namespace and r.inputs["metadata"]["name"] == name
    ]
    assert len(found) == 1, (namespace, name)
    return found[0]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {NETWORK: {"apiServerCidrs": ["10.100.0.1"]}},
            "ai-platform:networkPolicy.apiServerCidrs[0]: must be a CIDR like 10.0.0.0/16",
        ),
        ({NETWORK: {"apiServerCidrs": []}}, "ai-platform:networkPolicy.apiServerCidrs: List should have at least 1"),
        ({NETWORK: {"awsEndpointCidrs": ["10.0.0.5/16"]}}, "ai-platform:networkPolicy.awsEndpointCidrs[0]: must be"),
        ({NETWORK: {"apiServerPort": 0}}, "ai-platform:networkPolicy.apiServerPort: must be greater than"),
        ({NETWORK: {"enforce": True}}, "ai-platform:networkPolicy.enforce: unknown key; allowed keys are"),
        ({RBAC: {"operatorsGroup": "system:authenticated"}}, "ai-platform:rbac.operatorsGroup: must be a group"),
        ({RBAC: {"deployersGroup": ""}}, "ai-platform:rbac.deployersGroup: must be a group"),
    ],
)
def test_bad_isolation_settings_are_refused_with_the_key_named(overrides, expected):
    with pytest.raises(SettingsError) as caught:
        run_program("prod", overrides=overrides)
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


ENDPOINTS = ["10.20.0.0/24", "10.20.1.0/24"]
GROUPS = {"operatorsGroup": "ops", "deployersGroup": "ci-deploy", "oncallGroup": "pager"}
CONFIGURED = {
    NETWORK: {"awsEndpointCidrs": ENDPOINTS, "apiServerCidrs": ["192.0.2.10/32"], "apiServerPort": 6443},
    RBAC: GROUPS,
}
"""prod with every isolation setting set (independent settings: one run serves each test that reads one)."""


def test_aws_endpoint_cidrs_replace_the_internet_for_backups_only():
    """With VPC endpoints, S3/STS traffic stays inside them; AI providers are still reached on the internet."""
    run = program_run("prod", overrides=CONFIGURED)
    dump = policy(run, "ai-benchmark", "ai-benchmark-db-logical-dump-egress")
    blocks = [peer["ipBlock"] for rule in dump["spec"]["egress"] for peer in rule["to"] if "ipBlock" in peer]
    assert blocks == [{"cidr": cidr} for cidr in ENDPOINTS]
    worker = policy(run, "ai-benchmark", "ai-benchmark-worker-egress")
    assert any(
        peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for rule in worker["spec"]["egress"] for peer in rule["to"]
    )


def test_api_server_address_and_port_come_from_the_settings():
    run = program_run("prod", overrides=CONFIGURED)
    egress = policy(run, "platform-v2-stable", "platform-db-egress")["spec"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "192.0.2.10/32"}}], "ports": [{"protocol": "TCP", "port": 6443.0}]} in egress


def test_groups_from_the_settings_are_bound():
    run = program_run("prod", overrides=CONFIGURED)
    subjects = {
        (r.inputs["metadata"]["name"], s["name"])
        for r in run.by_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
        for s in r.inputs["subjects"]
        if s["kind"] == "Group"
    }
    assert subjects == {
        ("ai-platform-operator", "ops"),
        ("ai-platform-deployer", "ci-deploy"),
        ("ai-platform-oncall", "pager"),
    }


def test_a_cluster_that_does_not_enforce_network_policies_is_warned_about():
    warnings = program_run("prod", overrides={NETWORK: {"enforced": False}}).warnings
    assert any("enableNetworkPolicy" in w and "X-07" in w for w in warnings), warnings
    assert not [w for w in program_run("prod").warnings if "enableNetworkPolicy" in w]
