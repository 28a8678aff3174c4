"""URN stability (X-14): no deployed URN disappears without an alias, and the committed baseline is current."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.runtime import STACKS, program_run
from tools import urns


@pytest.mark.parametrize("stack", STACKS)
def test_no_baseline_urn_disappears_without_an_alias(stack):
    gone = urns.vanished(urns.read_baseline(stack), program_run(stack))
    assert gone == [], (
        "on a deployed stack these would be deleted and created again under a new URN; give the moved "
        f"resource `aliases` (or, if the removal is intended, update the baseline: `make urns`): {gone}"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_the_baseline_is_up_to_date(stack):
    baseline = urns.read_baseline(stack)
    expected = urns.updated_baseline(baseline, program_run(stack))
    assert baseline == expected, (
        f"the URNs changed: new {sorted(expected - baseline)}, gone {sorted(baseline - expected)}; "
        "run `make urns` and commit the baseline with the change"
    )


def test_a_rename_without_an_alias_is_caught():
    run = program_run("prod")
    renamed = [
        dataclasses.replace(r, urn=r.urn + "-renamed", aliases=[]) if r.type.endswith(":Namespace") else r
        for r in run.registrations
    ]
    baseline = urns.read_baseline("prod")
    gone = urns.vanished(baseline, dataclasses.replace(run, registrations=renamed))
    namespaces = [r for r in run.registrations if r.type.endswith(":Namespace")]
    assert gone == sorted(urn for r in namespaces for urn in [r.urn, *r.aliases] if urn in baseline)
    assert len(namespaces) >= 10
    aliased = [
        dataclasses.replace(r, urn=r.urn + "-renamed", aliases=[*r.aliases, r.urn]) if r in namespaces else r
        for r in run.registrations
    ]
    assert urns.vanished(urns.read_baseline("prod"), dataclasses.replace(run, registrations=aliased)) == []


def test_the_moved_smoke_test_policies_keep_their_deployed_urns():
    """BlueGreen's smoke-test policies moved into the NetworkPolicies component; their old URNs are aliased."""
    run = program_run("prod")
    old = {u for u in urns.read_baseline("prod") if "BlueGreen$kubernetes:networking.k8s.io/v1:NetworkPolicy" in u}
    assert len(old) == 4
    assert old <= {alias for r in run.registrations for alias in r.aliases}
    assert not old & urns.urns(run)


def test_the_colour_hpas_that_now_follow_the_traffic_keep_their_deployed_urns():
    """Each blue-green colour declared its own HPA; now BlueGreen's two HPAs (active, preview) take them over."""
    run = program_run("prod")
    marker = "BlueGreen$ai-platform:app_deployment:AppDeployment$kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
    old = {u for u in urns.read_baseline("prod") if marker in u}
    assert len(old) == 8, "two apps, two colours, before and after the ServiceGroups"
    assert old <= {alias for r in run.registrations for alias in r.aliases}
    assert not old & urns.urns(run)
