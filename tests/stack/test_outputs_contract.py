"""The typed outputs contract (X-13): both stacks' outputs match contracts/stack-outputs.schema.json, every key is
present (null, never absent), secret outputs stay secret, and the README's StackReference example runs against
this program's outputs."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pulumi
import pytest

from tests.support.program import secret_values
from tests.support.runtime import ROOT, STACKS, program_run
from tools.mock_runtime import PlatformMocks, resolve_stack_outputs, run_program, run_to_completion
from tools.render import write_render

SCHEMA = json.loads((ROOT / "contracts" / "stack-outputs.schema.json").read_text())
ORGANIZATION = "acme"  # the README example's Pulumi organization


def _errors(outputs: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(outputs)]


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("stack", STACKS)
def test_the_outputs_of_each_stack_match_the_contract(rendered, stack):
    outputs = json.loads((rendered[stack] / "outputs.json").read_text())
    assert _errors(outputs) == []
    assert outputs["environment"] == stack


@pytest.mark.parametrize("stack", STACKS)
def test_the_contract_rejects_a_missing_key_and_a_wrong_type(rendered, stack):
    outputs = json.loads((rendered[stack] / "outputs.json").read_text())
    worker = outputs["services"]["ai-benchmark"]["apps"]["ai-benchmark-worker"]
    missing = copy.deepcopy(outputs)
    del missing["services"]["ai-benchmark"]["apps"]["ai-benchmark-worker"]["publicUrl"]
    assert any("'publicUrl' is a required property" in e for e in _errors(missing))
    wrong = copy.deepcopy(outputs)
    wrong["services"]["ai-benchmark"]["apps"]["ai-benchmark-worker"]["url"] = 8000
    assert _errors(wrong)
    assert worker["publicUrl"] is None  # present, null: the worker is not public


def test_what_a_stack_does_not_have_is_null_not_absent(tmp_path):
    """A stack without monitoring, log stack or databases and with services disabled keeps every key."""
    without = {"ai-benchmark", "agent-skeptic-bench", "cad-ml-platform", "platform"}
    out = tmp_path / "render"
    run = run_program(
        "prod",
        overrides={
            "ai-platform:addons": {"monitoring": False},
            "ai-platform:logging": {"enabled": False},
            "ai-platform:services": {name: {"enabled": False} for name in without},
            # prod gives these up only when it says so (settings/data_loss.py)
            "ai-platform:acknowledgeDataLoss": [
                "addons.monitoring",
                "logging.enabled",
                *(f"services.{n}.enabled" for n in sorted(without)),
            ],
        },
    )
    write_render(run, out)
    outputs = json.loads((out / "outputs.json").read_text())
    assert _errors(outputs) == []
    assert outputs["monitoring"] is None
    assert outputs["backupBucket"] is None
    assert {name for name, service in outputs["services"].items() if service is None} == without
    docc2context = outputs["services"]["docc2context"]
    assert docc2context["database"] is None
    assert docc2context["redis"]["secretName"] == "redis-secret"


def _irsa_annotations(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "eks.amazonaws.com/role-arn":
                yield item
            yield from _irsa_annotations(item)
    elif isinstance(value, list):
        for item in value:
            yield from _irsa_annotations(item)


def test_the_backup_roles_are_the_irsa_roles_the_database_and_its_jobs_assume():
    run = program_run("prod")
    database = run.outputs["services"]["cad-ml-platform"]["database"]
    assumed = {
        arn
        for r in run.registrations
        if (r.inputs.get("metadata") or {}).get("namespace") == "cad-ml-platform"
        for arn in _irsa_annotations(r.inputs)
    }
    assert set(database["backupRoleArns"].values()) == assumed
    assert database["backupRoleArns"]["walArchiver"].endswith(":role/ai-platform-prod-cad-ml-platform-wal")


def test_secret_outputs_are_exactly_the_ones_the_contract_marks_and_no_output_carries_a_secret():
    declared = {key for key, spec in SCHEMA["properties"].items() if spec.get("x-pulumi-secret")}
    secrets = secret_values("prod")
    run = program_run("prod", secrets=secrets)
    assert run.secret_outputs == declared
    outputs = json.dumps(run.outputs, default=str)
    assert not [value for value in secrets.values() if value in outputs]
    assert "generated-" not in outputs  # the mocks' generated passwords


# --- the README's StackReference example --------------------------------------------------------------


def readme_example() -> str:
    """The Python block between the stackreference-example markers of the README."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("<!-- BEGIN stackreference-example -->", 1)[1].split("<!-- END stackreference-example")[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README has no python block between the stackreference-example markers"
    return match.group(1)


class ConsumerMocks(PlatformMocks):
    """A consumer's stack: its StackReference to ai-platform returns what this program exported."""

    def __init__(self, published: dict[str, tuple[dict[str, Any], set[str]]]) -> None:
        super().__init__()
        self.published = published

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if args.typ == "pulumi:pulumi:StackReference":
            outputs, secret = self.published[args.inputs.get("name", args.name)]
            return f"{args.name}-id", {"name": args.name, "outputs": outputs, "secretOutputNames": sorted(secret)}
        return super().new_resource(args)


def run_consumer(code: str, stack: str) -> tuple[dict[str, Any], set[str]]:
    """Run CODE as the program of a consumer's STACK; returns its exports and which of them are secret."""
    published = {
        f"{ORGANIZATION}/ai-platform/{s}": (program_run(s).outputs, program_run(s).secret_outputs) for s in STACKS
    }
    mocks = ConsumerMocks(published)
    pulumi.runtime.settings.reset_options(project="consumer", stack=stack)
    pulumi.runtime.set_mocks(mocks, project="consumer", stack=stack, preview=False)
    run_to_completion(lambda: exec(compile(code, "consumer/__main__.py", "exec"), {"__name__": "__main__"}))
    return resolve_stack_outputs()


@pytest.mark.parametrize("stack", STACKS)
def test_the_readme_stackreference_example_reads_this_programs_outputs(stack):
    values, secret = run_consumer(readme_example(), stack)
    services = program_run(stack).outputs["services"]
    cad_ml = services["cad-ml-platform"]
    assert values == {
        "cadMlApiUrl": cad_ml["apps"]["cad-ml-platform"]["url"],
        "cadMlDatabaseSecret": {"namespace": "cad-ml-platform", "name": cad_ml["database"]["secretName"]},
        "backupBucket": program_run(stack).outputs["backupBucket"]["name"],
    }
    assert values["cadMlApiUrl"] == "http://cad-ml-platform.cad-ml-platform.svc.cluster.local:8000"
    assert secret == set()


def test_the_readme_example_is_a_whole_program(tmp_path: Path):
    """It compiles on its own (a team copies it as its `__main__.py`)."""
    compile(readme_example(), str(tmp_path / "__main__.py"), "exec")
