"""The connection matrix of both stacks, computed by network-config-analyzer from the rendered NetworkPolicies.

X-07 (default deny; each app reaches only its own Postgres/Redis; Prometheus scrapes; DNS; HTTPS out only
for services that call AI providers), S4-04 (`v2-isolation`: V2 reaches no V1/V3 pod), X-10/X-16 (the
add-ons: each operator reaches the API server, the API server its webhooks, Prometheus what it scrapes,
Alertmanager its receivers, cert-manager its ACME server, Envoy the public backends; nothing else), S2-04 (the log
stack: only the shipper, Kibana and the ECK operator reach Elasticsearch, which reaches S3 only). The
analyzer runs over the rendered Namespaces, NetworkPolicies and workloads, the templated charts' workloads,
and the pods operators create (tools/connectivity.py); its answer is compared with the matrix written out
below from the manuals and the charts.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import partial

import pytest
import yaml

from tests.support.program import BLUE_GREEN, deployment_names
from tests.support.runtime import ROOT, STACKS, need_tool
from tests.support.shared import once
from tools.connectivity import (
    DNS,
    INTERNET,
    Connection,
    analyze,
    analyzer_input,
    governed,
    markdown_table,
    policed_namespaces,
    port_items,
)

# The charts' pods, as the analyzer names them (workload, or the StatefulSet an operator creates).
PROMETHEUS = "monitoring/prometheus-kube-prometheus-stack-prometheus"
ALERTMANAGER = "monitoring/alertmanager-kube-prometheus-stack-alertmanager"
GRAFANA = "monitoring/kube-prometheus-stack-grafana"
KUBE_STATE_METRICS = "monitoring/kube-prometheus-stack-kube-state-metrics"
PROMETHEUS_OPERATOR = "monitoring/kube-prometheus-stack-operator"
OPERATOR_JOBS = (
    "monitoring/kube-prometheus-stack-admission-create",
    "monitoring/kube-prometheus-stack-admission-patch",
)
CERT_MANAGER = "cert-manager/cert-manager"
CERT_MANAGER_CAINJECTOR = "cert-manager/cert-manager-cainjector"
CERT_MANAGER_WEBHOOK = "cert-manager/cert-manager-webhook"
CERT_MANAGER_CHECK = "cert-manager/cert-manager-startupapicheck"
CNPG_OPERATOR = "cnpg-system/cloudnative-pg"
BARMAN_CLOUD = "cnpg-system/plugin-barman-cloud"
ENVOY_GATEWAY = "envoy-gateway-system/envoy-gateway"
ENVOY_CERTGEN = "envoy-gateway-system/envoy-gateway-gateway-helm-certgen"
ECK_OPERATOR = "elastic-system/elastic-operator"
PROXIES = "envoy-gateway-system/envoy-public-gateway-public"
ACME_SOLVER = "public-gateway/cm-acme-http-solver"
ANY_POD = "default/any-pod"
# The log stack (S2-04): Elasticsearch's node set and Kibana as ECK names them, its jobs, the shipper.
ELASTICSEARCH = "logging/elasticsearch-es-default"
KIBANA = "logging/kibana-kb"
EXPORTER = "logging/elasticsearch-exporter"
SHIPPER = "log-shipping/fluent-bit"
LOG_STACK_JOBS = (EXPORTER, "logging/elasticsearch-snapshot-setup", "logging/elasticsearch-restore-check")
ELASTICSEARCH_NODES = {"prod": 3, "staging": 1}
# EKS's `kubernetes` Service address for either default service CIDR (ai-platform:networkPolicy default).
API_SERVER = "10.100.0.1/32, 172.20.0.1/32"
# The cluster's VPC: nodes (kubelet, node-exporter) and the control plane's interfaces (webhook calls).
CLUSTER_HOSTS = "10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16"
ANYWHERE = f"{INTERNET}, 10.0.0.0/8, 100.64.0.0/10, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16"
API_CLIENTS = (
    PROMETHEUS_OPERATOR,
    *OPERATOR_JOBS,
    GRAFANA,
    KUBE_STATE_METRICS,
    CERT_MANAGER,
    CERT_MANAGER_CAINJECTOR,
    CERT_MANAGER_WEBHOOK,
    CERT_MANAGER_CHECK,
    CNPG_OPERATOR,
    BARMAN_CLOUD,
    ENVOY_GATEWAY,
    ENVOY_CERTGEN,
    ECK_OPERATOR,
)
"""Operators, controllers, Grafana's sidecars and hook Jobs (Prometheus' discovery is in its hosts row)."""
WEBHOOKS = {
    CERT_MANAGER_WEBHOOK: 10250,
    CNPG_OPERATOR: 9443,
    ENVOY_GATEWAY: 9443,
    PROMETHEUS_OPERATOR: 10250,
    ECK_OPERATOR: 9443,
}


@dataclass(frozen=True)
class App:
    """What the manuals say about an app's connections."""

    namespace: str
    name: str
    metrics_port: int | None
    """Where Prometheus scrapes it; None: it serves no metrics."""
    database: str | None
    """`namespace/cluster` of the database it uses (through that database's PgBouncer, S0-03)."""
    cache: str | None
    """`namespace/redis` it uses."""
    calls_ai_providers: bool
    public: bool
    calls: tuple[str, ...] = ()
    """`namespace/app` of the apps it calls on their port 8000 (manual 004: V1 promotes to V2, quarantines in V3)."""


APPS = (
    App("ai-benchmark", "ai-benchmark-api", 8000, "ai-benchmark/ai-benchmark-db", "ai-benchmark/redis", True, True),
    App("ai-benchmark", "ai-benchmark-worker", None, "ai-benchmark/ai-benchmark-db", "ai-benchmark/redis", True, False),
    App(
        "agent-skeptic-bench",
        "agent-skeptic-bench",
        8000,
        "agent-skeptic-bench/agent-skeptic-bench-db",
        "agent-skeptic-bench/redis",
        True,
        True,
    ),
    App("docc2context", "docc2context-api", 8000, None, "docc2context/redis", False, True),
    App(
        "cad-ml-platform",
        "cad-ml-platform",
        8000,
        "cad-ml-platform/cad-ml-platform-db",
        "cad-ml-platform/redis",
        True,
        True,
    ),
    App("platform-v2-stable", "platform-v2-api", 8000, "platform-v2-stable/platform-db", None, True, True),
    App(
        "platform-v1-exp",
        "platform-v1-api",
        8000,
        "platform-v2-stable/platform-db",
        None,
        True,
        False,
        ("platform-v2-stable/platform-v2-api", "platform-v3-quarantine/platform-v3-api"),
    ),
    App("platform-v3-quarantine", "platform-v3-api", 8000, "platform-v2-stable/platform-db", None, False, False),
)
DATABASES = sorted({app.database for app in APPS if app.database})
POOLERS = {database: f"{database}-pooler" for database in DATABASES}
"""Every database's PgBouncer: its apps' connections at their peak exceed max_connections (S0-03)."""
CACHES = sorted({app.cache for app in APPS if app.cache})
# Stores with more than one pod (they replicate among themselves), per stack file.
REPLICATED = {
    "prod": set(DATABASES) | {"agent-skeptic-bench/redis"},
    "staging": set(),
}


def workloads(app: App) -> list[str]:
    return [f"{app.namespace}/{name}" for name in sorted(deployment_names(app.name))]


def workloads_of(app: str) -> list[str]:
    """The Deployments of app `namespace/app`."""
    return workloads(next(a for a in APPS if f"{a.namespace}/{a.name}" == app))


def expected_matrix(stack: str) -> set[Connection]:
    rows = {Connection(PROXIES, ACME_SOLVER, "TCP 8089")}
    for app in APPS:
        for workload in workloads(app):
            if app.metrics_port:
                rows.add(Connection(PROMETHEUS, workload, f"TCP {app.metrics_port}"))
            if app.database:
                rows.add(Connection(workload, POOLERS[app.database], "TCP 5432"))
            rows |= {
                Connection(workload, callee, "TCP 8000") for called in app.calls for callee in workloads_of(called)
            }
            if app.cache:
                rows.add(Connection(workload, app.cache, "TCP 6379"))
            if app.calls_ai_providers:
                rows.add(Connection(workload, INTERNET, "TCP 443"))
            if app.public:
                rows.add(Connection(PROXIES, workload, "TCP 8000"))
        if app.name in BLUE_GREEN:
            for colour in ("blue", "green"):
                smoke = f"{app.namespace}/{app.name}-smoke-{colour}"
                rows |= {Connection(smoke, workload, "TCP 8000") for workload in workloads(app)}
    for database in DATABASES:
        rows |= {
            Connection(POOLERS[database], database, "TCP 5432"),
            Connection(PROMETHEUS, POOLERS[database], "TCP 9127"),
            Connection(POOLERS[database], API_SERVER, "TCP 443"),
            Connection(CNPG_OPERATOR, database, "TCP 5432, 8000"),
            Connection(PROMETHEUS, database, "TCP 9187"),
            Connection(database, f"{INTERNET}, {API_SERVER}", "TCP 443"),
            Connection(f"{database}-logical-dump", database, "TCP 5432"),
            Connection(f"{database}-logical-dump", INTERNET, "TCP 443"),
            Connection(f"{database}-restore-check", INTERNET, "TCP 443"),
            # The point-in-time drill writes its markers, drives its scratch cluster through the API and checks
            # it; the scratch cluster recovers like an instance (operator, API, S3).
            Connection(f"{database}-pitr-drill", database, "TCP 5432"),
            Connection(f"{database}-pitr-drill", f"{database}-pitr", "TCP 5432"),
            Connection(f"{database}-pitr-drill", API_SERVER, "TCP 443"),
            Connection(CNPG_OPERATOR, f"{database}-pitr", "TCP 5432, 8000"),
            Connection(f"{database}-pitr", f"{INTERNET}, {API_SERVER}", "TCP 443"),
        }
    for cache in CACHES:
        rows.add(Connection(PROMETHEUS, cache, "TCP 9121"))
    for store in REPLICATED[stack]:
        rows.add(Connection(store, store, "TCP 5432, 8000" if store in DATABASES else "TCP 6379"))
    return rows | addon_matrix() | log_stack_rows(stack)


def log_stack_rows(stack: str) -> set[Connection]:
    """X-07 for the log stack: the shipper, Kibana and the operator (and the stack's own exporter and snapshot
    jobs) reach Elasticsearch; Prometheus scrapes the exporter and the shippers; Elasticsearch reaches S3/STS;
    the Gateway's proxies reach Kibana; the shippers read pod metadata from the API."""
    rows = {
        Connection(client, ELASTICSEARCH, "TCP 9200") for client in (SHIPPER, KIBANA, ECK_OPERATOR, *LOG_STACK_JOBS)
    }
    rows |= {
        Connection(ELASTICSEARCH, INTERNET, "TCP 443"),
        Connection(PROMETHEUS, EXPORTER, "TCP 9114"),
        Connection(PROMETHEUS, SHIPPER, "TCP 2020"),
        Connection(SHIPPER, API_SERVER, "TCP 443"),
        Connection(PROXIES, KIBANA, "TCP 5601"),
    }
    if ELASTICSEARCH_NODES[stack] > 1:
        rows.add(Connection(ELASTICSEARCH, ELASTICSEARCH, "TCP 9300"))
    return rows


def addon_matrix() -> set[Connection]:
    """The add-ons' connections: the API server both ways, scrapes, receivers, ACME, the public entry."""
    rows = {Connection(client, API_SERVER, "TCP 443") for client in API_CLIENTS}
    rows |= {Connection(CLUSTER_HOSTS, webhook, f"TCP {port}") for webhook, port in WEBHOOKS.items()}
    rows |= {
        # Prometheus: kubelet, node-exporter and the API server's endpoints on the hosts, then the pods it scrapes;
        # its Thanos sidecar uploads the blocks to S3 (S3-11).
        Connection(PROMETHEUS, CLUSTER_HOSTS, "TCP 443, 9100, 10250"),
        Connection(PROMETHEUS, INTERNET, "TCP 443"),
        Connection(PROMETHEUS, ALERTMANAGER, "TCP 8080, 9093"),
        Connection(PROMETHEUS, GRAFANA, "TCP 3000"),
        Connection(PROMETHEUS, KUBE_STATE_METRICS, "TCP 8080"),
        Connection(PROMETHEUS, PROMETHEUS_OPERATOR, "TCP 10250"),
        Connection(PROMETHEUS, CNPG_OPERATOR, "TCP 8080"),
        *(
            Connection(PROMETHEUS, pods, "TCP 9402")
            for pods in (CERT_MANAGER, CERT_MANAGER_CAINJECTOR, CERT_MANAGER_WEBHOOK)
        ),
        Connection(GRAFANA, PROMETHEUS, "TCP 9090"),
        Connection(GRAFANA, ALERTMANAGER, "TCP 9093"),
        # PagerDuty, Slack and the webhook over HTTPS; e-mail through the SMTP relay (smtp.example.com:587).
        Connection(ALERTMANAGER, INTERNET, "TCP 443, 587"),
        # ACME orders, and the HTTP-01 self-check through the public host.
        Connection(CERT_MANAGER, INTERNET, "TCP 80, 443"),
        Connection(CNPG_OPERATOR, BARMAN_CLOUD, "TCP 9090"),
        # The public entry: load-balancer clients to the proxies, the proxies to Envoy Gateway and the backends.
        Connection(ANYWHERE, PROXIES, "TCP 10080, 10443"),
        Connection(PROXIES, ENVOY_GATEWAY, "TCP 18000"),
        Connection(PROXIES, PROMETHEUS, "TCP 9090"),
        Connection(PROXIES, GRAFANA, "TCP 3000"),
    }
    return rows


@pytest.fixture(scope="module")
def matrix(rendered, charts) -> dict[str, list[Connection]]:
    nca = need_tool("nca", "network-config-analyzer runs in its own virtualenv under .venvs/nca")

    def connections(stack: str) -> list[Connection]:
        return governed(analyze(rendered[stack], nca, charts[stack]), policed_namespaces(rendered[stack]))

    return {stack: once(f"nca-{stack}", partial(connections, stack)) for stack in STACKS}


@pytest.mark.parametrize("stack", STACKS)
def test_the_analyzer_sees_the_charts_pods(rendered, charts, stack):
    """The operators, Grafana, kube-state-metrics and the hook Jobs come from the templated charts; Prometheus
    and Alertmanager from the chart's custom resources; node-exporter (host network) is not subject to policies."""
    docs, _ = analyzer_input(rendered[stack], [doc for _, doc in charts[stack].all()])
    workloads = {
        f"{d['metadata']['namespace']}/{d['metadata']['name']}"
        for d in docs
        if d["kind"] not in ("Namespace", "NetworkPolicy")
    }
    assert {*API_CLIENTS, "monitoring/prometheus-kube-prometheus-stack-prometheus-0"} <= workloads
    assert "monitoring/alertmanager-kube-prometheus-stack-alertmanager-0" in workloads
    assert not [w for w in workloads if w.startswith("node-exporter/")]


def allowed(connections: list[Connection], source: str, destination: str) -> str | None:
    found = [c.ports for c in connections if c.source == source and c.destination == destination]
    return found[0] if found else None


@pytest.mark.parametrize("stack", STACKS)
def test_the_analyzer_allows_exactly_the_expected_matrix(matrix, stack):
    """X-07, S4-04: nothing more and nothing less than the manuals' connections (DNS checked below)."""
    found = {c for c in matrix[stack] if c.destination != DNS}
    want = expected_matrix(stack)
    assert not found - want, "allowed but not expected:\n" + "\n".join(map(str, sorted(found - want)))
    assert not want - found, "expected but denied:\n" + "\n".join(map(str, sorted(want - found)))


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_resolves_names_and_nothing_else_reaches_kube_system(matrix, stack):
    """X-07: DNS (53, TCP and UDP) to kube-dns is every pod's one exception to default deny; Prometheus also
    scrapes CoreDNS' metrics."""
    sources = {c.source for c in matrix[stack] if c.source != ANY_POD and not c.source[0].isdigit()}
    sources -= {c.source for c in matrix[stack] if c.source.startswith(INTERNET)}
    dns = {c.source: c.ports for c in matrix[stack] if c.destination == DNS}
    assert dns == dict.fromkeys(sources - {PROMETHEUS}, "TCP, UDP 53") | {PROMETHEUS: "TCP 53, 9153; UDP 53"}
    assert port_items(dns[PROMETHEUS]) == {("TCP", "53"), ("UDP", "53"), ("TCP", "9153")}
    assert not [c for c in matrix[stack] if c.destination.startswith("kube-system/") and c.destination != DNS]


@pytest.mark.parametrize("stack", STACKS)
def test_each_app_reaches_its_own_database_and_cache_and_no_other(matrix, stack):
    """X-07: an app reaches its service's Postgres (through its PgBouncer, S0-03: never the instances themselves)
    and Redis, and no store of another service."""
    for app in APPS:
        for workload in workloads(app):
            for database in DATABASES:
                assert allowed(matrix[stack], workload, database) is None, (workload, database)
                ports = allowed(matrix[stack], workload, POOLERS[database])
                assert ports == ("TCP 5432" if database == app.database else None), (workload, database)
            for cache in CACHES:
                ports = allowed(matrix[stack], workload, cache)
                assert ports == ("TCP 6379" if cache == app.cache else None), (workload, cache)


@pytest.mark.parametrize("stack", STACKS)
def test_v2_reaches_no_v1_or_v3_pod_and_they_reach_only_its_database(matrix, stack):
    """S4-04: V2 cannot reach V1 or V3; V3 reaches only the shared database's pooler in platform-v2-stable, V1 also
    V2's API (promotion) and V3's (quarantine), manual 004."""
    tiers = {"platform-v1-exp", "platform-v3-quarantine"}
    pooler = ("platform-v2-stable/platform-db-pooler", "TCP 5432")
    v2_api = {(colour, "TCP 8000") for colour in workloads_of("platform-v2-stable/platform-v2-api")}
    for connection in matrix[stack]:
        source_ns, destination_ns = connection.source.split("/")[0], connection.destination.split("/")[0]
        if source_ns == "platform-v2-stable":
            assert destination_ns not in tiers, connection
        if source_ns in tiers and destination_ns == "platform-v2-stable":
            reached = (connection.destination, connection.ports)
            assert reached in ({pooler} | (v2_api if source_ns == "platform-v1-exp" else set())), connection
    v1 = "platform-v1-exp/platform-v1-api"
    assert {allowed(matrix[stack], v1, colour) for colour, _ in v2_api} == {"TCP 8000"}
    assert allowed(matrix[stack], v1, "platform-v3-quarantine/platform-v3-api") == "TCP 8000"
    assert allowed(matrix[stack], "platform-v3-quarantine/platform-v3-api", v1) is None


@pytest.mark.parametrize("stack", STACKS)
def test_prometheus_scrapes_every_metrics_port(matrix, stack):
    """X-07, X-10: apps on their metrics port (none for an app that serves no metrics), Postgres on 9187, PgBouncer
    on 9127, Redis on 9121; nothing else."""
    for app in APPS:
        for workload in workloads(app):
            expected = f"TCP {app.metrics_port}" if app.metrics_port else None
            assert allowed(matrix[stack], PROMETHEUS, workload) == expected, workload
    for database in DATABASES:
        assert allowed(matrix[stack], PROMETHEUS, database) == "TCP 9187"
        assert allowed(matrix[stack], PROMETHEUS, POOLERS[database]) == "TCP 9127"
    for cache in CACHES:
        assert allowed(matrix[stack], PROMETHEUS, cache) == "TCP 9121"


@pytest.mark.parametrize("stack", STACKS)
def test_nothing_else_reaches_a_database(matrix, stack):
    """X-07: only its PgBouncer, its dump job, its restore drill, its peers, the CNPG operator and Prometheus reach a
    database."""
    for database in DATABASES:
        clients = {POOLERS[database], f"{database}-logical-dump", f"{database}-pitr-drill", database}
        clients |= {CNPG_OPERATOR, PROMETHEUS}
        reaching = {c.source for c in matrix[stack] if c.destination == database}
        assert reaching <= clients, reaching - clients
        assert ANY_POD not in reaching


@pytest.mark.parametrize("stack", STACKS)
def test_internet_only_where_configured(matrix, stack):
    """X-07: HTTPS out (never private or link-local ranges) for AI callers, database instances, backup jobs and
    Prometheus' copy (S3-11)."""
    out = {c.source: c for c in matrix[stack] if c.destination.startswith(INTERNET)}
    callers = {workload for app in APPS if app.calls_ai_providers for workload in workloads(app)}
    backups = {f"{db}-{job}" for db in DATABASES for job in ("logical-dump", "restore-check")}
    instances = set(DATABASES) | {f"{db}-pitr" for db in DATABASES}  # the drills' scratch clusters recover alike
    assert set(out) == callers | backups | instances | {ALERTMANAGER, CERT_MANAGER, ELASTICSEARCH, PROMETHEUS}
    assert {c.ports for source, c in out.items() if source not in (ALERTMANAGER, CERT_MANAGER)} == {"TCP 443"}
    assert (out[ALERTMANAGER].ports, out[CERT_MANAGER].ports) == ("TCP 443, 587", "TCP 80, 443")
    # Database instances also reach the Kubernetes API; nobody reaches any other address.
    assert {c.destination for source, c in out.items() if source in instances} == {f"{INTERNET}, {API_SERVER}"}
    assert {c.destination for source, c in out.items() if source not in instances} == {INTERNET}
    # Private addresses: the API server for the add-ons, the point-in-time drills (they drive their scratch
    # clusters) and the log shippers (pod metadata), the cluster's hosts for Prometheus only.
    private = {(c.source, c.destination) for c in matrix[stack] if c.destination[0].isdigit()}
    drills = {f"{db}-pitr-drill" for db in DATABASES}
    readers = (*API_CLIENTS, *drills, *POOLERS.values(), SHIPPER)  # PgBouncer's instance manager follows its Pooler
    assert private == {(client, API_SERVER) for client in readers} | {(PROMETHEUS, CLUSTER_HOSTS)}


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_shipper_kibana_and_the_operator_reach_elasticsearch(matrix, stack):
    """X-07, S2-04: from outside the log stack only its clients reach Elasticsearch; Elasticsearch itself reaches
    its peers and S3 (HTTPS), nothing else; only the Gateway's proxies reach Kibana; Prometheus scrapes."""
    reaching = {c.source for c in matrix[stack] if c.destination == ELASTICSEARCH}
    assert reaching - {ELASTICSEARCH} == {SHIPPER, KIBANA, ECK_OPERATOR, *LOG_STACK_JOBS}
    outside = {source for source in reaching if not source.startswith("logging/")}
    assert outside == {SHIPPER, ECK_OPERATOR}
    reached = {(c.destination, c.ports) for c in matrix[stack] if c.source == ELASTICSEARCH}
    assert reached - {(ELASTICSEARCH, "TCP 9300")} == {(INTERNET, "TCP 443"), (DNS, "TCP, UDP 53")}
    assert {c.source for c in matrix[stack] if c.destination == KIBANA} == {PROXIES}
    assert {c.source for c in matrix[stack] if c.destination in (EXPORTER, SHIPPER)} == {PROMETHEUS}


def test_the_analyzer_reports_a_hole(rendered, charts, tmp_path):
    """A policy that opens ai-benchmark's database to every namespace shows up (so the checks above can fail)."""
    nca = need_tool("nca", "network-config-analyzer runs in its own virtualenv under .venvs/nca")
    render = tmp_path / "render"
    shutil.copytree(rendered["prod"], render)
    hole = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "open-database", "namespace": "ai-benchmark"},
        "spec": {
            "podSelector": {"matchLabels": {"cnpg.io/cluster": "ai-benchmark-db"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {}}]}],
        },
    }
    (render / "manifests" / "ai-benchmark" / "NetworkPolicy-open-database.yaml").write_text(yaml.safe_dump(hole))
    connections = analyze(render, nca, charts["prod"])
    assert allowed(connections, ANY_POD, "ai-benchmark/ai-benchmark-db") == "all"
    assert allowed(connections, "docc2context/docc2context-api", "ai-benchmark/ai-benchmark-db") is None  # egress


def test_readme_table_is_the_analyzers_answer_for_prod(matrix, rendered):
    """The README's "Network isolation" table is `python -m tools.connectivity prod`, unedited."""
    table = markdown_table(matrix["prod"], policed_namespaces(rendered["prod"]))
    readme = (ROOT / "README.md").read_text()
    shown = readme.partition("<!-- BEGIN connectivity -->\n")[2].partition("<!-- END connectivity -->")[0]
    assert shown == table, "regenerate with `python -m tools.connectivity prod` and paste it into README.md"
