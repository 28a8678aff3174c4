"""NetworkPolicies: each flow becomes an egress rule where it starts and an ingress rule where it arrives (X-07)."""

import pulumi
import pytest

from components.network_policies import Flow, Network, NetworkPolicies, NetworkPoliciesArgs, Pods, policy_specs
from tests.conftest import inputs_of

API = Pods("api", "shop", {"app": "api"})
DB = Pods("db", "shop", {"cnpg.io/cluster": "shop-db"})
REPORTS = Pods("reports", "analytics", {"app": "reports"}, egress_policy_name="reports-isolation")
SCRAPER = Pods("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"})
INTERNET = Network("internet", ("0.0.0.0/0",), ("10.0.0.0/8", "169.254.0.0/16", "fd00::/8"))
FLOWS = [
    Flow(API, DB, (5432,)),
    Flow(REPORTS, DB, (5432,)),
    Flow(SCRAPER, API, (8000,)),
    Flow(API, INTERNET, (443,)),
    Flow(DB, DB, (5432, 8000)),
]


def test_both_ends_of_a_flow_inside_one_namespace():
    specs = policy_specs("shop", FLOWS)
    assert set(specs) == {"api-egress", "api-ingress", "db-ingress", "db-egress"}
    assert specs["api-egress"]["policyTypes"] == ["Egress"]
    assert specs["api-egress"]["podSelector"] == {"matchLabels": {"app": "api"}}
    assert specs["api-egress"]["egress"][0] == {
        "to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "shop-db"}}}],
        "ports": [{"protocol": "TCP", "port": 5432}],
    }
    assert specs["db-ingress"]["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"app": "api"}}}]


def test_a_peer_in_another_namespace_is_selected_by_namespace_and_labels():
    ingress = policy_specs("shop", FLOWS)["db-ingress"]["ingress"]
    assert {
        "from": [
            {
                "podSelector": {"matchLabels": {"app": "reports"}},
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "analytics"}},
            }
        ],
        "ports": [{"protocol": "TCP", "port": 5432}],
    } in ingress
    assert policy_specs("shop", FLOWS)["api-ingress"]["ingress"][0]["from"][0]["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
    }


def test_only_this_namespaces_side_is_written():
    """The other end's namespace writes its own side; unrelated flows are ignored."""
    assert set(policy_specs("analytics", FLOWS)) == {"reports-isolation"}
    assert policy_specs("monitoring", FLOWS).keys() == {"prometheus-egress"}
    assert policy_specs("elsewhere", FLOWS) == {}


def test_internet_excludes_private_ranges_inside_its_block_only():
    egress = policy_specs("shop", FLOWS)["api-egress"]["egress"]
    assert {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "169.254.0.0/16"]}}],
        "ports": [{"protocol": "TCP", "port": 443}],
    } in egress


def test_repeated_flows_give_one_rule():
    specs = policy_specs("shop", [*FLOWS, Flow(API, DB, (5432,))])
    assert len(specs["api-egress"]["egress"]) == 2


@pytest.mark.parametrize(
    ("flow", "message"),
    [
        (Flow(API, DB, ()), "give the ports"),
        (Flow(API, DB, (0,)), "ports must be numbers"),
        (Flow(API, DB, ("postgres",)), "ports must be numbers"),  # type: ignore[arg-type]
        (Flow(API, DB, (5432,), protocol="ICMP"), "protocol must be"),
        (Flow(Pods("all", "shop", {}), DB, (5432,)), "selects no labels"),
        (Flow(API, Network("bad", ("10.0.0.1/8",)), (443,)), "has host bits set"),
        (Flow(API, Network("none", ()), (443,)), "at least one CIDR"),
    ],
)
def test_refuses_flows_that_would_open_more_than_meant(flow, message):
    with pytest.raises(ValueError, match=message):
        policy_specs("shop", [flow])


def test_two_groups_under_one_policy_name_are_refused():
    other = Pods("api", "shop", {"app": "api-v2"})
    with pytest.raises(ValueError, match="two groups of pods"):
        policy_specs("shop", [Flow(API, DB, (5432,)), Flow(other, DB, (5432,))])


@pulumi.runtime.test
def test_registers_one_policy_per_group_and_direction(mock_runtime):
    component = NetworkPolicies(
        "shop-isolation", NetworkPoliciesArgs("shop", FLOWS, labels={"app.kubernetes.io/part-of": "shop"})
    )
    assert sorted(component.policies) == ["api-egress", "api-ingress", "db-egress", "db-ingress"]

    def check(inputs):
        assert inputs["metadata"]["name"] == "db-ingress"
        assert inputs["metadata"]["namespace"] == "shop"
        assert inputs["metadata"]["labels"]["app.kubernetes.io/part-of"] == "shop"
        assert len(inputs["spec"]["ingress"]) == 3

    return inputs_of(mock_runtime, component.policies["db-ingress"], check)
