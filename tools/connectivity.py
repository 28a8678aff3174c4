"""Allowed connections of a stack, as network-config-analyzer computes them from the rendered NetworkPolicies.

`python -m tools.connectivity STACK` renders STACK offline, templates its charts (tools/charts.py), runs the
analyzer (`nca`, in its own virtualenv `.venvs/nca`) over the rendered Namespaces, NetworkPolicies and
workloads and the charts' workloads, and prints the allowed connections as a markdown table (the README's
"Network isolation" table).

Pods that operators create at run time are added with the labels those operators set, from the objects
that ask for them: Prometheus and Alertmanager (from the chart's `Prometheus`/`Alertmanager`), CloudNativePG
instances (from each `Cluster`, at most two) and PgBouncer pods (from each `Pooler`), Envoy Gateway's proxies of
the rendered Gateway, cert-manager's HTTP-01 solver, and ECK's Elasticsearch nodes (at most two per node set) and
Kibana. CoreDNS and one unlabelled pod in `default`, standing for anything else that runs in the cluster, complete
the picture. Host-network pods (node-exporter) are left out: NetworkPolicies do not apply to them.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.pitr_drill import SCRATCH_MANIFEST
from settings import STACKS
from tools import markdown
from tools.charts import ChartsUnavailableError, StackCharts, template_render
from tools.mock_runtime import ROOT
from wiring.addon_flows import PRIVATE_RANGES as PRIVATE_CIDRS

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
INPUT_KINDS = ("Namespace", "NetworkPolicy", *WORKLOAD_KINDS)
PRIVATE_RANGES = tuple(ipaddress.IPv4Network(cidr) for cidr in PRIVATE_CIDRS)
INTERNET = "internet (public IPv4)"
DNS = "kube-system/coredns"
_LINE = re.compile(r"^(?P<source>\S+) => (?P<destination>\S+) : (?P<connections>.+)$")
_JOB_HASH = re.compile(r"-[0-9a-f]{10}$")


@dataclass(frozen=True, order=True)
class Connection:
    """Connections the policies allow from SOURCE to DESTINATION."""

    source: str
    """`namespace/workload`, or addresses outside the cluster: `internet (public IPv4)` and/or CIDRs."""
    destination: str
    ports: str
    """`TCP 5432`, `TCP 5432, 8000`, `TCP, UDP 53` or `all`."""


# --- analyzer input ----------------------------------------------------------------------------------


def load_manifests(render: Path) -> list[dict[str, Any]]:
    # libyaml's parser: the same documents as yaml.safe_load, a render several times faster.
    paths = sorted((render / "manifests").rglob("*.yaml"))
    return [yaml.load(path.read_text(), Loader=yaml.CSafeLoader) for path in paths]


def stand_ins(
    manifests: list[dict[str, Any]], chart_objects: list[dict[str, Any]], render: Path
) -> list[dict[str, Any]]:
    """Namespaces and pods the cluster runs next to the render and the charts (labels as their controllers set
    them)."""
    docs = [_namespace(name) for name in ("kube-system", "default")]
    docs.append(_pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, owner=("Deployment", "coredns")))
    docs.append(_pod("default", "any-pod", {}))
    for doc in chart_objects:
        if doc["kind"] in ("Prometheus", "Alertmanager") and doc["apiVersion"].startswith("monitoring.coreos.com/"):
            docs += _prometheus_operator_pods(doc)
    for doc in manifests:
        if doc["kind"] == "Cluster" and doc["apiVersion"].startswith("postgresql.cnpg.io/"):
            docs += _cnpg_instances(doc)
        elif doc["kind"] == "Pooler" and doc["apiVersion"].startswith("postgresql.cnpg.io/"):
            docs += _cnpg_poolers(doc)
        elif doc["kind"] == "ConfigMap" and SCRATCH_MANIFEST in (doc.get("data") or {}):
            # The point-in-time drill's scratch cluster exists while a drill runs.
            docs += _cnpg_instances(json.loads(doc["data"][SCRATCH_MANIFEST]))
        elif doc["kind"] == "Gateway" and doc["apiVersion"].startswith("gateway.networking.k8s.io/"):
            docs += _gateway_pods(doc, _gateway_proxy_namespace(render))
        elif doc["apiVersion"].startswith(("elasticsearch.k8s.elastic.co/", "kibana.k8s.elastic.co/")):
            docs += _eck_pods(doc)
    return docs


def _namespace(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
    }


def _pod(namespace: str, name: str, labels: dict[str, str], owner: tuple[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if owner is not None:
        metadata["ownerReferences"] = [{"apiVersion": "v1", "kind": owner[0], "name": owner[1], "uid": name}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": {"containers": [{"name": "c"}]}}


def _prometheus_operator_pods(instance: dict[str, Any]) -> list[dict[str, Any]]:
    """What the Prometheus Operator labels the pods of a Prometheus or Alertmanager with (at most two)."""
    name, namespace = instance["metadata"]["name"], instance["metadata"]["namespace"]
    app = instance["kind"].lower()
    labels = {
        **((instance["spec"].get("podMetadata") or {}).get("labels") or {}),
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "prometheus-operator",
        app: name,
    }
    if app == "prometheus":
        labels |= {"operator.prometheus.io/name": name, "operator.prometheus.io/shard": "0"}
    replicas = min(int(instance["spec"].get("replicas", 1)), 2)
    return [
        _pod(namespace, f"{app}-{name}-{index}", labels, owner=("StatefulSet", f"{app}-{name}"))
        for index in range(replicas)
    ]


def _cnpg_instances(cluster: dict[str, Any]) -> list[dict[str, Any]]:
    """What CloudNativePG labels its instance pods with (the analyzer needs at most two per group)."""
    name, namespace = cluster["metadata"]["name"], cluster["metadata"]["namespace"]
    inherited = ((cluster["spec"].get("inheritedMetadata") or {}).get("labels")) or {}
    pods = []
    for index in range(1, min(int(cluster["spec"].get("instances", 1)), 2) + 1):
        role = "primary" if index == 1 else "replica"
        labels = {
            **inherited,
            "cnpg.io/cluster": name,
            "cnpg.io/instanceName": f"{name}-{index}",
            "cnpg.io/podRole": "instance",
            "cnpg.io/instanceRole": role,
            "role": role,
            "app.kubernetes.io/name": "postgresql",
            "app.kubernetes.io/instance": name,
            "app.kubernetes.io/component": "database",
            "app.kubernetes.io/managed-by": "cloudnative-pg",
        }
        pods.append(_pod(namespace, f"{name}-{index}", labels, owner=("Cluster", name)))
    return pods


def _eck_pods(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """What ECK labels the pods of an Elasticsearch node set (a StatefulSet) and of Kibana (a Deployment) with."""
    name, namespace = resource["metadata"]["name"], resource["metadata"]["namespace"]
    if resource["kind"] == "Kibana":
        labels = {"kibana.k8s.elastic.co/name": name, "common.k8s.elastic.co/type": "kibana"}
        return [_pod(namespace, f"{name}-kb-6c9d7f8b5-abcde", labels, owner=("Deployment", f"{name}-kb"))]
    pods = []
    for node_set in resource["spec"]["nodeSets"]:
        statefulset = f"{name}-es-{node_set['name']}"
        labels = {
            "elasticsearch.k8s.elastic.co/cluster-name": name,
            "elasticsearch.k8s.elastic.co/statefulset-name": statefulset,
            "common.k8s.elastic.co/type": "elasticsearch",
        }
        for index in range(min(int(node_set.get("count", 1)), 2)):
            pods.append(_pod(namespace, f"{statefulset}-{index}", labels, owner=("StatefulSet", statefulset)))
    return pods


def _cnpg_poolers(pooler: dict[str, Any]) -> list[dict[str, Any]]:
    """What CloudNativePG labels a Pooler's PgBouncer pods with, the cluster's own label included (so policies of
    the cluster's instances must not select them)."""
    name, namespace = pooler["metadata"]["name"], pooler["metadata"]["namespace"]
    labels = {
        **(((pooler["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}),
        "cnpg.io/poolerName": name,
        "cnpg.io/podRole": "pooler",
        "cnpg.io/cluster": pooler["spec"]["cluster"]["name"],
    }
    count = min(int(pooler["spec"].get("instances", 1)), 2)
    return [_pod(namespace, f"{name}-{index}", labels, owner=("Deployment", name)) for index in range(count)]


def _gateway_proxy_namespace(render: Path) -> str:
    """Envoy Gateway runs every Gateway's proxies in its own namespace."""
    release = render / "helm" / "envoy-gateway.yaml"
    if release.exists():
        return yaml.safe_load(release.read_text())["namespace"]
    return "envoy-gateway-system"


def _gateway_pods(gateway: dict[str, Any], proxy_namespace: str) -> list[dict[str, Any]]:
    name, namespace = gateway["metadata"]["name"], gateway["metadata"]["namespace"]
    proxy = _pod(
        proxy_namespace,
        f"envoy-{namespace}-{name}-7d9f8c6b5-abcde",
        {
            "app.kubernetes.io/name": "envoy",
            "app.kubernetes.io/component": "proxy",
            "app.kubernetes.io/managed-by": "envoy-gateway",
            "gateway.envoyproxy.io/owning-gateway-name": name,
            "gateway.envoyproxy.io/owning-gateway-namespace": namespace,
        },
        owner=("Deployment", f"envoy-{namespace}-{name}"),
    )
    solver = _pod(namespace, "cm-acme-http-solver", {"acme.cert-manager.io/http01-solver": "true"})
    return [proxy, solver]


def analyzer_input(render: Path, chart_objects: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The rendered Namespaces, NetworkPolicies and workloads, the charts' NetworkPolicies and workloads (but
    host-network ones), the pods operators add, and the analyzer's pod names (`namespace/pod`) mapped to the
    workloads shown in the table."""
    manifests = load_manifests(render)
    docs = [doc for doc in manifests + chart_objects if doc["kind"] in INPUT_KINDS and not _host_network(doc)]
    docs += stand_ins(manifests, chart_objects, render)
    names: dict[str, str] = {}
    for doc in docs:
        meta = doc["metadata"]
        if doc["kind"] == "Pod":
            owner = (meta.get("ownerReferences") or [{"name": meta["name"]}])[0]["name"]
            names[f"{meta['namespace']}/{meta['name']}"] = f"{meta['namespace']}/{owner}"
        elif doc["kind"] in WORKLOAD_KINDS:
            # The analyzer names the (at most two) pods of a workload `<workload>-1` and `<workload>-2`.
            shown = _JOB_HASH.sub("", meta["name"]) if doc["kind"] == "Job" else meta["name"]
            for index in (1, 2):
                names[f"{meta['namespace']}/{meta['name']}-{index}"] = f"{meta['namespace']}/{shown}"
    return docs, names


def _host_network(doc: dict[str, Any]) -> bool:
    if doc["kind"] not in WORKLOAD_KINDS:
        return False
    template = doc["spec"]["jobTemplate"]["spec"]["template"] if doc["kind"] == "CronJob" else doc["spec"]["template"]
    return bool(template["spec"].get("hostNetwork"))


def write_analyzer_input(docs: list[dict[str, Any]], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, doc in enumerate(docs):
        namespace = doc["metadata"].get("namespace", "_cluster")
        (folder / f"{index:04d}-{namespace}-{doc['kind']}-{doc['metadata']['name']}.yaml").write_text(
            yaml.safe_dump(doc, sort_keys=False)
        )


# --- running the analyzer ----------------------------------------------------------------------------


def find_nca() -> str | None:
    candidate = ROOT / ".venvs" / "nca" / "bin" / "nca"
    return str(candidate) if candidate.exists() else shutil.which("nca")


def analyze(render: Path, nca: str, charts: StackCharts | None = None) -> list[Connection]:
    """Every allowed connection between the workloads of the render and its charts (templated now unless
    CHARTS is given), the pods operators add, and IP ranges."""
    charts = charts or template_render(render)
    docs, names = analyzer_input(render, [doc for _, doc in charts.all()])
    with tempfile.TemporaryDirectory(prefix="nca-") as tmp:
        write_analyzer_input(docs, Path(tmp))
        result = subprocess.run(
            [
                nca,
                *("--connectivity", tmp, "--pod_list", tmp, "--ns_list", tmp),
                *("--output_format", "txt_no_fw_rules", "--output_endpoints", "pods"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if result.returncode != 0 or "=>" not in result.stdout:
        raise RuntimeError(f"network-config-analyzer failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return parse(result.stdout, names)


def parse(output: str, names: dict[str, str]) -> list[Connection]:
    """Analyzer lines (`a => b : conn`) per workload, one row per pair; the IP ranges of one source and port set in
    one row."""
    pods: dict[tuple[str, str], set[PortItem]] = {}
    addresses: dict[tuple[str, str, str], set[PortItem]] = {}
    for line in output.splitlines():
        match = _LINE.match(line.strip())
        if not match:
            continue
        source, destination = match["source"], match["destination"]
        items = _port_items(match["connections"])
        if _is_pod(source) and _is_pod(destination):
            pods.setdefault((names[source], names[destination]), set()).update(items)
        elif _is_pod(source):
            addresses.setdefault(("to", names[source], destination), set()).update(items)
        else:
            addresses.setdefault(("from", names[destination], source), set()).update(items)
    connections = [
        Connection(source, destination, describe_ports(items)) for (source, destination), items in pods.items()
    ]
    ranges: dict[tuple[str, str, str], list[str]] = {}
    for (direction, pod, address), items in addresses.items():
        ranges.setdefault((direction, pod, describe_ports(items)), []).append(address)
    for (direction, pod, ports), found in ranges.items():
        shown = describe_addresses(found)
        connections.append(Connection(pod, shown, ports) if direction == "to" else Connection(shown, pod, ports))
    return sorted(set(connections))


def _is_pod(endpoint: str) -> bool:
    return "/" in endpoint


PortItem = tuple[str, str]
"""(protocol, port); ("all", "all") for every connection."""
ALL = ("all", "all")


def _port_items(text: str) -> set[PortItem]:
    """`{protocols:TCP, UDP,dst_ports:53,9153}` -> {(TCP, 53), (TCP, 9153), (UDP, 53), (UDP, 9153)}."""
    if text.strip() == "All connections":
        return {ALL}
    found = dict(re.findall(r"(protocols|dst_ports):(.+?)(?=,\s*(?:protocols|dst_ports):|\}|$)", text.strip()))
    protocols = [p.strip() for p in found.get("protocols", "all protocols").split(",")]
    ports = [p.strip() for p in found.get("dst_ports", "all ports").split(",")]
    return {(protocol, port) for protocol in protocols for port in ports}


def describe_ports(items: Iterable[PortItem]) -> str:
    """`TCP 5432, 8000`, `TCP, UDP 53`, `TCP 9153; TCP, UDP 53`-like text of ITEMS, or `all`."""
    items = set(items)
    if ALL in items:
        return "all"
    by_protocol: dict[str, list[str]] = {}
    for protocol, port in items:
        by_protocol.setdefault(protocol, []).append(port)
    groups: dict[tuple[str, ...], list[str]] = {}
    for protocol, ports in sorted(by_protocol.items()):
        groups.setdefault(tuple(sorted(ports, key=_port_order)), []).append(protocol)
    return "; ".join(f"{', '.join(protocols)} {', '.join(ports)}" for ports, protocols in groups.items())


def port_items(text: str) -> set[PortItem]:
    """The inverse of `describe_ports`."""
    if text == "all":
        return {ALL}
    items = set()
    for group in text.split("; "):
        match = re.match(r"^((?:[A-Z]+, )*[A-Z]+) (.+)$", group)
        assert match, group
        items |= {(p, port) for p in match[1].split(", ") for port in match[2].split(", ")}
    return items


def _port_order(port: str) -> tuple[int, str]:
    return (int(port.split("-")[0]), port) if port[0].isdigit() else (1 << 20, port)


# --- what the table shows ----------------------------------------------------------------------------


def networks(ranges: Iterable[str]) -> list[ipaddress.IPv4Network]:
    """CIDRs of the analyzer's IP ranges (`a.b.c.d-e.f.g.h` or a single address)."""
    found: list[ipaddress.IPv4Network] = []
    for text in ranges:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            found += ipaddress.summarize_address_range(
                ipaddress.IPv4Address(first), ipaddress.IPv4Address(last or first)
            )
    return list(ipaddress.collapse_addresses(found))


def public_internet() -> list[ipaddress.IPv4Network]:
    """Every IPv4 address except the private, link-local and carrier-grade NAT ranges."""
    remaining = [ipaddress.IPv4Network("0.0.0.0/0")]
    for private in PRIVATE_RANGES:
        remaining = [part for network in remaining for part in _without(network, private)]
    return list(ipaddress.collapse_addresses(remaining))


def _without(network: ipaddress.IPv4Network, excluded: ipaddress.IPv4Network) -> list[ipaddress.IPv4Network]:
    if not network.overlaps(excluded):
        return [network]
    if network.subnet_of(excluded):
        return []
    return list(network.address_exclude(excluded))


def describe_addresses(ranges: Iterable[str]) -> str:
    """`internet (public IPv4)` when every public address is in, plus any other CIDR listed."""
    found = networks(ranges)
    public = public_internet()
    if all(any(net.subnet_of(f) for f in found) for net in public):
        return ", ".join([INTERNET, *(str(n) for n in _subtract(found, public))])
    return ", ".join(str(n) for n in found)


def _subtract(found: list[ipaddress.IPv4Network], removed: list[ipaddress.IPv4Network]) -> list[ipaddress.IPv4Network]:
    remaining = list(found)
    for network in removed:
        remaining = [part for candidate in remaining for part in _without(candidate, network)]
    return list(ipaddress.collapse_addresses(remaining))


def policed_namespaces(render: Path) -> set[str]:
    """Namespaces that deny all ingress by default: every connection into them is an allow-list entry."""
    return {
        doc["metadata"]["namespace"]
        for doc in load_manifests(render)
        if doc["kind"] == "NetworkPolicy"
        and doc["spec"].get("podSelector") == {}
        and not doc["spec"].get("ingress")
        and doc["spec"].get("policyTypes") == ["Ingress"]
    }


def governed(connections: Iterable[Connection], policed: set[str]) -> list[Connection]:
    """Connections that start or end in a policed namespace (the rest is not this program's to allow)."""

    def inside(endpoint: str) -> bool:
        return _is_pod(endpoint) and endpoint.split("/")[0] in policed

    return [c for c in connections if inside(c.source) or inside(c.destination)]


DNS_QUERIES = {("TCP", "53"), ("UDP", "53")}


def markdown_table(connections: Iterable[Connection], policed: set[str]) -> str:
    """One row per allowed connection; DNS queries, which every policed pod may send, are one row."""
    allowed = governed(connections, policed)
    sources = {c.source for c in allowed if _is_pod(c.source) and c.source.split("/")[0] in policed}
    resolving = {c.source for c in allowed if c.destination == DNS and port_items(c.ports) >= DNS_QUERIES}
    rows: list[tuple[str, str, str]] = []
    if resolving and resolving == sources:
        rows.append((f"every pod in {', '.join(sorted(policed))}", DNS, describe_ports(DNS_QUERIES)))
        allowed = [_without_dns_queries(c) for c in allowed]
    rows += [(c.source, c.destination, c.ports) for c in allowed if c.ports]
    return markdown.table(("From", "To", "Ports"), rows)


def _without_dns_queries(connection: Connection) -> Connection:
    if connection.destination != DNS:
        return connection
    rest = port_items(connection.ports) - DNS_QUERIES
    return Connection(connection.source, connection.destination, describe_ports(rest) if rest else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", choices=STACKS)
    parser.add_argument("--render", type=Path, default=None, help="an existing render (default: render now)")
    args = parser.parse_args(argv)
    nca = find_nca()
    if nca is None:
        print("network-config-analyzer (nca) is not installed: run `make tools`", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="render-") as tmp:
        render = args.render or _render(args.stack, Path(tmp))
        try:
            connections = analyze(render, nca)
        except ChartsUnavailableError as error:
            print(error, file=sys.stderr)
            return 2
        print(markdown_table(connections, policed_namespaces(render)), end="")
    return 0


def _render(stack: str, out: Path) -> Path:
    from tools.mock_runtime import run_program
    from tools.render import write_render

    write_render(run_program(stack), out)
    return out


if __name__ == "__main__":
    sys.exit(main())
