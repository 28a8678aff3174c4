"""NetworkPolicies: the allow-list of one namespace, written once as flows between groups of pods.

A namespace that denies all ingress and egress by default (TenantNamespace) still needs every wanted
connection allowed on both of its ends: an egress rule where the connection starts and an ingress rule
where it arrives. Callers describe each wanted connection once, as a `Flow` from `Pods` to `Pods` (or
to a `Network` outside the cluster) on numeric ports; the component writes this namespace's side of
every flow that starts or ends in it, one NetworkPolicy per group of pods and direction:

- `<pods.name>-ingress`: who may connect to those pods, on which ports;
- `<pods.name>-egress` (or `pods.egress_policy_name`): where those pods may connect.

Flows between two other namespaces are ignored, so one list of flows can be handed to the component of
every namespace it touches. A flow may also start outside the cluster (a `Network` as source: the API
server calling a webhook, clients of a load balancer); then only its ingress side exists.

`deny_by_default` adds the namespace baseline: deny all ingress and egress, except DNS queries to the
cluster DNS pods (`baseline_specs`, which TenantNamespace writes too).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import kube

PROTOCOLS = ("TCP", "UDP", "SCTP")
DNS_PORT = 53


@dataclass(frozen=True)
class Pods:
    """A group of pods: a label selector inside one namespace."""

    name: str
    """Short name of the group, used in policy names (e.g. `database`, `redis`, the app name)."""
    namespace: str
    """Namespace of the pods."""
    labels: Mapping[str, str]
    """Labels every pod of the group carries (`matchLabels`)."""
    egress_policy_name: str | None = None
    """Name of the policy listing where these pods may connect; defaults to `<name>-egress`."""


KUBE_DNS = Pods("kube-dns", "kube-system", {"k8s-app": "kube-dns"})
"""CoreDNS as EKS (and kubeadm) label it."""


@dataclass(frozen=True)
class Network:
    """Addresses outside the cluster (an `ipBlock` per CIDR)."""

    name: str
    """What the addresses are, e.g. `internet` or `kubernetes-api`."""
    cidrs: tuple[str, ...]
    """CIDRs allowed."""
    except_cidrs: tuple[str, ...] = ()
    """CIDRs carved out of every entry of `cidrs` (e.g. private ranges out of 0.0.0.0/0)."""


@dataclass(frozen=True)
class Flow:
    """Connections that pods of `source` (or addresses outside the cluster) may open to `destination` on `ports`."""

    source: Pods | Network
    """Pods that open the connections, or addresses outside the cluster."""
    destination: Pods | Network
    """Pods, or addresses outside the cluster, that accept them."""
    ports: tuple[int, ...]
    """Destination port numbers (never names: a named port resolves per pod and hides what is open)."""
    protocol: str = "TCP"
    """`TCP`, `UDP` or `SCTP`."""


@dataclass(frozen=True)
class NetworkPoliciesArgs:
    """The namespace and every flow that may start or end in it."""

    namespace: str
    """Namespace name: flows whose ends lie elsewhere are skipped."""
    flows: Sequence[Flow]
    """Wanted connections; this namespace's side of each is written."""
    namespace_ref: pulumi.Input[str] | None = None
    """The Namespace's name output, so the policies wait for it; defaults to `namespace`."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on every policy (e.g. `app.kubernetes.io/part-of`)."""
    aliases: Mapping[str, Sequence[pulumi.Alias]] = field(default_factory=dict)
    """Policy name -> where that policy was declared before it moved into this component (its old URNs),
    so a refactor updates the live policy instead of deleting and recreating it."""
    deny_by_default: bool = False
    """Also write the namespace baseline: deny all ingress and egress, DNS queries to `dns` excepted."""
    dns: Pods = KUBE_DNS
    """The cluster DNS pods every pod may query on port 53 (with `deny_by_default`)."""


class NetworkPolicies(pulumi.ComponentResource):
    """This namespace's ingress and egress allow-lists for the given flows."""

    policies: dict[str, k8s.networking.v1.NetworkPolicy]
    """NetworkPolicy per policy name."""

    def __init__(self, name: str, args: NetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:network_policies:NetworkPolicies", name, None, opts)
        child = kube.child_options(self, opts)
        namespace = args.namespace_ref if args.namespace_ref is not None else args.namespace
        specs = baseline_specs(args.dns) if args.deny_by_default else {}
        specs |= policy_specs(args.namespace, args.flows)
        self.policies = {
            policy_name: k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}",
                metadata=kube.metadata(policy_name, namespace, args.labels),
                spec=spec,
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(aliases=list(args.aliases.get(policy_name, ())))
                ),
            )
            for policy_name, spec in specs.items()
        }
        self.register_outputs({"policies": sorted(self.policies)})


def baseline_specs(dns: Pods = KUBE_DNS) -> dict[str, dict[str, Any]]:
    """Policy name -> spec of a namespace that denies everything but DNS queries to DNS's pods."""
    dns_peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": dns.namespace}},
        "podSelector": {"matchLabels": dict(dns.labels)},
    }
    return {
        "default-deny-ingress": {"podSelector": {}, "policyTypes": ["Ingress"]},
        "default-deny-egress": {"podSelector": {}, "policyTypes": ["Egress"]},
        "allow-dns-egress": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [dns_peer],
                    "ports": [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}],
                }
            ],
        },
    }


def policy_specs(namespace: str, flows: Sequence[Flow]) -> dict[str, dict[str, Any]]:
    """Policy name -> NetworkPolicy spec of NAMESPACE's side of FLOWS."""
    for flow in flows:
        _check(flow)
    ingress: dict[str, tuple[Pods, list[dict[str, Any]]]] = {}
    egress: dict[str, tuple[Pods, list[dict[str, Any]]]] = {}
    for flow in flows:
        destination = flow.destination
        if isinstance(destination, Pods) and destination.namespace == namespace:
            rule = {"from": _peers(flow.source, namespace), "ports": _ports(flow)}
            _add(ingress, f"{destination.name}-ingress", destination, rule)
        if isinstance(flow.source, Pods) and flow.source.namespace == namespace:
            rule = {"to": _peers(destination, namespace), "ports": _ports(flow)}
            _add(egress, flow.source.egress_policy_name or f"{flow.source.name}-egress", flow.source, rule)
    specs = {name: _spec(pods, "Ingress", rules) for name, (pods, rules) in ingress.items()}
    specs |= {name: _spec(pods, "Egress", rules) for name, (pods, rules) in egress.items()}
    return specs


def _add(policies: dict[str, tuple[Pods, list[dict[str, Any]]]], name: str, pods: Pods, rule: dict[str, Any]) -> None:
    found = policies.setdefault(name, (pods, []))
    if dict(found[0].labels) != dict(pods.labels):
        raise ValueError(f"policy {name!r} would select two groups of pods: {found[0].labels} and {pods.labels}")
    if rule not in found[1]:
        found[1].append(rule)


def _spec(pods: Pods, direction: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "podSelector": {"matchLabels": dict(pods.labels)},
        "policyTypes": [direction],
        direction.lower(): rules,
    }


def _peer(pods: Pods, namespace: str) -> dict[str, Any]:
    peer: dict[str, Any] = {"podSelector": {"matchLabels": dict(pods.labels)}}
    if pods.namespace != namespace:
        peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": pods.namespace}}
    return peer


def _peers(end: Pods | Network, namespace: str) -> list[dict[str, Any]]:
    if isinstance(end, Pods):
        return [_peer(end, namespace)]
    return [_ip_block(cidr, end.except_cidrs) for cidr in end.cidrs]


def _ip_block(cidr: str, excluded: Sequence[str]) -> dict[str, Any]:
    network = ipaddress.ip_network(cidr)
    # An `except` entry must lie strictly inside its block, or the API server rejects the policy.
    inside = [str(e) for e in map(ipaddress.ip_network, excluded) if _strictly_inside(e, network)]
    block: dict[str, Any] = {"cidr": str(network)}
    if inside:
        block["except"] = inside
    return {"ipBlock": block}


def _strictly_inside(inner: ipaddress.IPv4Network | ipaddress.IPv6Network, outer: Any) -> bool:
    return inner.version == outer.version and inner != outer and inner.subnet_of(outer)


def _ports(flow: Flow) -> list[dict[str, Any]]:
    return [{"protocol": flow.protocol, "port": port} for port in flow.ports]


def _check(flow: Flow) -> None:
    where = f"flow {flow.source.name} -> {flow.destination.name}"
    if not flow.ports:
        raise ValueError(f"{where}: give the ports (an empty list would allow every port)")
    if any(not isinstance(port, int) or not 1 <= port <= 65535 for port in flow.ports):
        raise ValueError(f"{where}: ports must be numbers from 1 to 65535, got {flow.ports}")
    if flow.protocol not in PROTOCOLS:
        raise ValueError(f"{where}: protocol must be one of {PROTOCOLS}, got {flow.protocol!r}")
    for pods in (flow.source, flow.destination):
        if isinstance(pods, Pods) and not pods.labels:
            raise ValueError(f"{where}: {pods.name} selects no labels, i.e. every pod of {pods.namespace}")
    if isinstance(flow.source, Network) and isinstance(flow.destination, Network):
        raise ValueError(f"{where}: a flow between two networks is not the cluster's to allow")
    for network in (flow.source, flow.destination):
        if isinstance(network, Network):
            if not network.cidrs:
                raise ValueError(f"{where}: a network needs at least one CIDR")
            for cidr in (*network.cidrs, *network.except_cidrs):
                ipaddress.ip_network(cidr)  # raises ValueError on a malformed or host-bits-set CIDR
