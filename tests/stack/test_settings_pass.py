"""The settings pass as a whole: no input makes the program fail any other way than by refusing it, what prod may
give up only with its acknowledgement, warnings for secrets set for nothing, and the rules the pass shares with
the policy pack and the wiring."""

from __future__ import annotations

import ast
import asyncio
import copy
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
from pulumi.runtime.sync_await import _sync_await

import settings
from services import CATALOG
from settings import SettingsError, values
from settings.models import BACKUPS_OWNER, METRICS_OWNER, SNAPSHOTS_OWNER, BackupRole, iam_role_name
from tests.support.program import SERVICES, retired
from tests.support.runtime import ROOT, STACKS, program_run, refusal
from tools import mock_runtime, stack_config
from tools.mock_runtime import ProgramRun, load_project, load_stack_config, run_program

ACK = "ai-platform:acknowledgeDataLoss"
WRONG = (None, True, "no", "3", 2.5, -1, 0, "", "x" * 300, {"x": 1}, ["x"])
"""What an operator may put anywhere by mistake (None: the key removed)."""
PROJECT = load_project()
LEFTOVER = "sk-live-leftover-0123456789abcdefghij"
"""A secret left set for a feature that is off."""


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for name, inner in value.items():
            yield from _paths(inner, (*path, name))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*path, index))


def _mutated(config: dict[str, Any], key: str, path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    config = copy.deepcopy(config)
    if not path:
        config.pop(key) if new is None else config.__setitem__(key, new)
        return config
    node = config[key]
    for part in path[:-1]:
        node = node[part]
    if new is None and isinstance(node, dict):
        node.pop(path[-1])
    else:
        node[path[-1]] = new
    return config


def _mutations(stack: str) -> Iterator[tuple[str, dict[str, Any]]]:
    base = load_stack_config(stack)
    for key, value in base.items():
        for path in _paths(value):
            for new in WRONG:
                yield f"{key}{list(path)} = {new!r:.20}", _mutated(base, key, path, new)


def _load_settings(stack: str, config: dict[str, Any]) -> None:
    """settings.load (only) on CONFIG, as the program's first step under the CLI's rules. The settings register
    nothing, so no mock runtime is started (its stack registration cost as much as the settings); the config is
    set as the CLI passes it, and the Outputs the settings make resolve before this returns, so nothing is left
    pending for a later test."""
    config = dict(config)
    for name in settings.required_secret_keys(CATALOG, config):
        config.setdefault(name, stack_config.Secure())
    merged = stack_config.merge(PROJECT, stack, config)
    pulumi.runtime.settings.reset_options(project=mock_runtime.PROJECT, stack=stack)
    pulumi.runtime.set_all_config(merged.values, sorted(merged.secret_keys))
    try:
        settings.load(CATALOG)
    finally:
        _sync_await(asyncio.sleep(0))


@pytest.mark.parametrize("stack", STACKS)
def test_no_input_fails_but_by_being_refused(stack):
    """Every key and every level of the stack file replaced by each plausible mistake: the settings refuse it
    (SettingsError, or the CLI's ConfigError) or accept it; nothing else escapes."""
    accepted = []
    for name, config in _mutations(stack):
        try:
            _load_settings(stack, config)
        except (SettingsError, stack_config.ConfigError):
            continue
        accepted.append(name)
    assert accepted, "some mistakes are harmless (a storage class named 'no'), and are accepted"


def test_what_the_settings_accept_deploys_without_a_component_objecting():
    """The components' own checks are a second line only: harmless mistakes the settings accept (one for each of
    the first top-level keys of prod that has one) run through the whole program, all in one run: each replaces
    a key of its own, and together they are accepted too."""
    accepted: dict[str, Any] = {}
    for name, config in _mutations("prod"):
        key = name.split("[")[0]
        if name.endswith("= None") or key in accepted or len(accepted) == 4:
            continue
        try:
            _load_settings("prod", config)
        except (SettingsError, stack_config.ConfigError):
            continue
        accepted[key] = config[key]
    assert len(accepted) == 4, sorted(accepted)
    together = {**load_stack_config("prod"), **accepted}
    _load_settings("prod", together)
    program_run("prod", values=together)


def test_prod_gives_up_protection_only_with_its_acknowledgement():
    overrides = {"ai-platform:protectData": False, ACK: ["protectData"]}
    run = run_program("prod", overrides=overrides)
    stateful = [r for r in run.registrations if r.type in ("aws:s3/bucket:Bucket", "aws:kms/key:Key")]
    assert stateful and not any(r.protect for r in stateful)
    assert not any(r.protect for r in run.registrations)


def test_prod_retires_a_service_with_its_acknowledgement():
    run = program_run("prod", overrides=retired("prod", "docc2context"))
    assert run.outputs["services"]["docc2context"] is None
    namespaces = {r.inputs["metadata"]["name"] for r in run.by_type("kubernetes:core/v1:Namespace")}
    assert "docc2context" not in namespaces
    assert any(r.protect for r in run.registrations), "everything else stays protected"


def _staging_with_features_off() -> ProgramRun:
    """staging with two services, alerting and monitoring off, and secrets left set for them (no acknowledgement:
    staging turns things off freely)."""
    return program_run(
        "staging",
        overrides={
            SERVICES: {"platform": {"enabled": False}, "docc2context": {"enabled": False}},
            "ai-platform:alerting": None,
            "ai-platform:addons": {"monitoring": False},
        },
        secrets={"ai-platform:primaryAiApiKey": LEFTOVER, "ai-platform:webhookToken": LEFTOVER},
    )


def test_the_guard_follows_the_environment_not_the_stack_name():
    """A prod environment under another stack name is guarded too; staging disables freely."""
    prod_values = load_stack_config("prod")
    refused = refusal("prod-eu", values=prod_values, overrides={"ai-platform:protectData": False})
    assert any(p.startswith("ai-platform:protectData: must stay on") for p in refused.error.problems)
    assert _staging_with_features_off().outputs["services"]["docc2context"] is None


def test_a_storage_quota_the_stack_sets_reaches_the_namespace():
    overrides = {
        SERVICES: {"cad-ml-platform": {"database": {"storageSize": "200Gi"}, "quota": {"requestsStorage": "1Ti"}}}
    }
    run = run_program("staging", overrides=overrides)
    quotas = [
        r
        for r in run.by_type("kubernetes:core/v1:ResourceQuota")
        if r.inputs["metadata"]["namespace"] == "cad-ml-platform"
    ]
    assert [q.inputs["spec"]["hard"]["requests.storage"] for q in quotas] == ["1Ti"]


@pytest.mark.parametrize(
    ("stack", "overrides"),
    [
        ("staging", {"ai-platform:imageTag": "main"}),  # without pinning, staging may follow a branch
        ("staging", {"ai-platform:imageTag": "1.5"}),
        (
            "prod",
            {
                SERVICES: {
                    "docc2context": {
                        "apps": {"docc2context-api": {"image": f"r.example.com/d:stable@sha256:{'0' * 64}"}}
                    }
                }
            },
        ),
    ],
)
def test_tags_that_move_are_accepted_where_they_cannot_surprise(stack, overrides):
    run_program(stack, overrides=overrides)


def test_a_secret_set_for_a_feature_that_is_off_is_warned_about_without_its_value():
    warnings = _staging_with_features_off().warnings
    assert any(
        w.startswith("ai-platform:primaryAiApiKey is set but nothing uses it (used only by platform") for w in warnings
    )
    assert any(
        w.startswith("ai-platform:webhookToken is set but nothing uses it (addons.monitoring is off") for w in warnings
    )
    assert not any(LEFTOVER in w for w in warnings)
    assert not [w for w in program_run("staging").warnings if "nothing uses it" in w]


def test_the_secret_patterns_are_the_policy_packs():
    """The settings refuse every env value the policy pack would refuse at preview, by the same patterns."""
    tree = ast.parse((ROOT / "policy" / "policies.py").read_text())
    pack = {
        target.id: ast.literal_eval(node.value.args[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and node.value.args
        for target in node.targets
        if isinstance(target, ast.Name) and target.id in ("SECRET_NAME", "CREDENTIAL_VALUE")
    }
    assert pack == {"SECRET_NAME": values.SECRET_NAME.pattern, "CREDENTIAL_VALUE": values.CREDENTIAL_VALUE.pattern}


@pytest.mark.parametrize("stack", STACKS)
def test_the_role_names_checked_are_the_roles_deployed(stack):
    """The settings check the length of exactly the IAM role names the wiring gives the roles."""
    run = program_run(stack)
    deployed = {r.inputs["name"] for r in run.by_type("aws:iam/role:Role")}
    owners = [*CATALOG, BACKUPS_OWNER, SNAPSHOTS_OWNER, METRICS_OWNER]
    assert deployed and deployed <= {iam_role_name(stack, owner, role) for owner in owners for role in BackupRole}
