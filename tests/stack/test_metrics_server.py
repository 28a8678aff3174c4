"""metrics-server (X-04): every HPA and `kubectl top` read the metrics API, which EKS does not install."""

from __future__ import annotations

import pytest

from components.metrics_server import MetricsServer, MetricsServerArgs
from settings import SettingsError
from tests.support.program import own_cluster
from tests.support.runtime import STACKS, program_run, synth
from tools.mock_runtime import CLUSTER_STACK_OUTPUTS, run_program

ADDON = "aws:eks/addon:Addon"
CLUSTER = "ai-platform:cluster"
OIDC = {key: CLUSTER_STACK_OUTPUTS[key] for key in ("oidcProviderArn", "oidcIssuerUrl")}


def _addons(run) -> list:
    return [r for r in run.registrations if r.type == ADDON]


def test_the_component_installs_the_pinned_eks_add_on_without_taking_over_another_install():
    built = synth(lambda: MetricsServer("metrics-server", MetricsServerArgs("prod-eks", "v0.8.0-eksbuild.6")))
    (addon,) = [r for r in built.registrations if r.type == ADDON]
    assert addon.inputs == {
        "clusterName": "prod-eks",
        "addonName": "metrics-server",
        "addonVersion": "v0.8.0-eksbuild.6",
        "resolveConflictsOnCreate": "NONE",
        "resolveConflictsOnUpdate": "OVERWRITE",
    }


@pytest.mark.parametrize("stack", STACKS)
def test_both_stacks_install_it_on_the_cluster_the_cluster_stack_names(stack):
    run = program_run(stack)
    (addon,) = _addons(run)
    assert addon.inputs["clusterName"] == CLUSTER_STACK_OUTPUTS["clusterName"]
    assert addon.inputs["addonName"] == "metrics-server"
    assert any(r.type == "kubernetes:autoscaling/v2:HorizontalPodAutoscaler" for r in run.registrations)


def test_cluster_name_names_the_cluster_when_set():
    by_context = {"context": "prod-admin", "name": "prod-eks", **OIDC}  # what the refusal below asks for
    for cluster in (by_context, own_cluster()):
        (addon,) = _addons(program_run("prod", overrides={CLUSTER: cluster}))
        assert addon.inputs["clusterName"] == "prod-eks"


def test_off_installs_nothing_and_needs_no_name():
    run = run_program(
        "prod", overrides={CLUSTER: {"context": "prod-admin", **OIDC}, "ai-platform:addons": {"metricsServer": False}}
    )
    assert _addons(run) == []


def test_a_cluster_reached_by_context_alone_must_name_it_or_turn_it_off():
    with pytest.raises(SettingsError) as caught:
        run_program("prod", overrides={CLUSTER: {"context": "prod-admin", **OIDC}})
    message = str(caught.value)
    assert "ai-platform:addons.metricsServer: installing the EKS add-on metrics-server needs" in message
    assert "ai-platform:cluster.name" in message and "set addons.metricsServer to false" in message
