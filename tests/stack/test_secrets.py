"""X-12: secrets are Pulumi secrets and never appear in plain text in manifests, outputs or ConfigMaps."""

from __future__ import annotations

import json

import pytest

from settings import required_secret_keys
from tools.mock_runtime import load_stack_config, run_program
from tools.render import write_render

STACKS = ("staging", "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_value_reaches_any_rendered_file(tmp_path, stack):
    values, _ = load_stack_config(stack)
    # Distinctive values for every configured secret; generated ones come from the mock as `generated-<name>`.
    secrets = {key: f"s3cr3t-{key.split(':')[1]}-value" for key in required_secret_keys(values)}
    run = run_program(stack, secrets=secrets)
    write_render(run, tmp_path)
    generated = [r.state["result"] for r in run.registrations if r.type.startswith("random:")]
    assert generated, "the program generates its own secrets (JWT, tokens, passwords)"
    text = "\n".join(path.read_text() for path in tmp_path.rglob("*") if path.is_file())
    for value in [*secrets.values(), *generated]:
        assert value not in text, f"a secret leaked into the render: {value}"


@pytest.mark.parametrize("stack", STACKS)
def test_secret_inputs_reach_only_secrets(stack):
    """Plain (non-secret) inputs of every resource carry no configured secret value."""
    values, _ = load_stack_config(stack)
    secrets = {key: f"s3cr3t-{key.split(':')[1]}-value" for key in required_secret_keys(values)}
    run = run_program(stack, secrets=secrets)
    for registration in run.registrations:
        plain = json.dumps(_strip_secrets(registration.inputs), default=str)
        for value in secrets.values():
            assert value not in plain, f"{registration.type} {registration.name} holds {value} in plain text"


def _strip_secrets(value):
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return "[secret]"
    if isinstance(value, dict):
        return {k: _strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secrets(v) for v in value]
    return value
