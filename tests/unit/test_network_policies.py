"""NetworkPolicies: each flow becomes an egress rule where it starts and an ingress rule where it arrives (X-07)."""

import pulumi
import pytest

from components.network_policies import (
    KUBE_DNS,
    Flow,
    Network,
    NetworkPolicies,
    NetworkPoliciesArgs,
    Pods,
    baseline_specs,
    policy_specs,
)
from tests.support.runtime import inputs_of, one, when_registered

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
        (Flow(Network("bad", ("10.0.0.1/8",)), API, (443,)), "has host bits set"),
        (Flow(INTERNET, Network("vpc", ("10.0.0.0/8",)), (443,)), "between two networks"),
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


def test_a_flow_from_addresses_is_written_only_where_it_arrives():
    """The API server calling a webhook: an ingress rule from the addresses, no egress side anywhere."""
    control_plane = Network("control-plane", ("10.0.0.0/8",))
    flows = [Flow(control_plane, API, (9443,))]
    assert policy_specs("shop", flows) == {
        "api-ingress": {
            "podSelector": {"matchLabels": {"app": "api"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"protocol": "TCP", "port": 9443}]}],
        }
    }
    assert policy_specs("monitoring", flows) == {}


def test_the_baseline_denies_everything_but_dns_queries():
    specs = baseline_specs()
    assert specs["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert specs["default-deny-egress"] == {"podSelector": {}, "policyTypes": ["Egress"]}
    assert specs["allow-dns-egress"]["egress"] == [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": KUBE_DNS.namespace}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
    ]


@pulumi.runtime.test
def test_deny_by_default_adds_the_baseline_to_the_flows(mock_runtime):
    component = NetworkPolicies("shop-isolation", NetworkPoliciesArgs("shop", FLOWS, deny_by_default=True))
    assert sorted(component.policies) == [
        "allow-dns-egress",
        "api-egress",
        "api-ingress",
        "db-egress",
        "db-ingress",
        "default-deny-egress",
        "default-deny-ingress",
    ]

    def check(_):
        deny = one(mock_runtime, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "shop-isolation-default-deny-egress")
        assert deny.inputs["spec"] == {"podSelector": {}, "policyTypes": ["Egress"]}

    return when_registered(mock_runtime, component.policies.values(), check)
