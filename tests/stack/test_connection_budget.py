"""The connection budget (S0-03), per service and stack, computed from the render: the apps' connections at their
HPA maximum (both blue-green colours, the canary, the workers, a rolling update's surge) fit `max_connections` with
headroom, through PgBouncer where they would not (tools/connection_budget.py); the apps' `database-secret` then
points at the pooler, under the Secret name the manuals use."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from pulumi.runtime import rpc

from services import CATALOG
from tests.support.manifests import rendered_documents
from tests.support.runtime import STACKS, program_run, refusal
from tools.connection_budget import HEADROOM, Budget, Pooler, budgets
from tools.render import is_kubernetes_object, manifest

DATABASE_SERVICES = {name for name, spec in CATALOG.items() if spec.database is not None}


def manifests_of(stack: str) -> list[dict]:
    """The stack's Kubernetes objects as the render writes them."""
    return [manifest(r) for r in program_run(stack).registrations if is_kubernetes_object(r)]


@pytest.mark.parametrize("stack", STACKS)
def test_every_database_fits_its_apps_at_their_peak(rendered, stack):
    found = {budget.service: budget for budget in budgets(rendered_documents(rendered[stack]).values())}
    assert set(found) == DATABASE_SERVICES
    for budget in found.values():
        assert budget.demand > 0, f"{budget.service}: no app counted"
        assert budget.fits, budget


def test_in_prod_the_apps_alone_would_not_fit():
    """Why the poolers are there: at prod's peak every service's apps exceed what max_connections allows (AI
    Benchmark: 30 a pod, 750 against 200)."""
    found = {b.service: b for b in budgets(manifests_of("prod"))}
    assert found["ai-benchmark"].demand == 750  # (2 colours x (10 + 1) + (2 + 1) workers) x (20 + 10)
    for budget in found.values():
        assert budget.pooler is not None and budget.demand > budget.allowed, budget


def test_the_budget_can_fail():
    """Without its pooler, or with a pooler that cannot take every app connection, a database does not fit."""
    pooler = Pooler("db-pooler", 2, 60, 100)
    assert Budget("svc", "db", 200, 750, None).fits is False
    assert Budget("svc", "db", 200, 750, pooler).fits is False  # accepts 100 of 750
    assert Budget("svc", "db", 200, 90, pooler).fits is True
    assert Budget("svc", "db", 200, 150, None).allowed == int((200 - 13) * HEADROOM)


@pytest.mark.parametrize("stack", STACKS)
def test_the_apps_secret_points_at_the_pooler(stack):
    """`database-secret` (key `url`) keeps its name; its host is the pooler's Service, in every namespace that
    connects (V1 and V3 included, each as its own role)."""
    secrets = [
        r
        for r in program_run(stack).by_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["name"] == "database-secret"
    ]
    assert len(secrets) == len(DATABASE_SERVICES) + 2  # platform-v1-exp and platform-v3-quarantine share V2's
    for secret in secrets:
        data = secret.inputs["stringData"]
        assert rpc.is_rpc_secret(data)
        url = data["value"]["url"]
        host = url.partition("@")[2].partition(":")[0]
        assert host.split(".")[0].endswith("-db-pooler"), url.partition("@")[2]
        assert url.endswith("?sslmode=require")


def test_a_pod_quota_the_stack_sets_must_hold_the_poolers_pods(monkeypatch):
    """The peak a set pod quota is checked against counts PgBouncer's pods and the one its rolling update adds."""

    def pods_needed() -> int:
        refused = refusal("prod", overrides={"ai-platform:services": {"ai-benchmark": {"quota": {"pods": 1}}}})
        found = re.search(r"ai-benchmark\.quota\.pods: must be at least (\d+)", refused.message)
        assert found, refused.message
        return int(found[1])

    with_pooler = pods_needed()
    spec = CATALOG["ai-benchmark"]
    assert spec.database is not None and spec.database.pooler is not None
    monkeypatch.setitem(CATALOG, "ai-benchmark", replace(spec, database=replace(spec.database, pooler=None)))
    assert with_pooler - pods_needed() == spec.database.pooler.instances + 1
