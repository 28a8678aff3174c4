"""X-12: secrets are Pulumi secrets and never appear in plain text in manifests, outputs or ConfigMaps."""

from __future__ import annotations

import json

import pytest

from tests.support.program import secret_values
from tests.support.runtime import STACKS, program_run
from tools.render import clean, write_render


@pytest.mark.parametrize("stack", STACKS)
def test_secret_values_reach_only_secrets_and_no_rendered_file(tmp_path, stack):
    """One run with a distinctive value for every configured secret: the plain (non-secret) inputs of every
    resource carry none of them, and no rendered file holds a configured or generated secret."""
    secrets = secret_values(stack)
    run = program_run(stack, secrets=secrets)

    for registration in run.registrations:
        plain = json.dumps(clean(registration.inputs), default=str)  # secret-wrapped values masked
        for value in secrets.values():
            assert value not in plain, f"{registration.type} {registration.name} holds {value} in plain text"

    write_render(run, tmp_path)
    generated = [r.state["result"] for r in run.registrations if r.type.startswith("random:")]  # `generated-<name>`
    assert generated, "the program generates its own secrets (JWT, tokens, passwords)"
    text = "\n".join(path.read_text() for path in tmp_path.rglob("*") if path.is_file())
    for value in [*secrets.values(), *generated]:
        assert value not in text, f"a secret leaked into the render: {value}"
