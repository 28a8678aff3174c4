"""A lean staging (X-01): every workload prod runs, at most 35 % of prod's CPU and memory requests, counted from
the renders and the charts' templated objects (tools/footprint.py)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from components import quantity
from components.metrics_copy import SIDECAR_RESOURCES
from settings import SettingsError
from tests.support.program import SERVICES, stack_services
from tests.support.runtime import STACKS
from tools.footprint import PRICES, Footprint, Workload, footprint, monthly_cost, pod_requests, prices
from tools.mock_runtime import run_program

STAGING_SHARE = Decimal("0.35")
GIB = 2**30


@pytest.fixture(scope="module")
def footprints(rendered, charts) -> dict[str, Footprint]:
    return {stack: footprint(stack, rendered[stack], charts[stack].all()) for stack in STACKS}


def test_staging_requests_at_most_35_percent_of_prods_cpu_and_memory(footprints):
    staging, prod = footprints["staging"], footprints["prod"]
    nodes = {stack: monthly_cost(found).nodes for stack, found in footprints.items()}
    assert staging.cpu(nodes["staging"]) <= STAGING_SHARE * prod.cpu(nodes["prod"])
    assert staging.memory(nodes["staging"]) <= STAGING_SHARE * prod.memory(nodes["prod"])
    assert monthly_cost(staging).total < monthly_cost(prod).total


def _named(found: Footprint) -> dict[tuple[str, str, str], Workload]:
    # Smoke-test Jobs are named after the image they test, which differs between the stacks; the snapshot setup
    # Job after its configuration (the stack's retention), so it is compared without its hash.
    return {(w.kind, w.namespace, _unhashed(w)): w for w in found.workloads if "-smoke-" not in w.name}


def _unhashed(workload: Workload) -> str:
    return re.sub(r"-[0-9a-f]{10}$", "", workload.name) if workload.kind == "Job" else workload.name


def test_staging_runs_every_workload_prod_runs(footprints, charts):
    staging, prod = _named(footprints["staging"]), _named(footprints["prod"])
    assert sorted(set(prod) - set(staging)) == []
    assert [key for key, w in staging.items() if not w.replicas and w.kind != "PersistentVolumeClaim"] == []
    # The program's own workloads and each chart's are all counted, the controllers' pods included.
    assert {w.owner for w in staging.values()} == {"program", *charts["staging"].releases}
    kinds = {w.kind for w in staging.values()}
    expected = {"Deployment", "StatefulSet", "DaemonSet", "CronJob", "Cluster", "Pooler", "Prometheus", "Envoy proxy"}
    assert expected <= kinds


def test_the_charts_workloads_are_part_of_the_footprint(footprints):
    prod = _named(footprints["prod"])
    prometheus = prod["Prometheus", "monitoring", "kube-prometheus-stack-prometheus"]
    # The Prometheus container, the operator's config reloader (its --config-reloader-*-request flags) and the
    # Thanos sidecar that copies its blocks off the cluster.
    assert prometheus.cpu == Decimal("0.5") + Decimal("0.01") + quantity.parse(SIDECAR_RESOURCES.requests["cpu"])
    assert prometheus.storage == 64 * GIB
    assert prod["Deployment", "cert-manager", "cert-manager"].owner == "cert-manager"
    assert prod["DaemonSet", "node-exporter", "kube-prometheus-stack-prometheus-node-exporter"].per_node


def test_autoscaled_apps_count_their_minimum_and_resized_claims_their_new_size(footprints):
    prod = _named(footprints["prod"])
    assert prod["Deployment", "agent-skeptic-bench", "agent-skeptic-bench"].replicas == 3  # the HPA's minimum
    assert prod["StatefulSet", "agent-skeptic-bench", "redis"].storage == 2 * 10 * GIB  # data-redis-0 and -1
    database = prod["Cluster", "platform-v2-stable", "platform-db"]
    assert (database.replicas, database.cpu, database.memory) == (3, 1, 2 * GIB)
    # Each DocC2Context pod claims its 50 Gi scratch volume; PgBouncer's pods run in front of every database.
    docc2context = prod["Deployment", "docc2context", "docc2context-api"]
    assert docc2context.storage == docc2context.replicas * 50 * GIB
    assert prod["Pooler", "ai-benchmark", "ai-benchmark-db-pooler"].replicas == 2


def test_the_log_stack_counts_the_pods_eck_runs(footprints):
    prod, staging = _named(footprints["prod"]), _named(footprints["staging"])
    nodes = prod["StatefulSet", "logging", "elasticsearch-es-default"]
    assert (nodes.replicas, nodes.memory, nodes.storage) == (3, 4 * GIB, 3 * 100 * GIB)
    assert staging["StatefulSet", "logging", "elasticsearch-es-default"].replicas == 1
    assert prod["Deployment", "logging", "kibana-kb"].replicas == 2
    assert prod["DaemonSet", "log-shipping", "fluent-bit"].per_node


def test_a_pod_requests_what_the_scheduler_counts():
    pod = {
        "initContainers": [
            {"resources": {"requests": {"cpu": "2", "memory": "64Mi"}}},  # runs alone, before the others
            {"restartPolicy": "Always", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}},  # sidecar
        ],
        "containers": [
            {"resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
            {"resources": {"limits": {"cpu": "500m", "memory": "1Gi"}}},  # a missing request is the limit
        ],
    }
    assert pod_requests(pod) == (Decimal(2), Decimal((128 + 256 + 1024) * 2**20))


def test_the_price_table_names_its_source_and_prices_a_node_type():
    text = PRICES.read_text()
    assert "https://aws.amazon.com/ec2/pricing/on-demand/" in text and "2025" in text
    table = prices()
    assert table["node"]["allocatable_cpu"] < table["node"]["vcpu"]
    assert table["ebs_gp3_per_gb_month"] > 0 and table["s3_standard_per_gb_month"] > 0


def _with_database(resources: dict) -> dict:
    services = stack_services("staging")
    services["platform"]["database"]["resources"] = resources
    return {SERVICES: services}


def test_a_stack_sizes_each_database_instance():
    run = run_program("staging", overrides=_with_database({"requests": {"cpu": "300m", "memory": "768Mi"}}))
    spec = run.one("kubernetes:postgresql.cnpg.io/v1:Cluster", "platform-db-cluster").inputs["spec"]
    assert spec["resources"]["requests"] == {"cpu": "300m", "memory": "768Mi"}
    assert spec["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}, "the manual's limits stay"


def test_database_requests_above_their_limits_are_refused_with_the_key_named():
    with pytest.raises(SettingsError) as caught:
        run_program("staging", overrides=_with_database({"requests": {"memory": "8Gi"}}))
    assert "ai-platform:services.platform.database.resources.requests.memory: must be <= the limit 4Gi" in str(
        caught.value
    )
