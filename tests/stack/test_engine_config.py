"""The Pulumi CLI's config rules, applied offline as `pulumi preview` and `up` apply them (X-01, X-14).

Each rule is shown twice: the committed `Pulumi.yaml` and stack files pass it, and a variant that breaks it
makes the render fail with the CLI's own words.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest

from settings import SettingsError
from tests.support.runtime import ROOT, STACKS, program_run
from tools import stack_config
from tools.mock_runtime import load_project, load_stack_config, run_program, stack_values
from tools.stack_config import ConfigError, ConfigSet, Secure


def _project_with(**declarations: Any) -> dict[str, Any]:
    project = copy.deepcopy(load_project())
    project["config"].update(declarations)
    return project


# rule -> (declarations replacing or adding to the committed project's, the CLI's message)
PROJECT_RULES = {
    "a typed key outside the project's namespace": (
        {"aws:region": {"type": "string", "value": "eu-west-1"}},
        "Configuration key 'aws:region' is not namespaced by the project and should not define a type",
    ),
    "a default outside the project's namespace": (
        {"aws:region": {"default": "eu-west-1"}},
        "Configuration key 'aws:region' is not namespaced by the project and should not define a default value. "
        "Did you mean to use the 'value' attribute instead of 'default'?",
    ),
    "a key outside the project's namespace without a value": (
        {"aws:region": {"description": "region"}},
        "Configuration key 'aws:region' is namespaced and must provide an attribute 'value'",
    ),
    "both a default and a value": (
        {"imageTag": {"type": "string", "default": "1.0", "value": "1.1"}},
        "project config 'imageTag' cannot have both a 'default' and 'value' attribute",
    ),
    "an array without items": (
        {"zones": {"type": "array", "default": ["a"]}},
        "The configuration key 'zones' declares an array but does not specify the underlying type via the 'items'",
    ),
    "a default of the wrong type": (
        {"pinImages": {"type": "boolean", "default": "yes"}},
        "The default value specified for configuration key 'pinImages' is not of the expected type 'boolean'",
    ),
    "a nested schema": (
        {"services": {"properties": {"platform": {}}, "default": {}}},
        "config.services: additional properties ['properties'] are not allowed",
    ),
}


def test_the_committed_project_and_stacks_pass_the_cli_rules():
    project = load_project()
    assert stack_config.project_errors(project) == []
    for stack in STACKS:
        config = stack_config.merge(project, stack, load_stack_config(stack))
        # Optional keys reach the program with their defaults, as the CLI passes them.
        assert config.values["ai-platform:rbac"] == "{}"
        assert config.values["aws:region"] == "eu-west-1"


@pytest.mark.parametrize("rule", PROJECT_RULES)
def test_a_project_the_cli_refuses_to_load_is_refused(rule):
    declarations, message = PROJECT_RULES[rule]
    with pytest.raises(ConfigError) as caught:
        run_program("prod", project=_project_with(**declarations))
    assert message in str(caught.value)


def test_required_keys_missing_from_a_stack_are_listed_in_the_cli_words():
    with pytest.raises(ConfigError) as caught:
        run_program("prod", overrides={"ai-platform:domain": None, "ai-platform:tls": None})
    assert str(caught.value) == "Stack 'prod' is missing configuration values 'domain' and 'tls'"
    with pytest.raises(ConfigError) as caught:
        run_program("prod", overrides={f"ai-platform:{k}": None for k in ("backup", "domain", "tls")})
    assert str(caught.value) == "Stack 'prod' is missing configuration values 'backup', 'domain' and 'tls'"


def test_a_typed_key_of_another_type_is_refused():
    with pytest.raises(ConfigError) as caught:
        run_program("prod", overrides={"ai-platform:protectData": {"enabled": True}})
    assert str(caught.value) == "Stack 'prod' with configuration key 'protectData' must be of type 'boolean'"


def test_a_typed_secret_stored_in_plain_text_is_refused():
    project = _project_with(webhookToken={"type": "string", "secret": True})
    with pytest.raises(ConfigError) as caught:
        run_program("prod", project=project, overrides={"ai-platform:webhookToken": "plain"})
    assert str(caught.value) == "Stack 'prod' with configuration key 'webhookToken' must be encrypted as it's secret"
    encrypted = stack_values("prod", secrets={"ai-platform:webhookToken": "encrypted"})
    merged = stack_config.merge(stack_config.checked_project(project), "prod", encrypted)
    assert merged.values["ai-platform:webhookToken"] == "encrypted"


def test_stack_files_are_yaml_1_2(tmp_path):
    """`no` is a string in YAML 1.2 (the CLI's reading), so it cannot quietly disable a service."""
    text = (
        (ROOT / "Pulumi.staging.yaml")
        .read_text()
        .replace("    docc2context:\n", "    docc2context:\n      enabled: no\n")
    )
    (tmp_path / "Pulumi.staging.yaml").write_text(text)
    values = stack_config.load_stack(tmp_path / "Pulumi.staging.yaml")
    assert values["ai-platform:services"]["docc2context"]["enabled"] == "no"
    with pytest.raises(SettingsError) as caught:
        run_program("staging", values=values)
    assert (
        "ai-platform:services.docc2context.enabled: must be true or false, unquoted (YAML 1.2 reads yes, no, on "
        "and off as text), got 'no'"
    ) in str(caught.value)


def test_an_unquoted_version_is_a_number_to_the_cli(tmp_path):
    """`imageTag: 1.10` unquoted is the float 1.1 for the CLI too: the render deploys what `up` would."""
    text = (ROOT / "Pulumi.staging.yaml").read_text().replace('imageTag: "1.5.0-rc.1"', "imageTag: 1.10")
    (tmp_path / "Pulumi.staging.yaml").write_text(text)
    run = run_program("staging", values=stack_config.load_stack(tmp_path / "Pulumi.staging.yaml"))
    assert _image(run, "docc2context-api").endswith("/docc2context:1.1")


def test_config_set_stores_text_unless_path_or_json_say_otherwise():
    values = load_stack_config("staging")

    def apply(command: str) -> None:
        stack_config.config_set(values, "ai-platform", stack_config.parse_config_set(command))

    apply("pulumi config set imageTag 1.10")
    assert values["ai-platform:imageTag"] == "1.10"
    apply("pulumi config set --path services.docc2context.apps.docc2context-api.maxReplicas 4")
    apply("pulumi config set --path services.docc2context.enabled true")
    apply("pulumi config set --path monitoring.runbookBaseUrl https://runbooks.example.com/0123")
    apply("pulumi config set --path spot.nodeSelector.pool 0123")
    apply('pulumi config set --json rbac \'{"operatorsGroup": "oncall"}\'')
    services = values["ai-platform:services"]["docc2context"]
    assert services["apps"]["docc2context-api"]["maxReplicas"] == 4
    assert services["enabled"] is True
    assert values["ai-platform:spot"]["nodeSelector"]["pool"] == "0123"  # a leading zero stays text
    assert values["ai-platform:rbac"] == {"operatorsGroup": "oncall"}
    run = run_program("staging", values=values)
    assert _image(run, "docc2context-api").endswith("/docc2context:1.10")


def test_a_boolean_key_set_as_text_reads_as_a_boolean():
    values = load_stack_config("prod")
    stack_config.config_set(values, "ai-platform", ConfigSet("pinImages", "false"))
    run = run_program("prod", values=values)
    assert not any(token == "docker:index/getRegistryImage:getRegistryImage" for token, _, _ in run.invokes)


def test_the_render_cli_refuses_what_the_cli_refuses(tmp_path):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "tools.render", "prod", "--out", str(out), "--unset", "domain"]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: Stack 'prod' is missing configuration value 'domain'"
    assert not out.exists()


# --- the README's commands ------------------------------------------------------------------------


def readme_commands() -> list[list[str]]:
    """The README's shell blocks, each as its command lines (comments and blank lines dropped, `&&` split)."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            if current is None and line.strip() in ("```bash", "```sh"):
                current = []
            elif current is not None:
                blocks.append(current)
                current = None
            continue
        if current is not None:
            code = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
            current += [part.strip() for part in code.split("&&") if part.strip()]
    return [block for block in blocks if any(cmd.startswith("pulumi config") for cmd in block)]


def _expand(command: str, variables: dict[str, str]) -> str:
    for name, value in sorted(variables.items(), key=lambda item: -len(item[0])):
        command = command.replace(f"${name}", value)
    return command


def _procedures() -> list[int]:
    """The README's blocks that deploy (`pulumi up`): its release procedures."""
    return [index for index, block in enumerate(readme_commands()) if "pulumi up" in block]


def run_readme(stack: str, procedure: int) -> int:
    """Apply the `pulumi config` commands of the README's blocks up to PROCEDURE (a block's index) to STACK's
    committed stack file, as an operator would type them (a prompted secret gets a value), rendering at each
    `pulumi up` of PROCEDURE and at its end (a config already rendered, such as the one a rollback returns to,
    once a session: `program_run`); returns the number of renders."""
    values = load_stack_config(stack)
    blocks = readme_commands()[: procedure + 1]
    renders = 0

    def up() -> None:
        nonlocal renders
        program_run(stack, values=copy.deepcopy(values), fill_missing_secrets=False)
        renders += 1

    for block in blocks:
        variables = {"STACK": stack}
        for command in block:
            name, equals, value = command.partition("=")
            if equals and name.isidentifier():
                variables[name] = value.split()[0].strip("'\"") if value.split() else ""
                continue
            command = _expand(command, variables)
            if command.startswith("pulumi config set"):
                parsed = stack_config.parse_config_set(command)
                stack_config.config_set(values, "ai-platform", parsed, f"typed-{parsed.key}")
            elif command.startswith("pulumi config rm"):
                words = command.split()[3:]
                stack_config.config_rm(values, "ai-platform", words[-1].strip("'\""), path="--path" in words)
            elif command == "pulumi up" and block is blocks[-1]:
                up()
    up()
    return renders


def test_the_readme_has_its_setup_and_release_procedures():
    assert len(readme_commands()) >= 4, "the README's setup, secrets, blue-green and canary blocks"
    assert len(_procedures()) >= 3, "blue-green, canary and logging procedures"
    assert sum(readme_commands()[index].count("pulumi up") for index in _procedures()) >= 8


@pytest.mark.parametrize("procedure", _procedures(), ids=lambda index: f"block-{index}")
@pytest.mark.parametrize("stack", STACKS)
def test_the_readme_config_commands_render_every_step(stack, procedure):
    """From the committed stack file, the README's setup (cluster, secrets), the procedures before PROCEDURE and
    each of its `pulumi config` steps render, each `pulumi up` included: no secret is filled in by the test
    harness."""
    assert run_readme(stack, procedure) == readme_commands()[procedure].count("pulumi up") + 1


def test_the_readme_secrets_are_what_the_program_asks_for():
    """The README lists exactly the secrets the program can ask for, each with --secret."""
    from services import CATALOG
    from settings import required_secret_keys

    everything_on = {"ai-platform:alerting": {"webhookUrl": "https://hooks.example.com/x"}}
    listed = {
        stack_config.parse_config_set(command).key
        for block in readme_commands()
        for command in block
        if command.startswith("pulumi config set --secret") and "--path" not in command
    }
    assert {f"ai-platform:{key}" for key in listed} == set(required_secret_keys(CATALOG, everything_on))


def _image(run, deployment: str) -> str:
    found = [
        r.inputs["spec"]["template"]["spec"]["containers"][0]["image"]
        for r in run.registrations
        if r.type == "kubernetes:apps/v1:Deployment" and r.inputs["metadata"]["name"] == deployment
    ]
    assert len(found) == 1, deployment
    return found[0]


def test_secure_values_are_marked_secret_for_the_program():
    config = stack_config.merge(
        load_project(), "prod", {**load_stack_config("prod"), "ai-platform:cluster": {"kubeconfig": Secure("kc")}}
    )
    assert "ai-platform:cluster" in config.secret_keys
    assert config.values["ai-platform:cluster"] == '{"kubeconfig":"kc"}'
