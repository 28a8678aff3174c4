"""`python -m tools.diff` on real renders of the program: equal, changed, added/removed, replacements, secrets
(X-14: a reviewable diff without any cloud credential)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_random as random
import pytest

from tests.support.program import SERVICES, retired, secret_values, stack_services
from tests.support.runtime import program_run, when_registered
from tests.support.shared import folder_once
from tools import diff
from tools.mock_runtime import ProgramRun
from tools.render import write_render

SECRETS = secret_values("prod")
"""A distinctive value for each of prod's secrets."""


def _services(edit) -> dict[str, Any]:
    services = stack_services("prod")
    edit(services)
    return services


def _render(tmp_path_factory, name: str, **kwargs) -> Path:
    """prod rendered with KWARGS for `program_run`, once per test session."""
    private = tmp_path_factory.getbasetemp()
    return folder_once(name, lambda out: write_render(program_run("prod", **kwargs), out), private)


def _app(services: dict, service: str, app: str) -> dict:
    return services.setdefault(service, {}).setdefault("apps", {}).setdefault(app, {})


@pytest.fixture(scope="module")
def base(rendered) -> Path:
    return rendered["prod"]


@pytest.fixture(scope="module")
def heads(tmp_path_factory) -> dict[str, Path]:
    """prod rendered again: as committed but for its secrets' values; with a field changed in place and a
    cache grown (a replacement); and with fewer objects."""

    def debug_logging_and_a_bigger_cache(services):
        _app(services, "docc2context", "docc2context-api")["env"] = {"LOG_LEVEL": "debug"}
        services.setdefault("docc2context", {})["cache"] = {"storageSize": "20Gi"}

    return {
        "same": _render(tmp_path_factory, "diff-same", secrets=SECRETS),
        "changed": _render(
            tmp_path_factory, "diff-changed", overrides={SERVICES: _services(debug_logging_and_a_bigger_cache)}
        ),
        "fewer": _render(tmp_path_factory, "diff-fewer", overrides=retired("prod", "docc2context")),
    }


def _run(capsys, *args: Path | str) -> tuple[int, str]:
    code = diff.main([str(a) for a in args])
    return code, capsys.readouterr().out


def test_two_renders_of_the_same_stack_are_equal(base, heads, capsys):
    """The second render differs from the first only by its secrets' values, which no render holds."""
    code, out = _run(capsys, base, heads["same"])
    assert code == 0
    assert out.startswith("No differences")


def _replacements(out: str) -> str:
    """The diff's Replacements section."""
    return out.split("Replacements", 1)[1].split("\n\n", 1)[0] if "Replacements" in out else ""


def test_a_changed_field_is_shown_on_its_object(base, heads, capsys):
    code, out = _run(capsys, base, heads["changed"])
    assert code == 1
    assert "0 added, 0 removed, 3 changed, 1 replaced" in out  # the one replacement is the cache's (below)
    assert "~ Deployment docc2context/docc2context-api\n" in out  # an update in place: no [REPLACE]
    assert '    spec.template.spec.containers[docc2context-api].env[LOG_LEVEL].value: (absent) -> "debug"' in out
    replaced = [line.strip() for line in _replacements(out).splitlines() if line.strip().startswith("!!")]
    assert [line.split(":")[0] for line in replaced] == ["!! StatefulSet docc2context/redis"]


def test_removed_and_added_objects_are_listed_both_ways(base, heads, capsys):
    code, out = _run(capsys, base, heads["fewer"])
    assert code == 1
    assert "- Deployment docc2context/docc2context-api\n" in out
    assert "- Namespace docc2context\n" in out
    assert "+ Deployment" not in out
    assert "services.docc2context" in out  # its outputs are gone too

    code, out = _run(capsys, heads["fewer"], base)
    assert code == 1
    assert "+ Deployment docc2context/docc2context-api\n" in out
    assert "- Deployment" not in out


def test_an_immutable_field_is_called_out_as_a_replacement_that_deletes_first(base, heads, capsys):
    code, out = _run(capsys, base, heads["changed"])
    assert code == 1
    replacements = _replacements(out)
    assert "!! StatefulSet docc2context/redis: deleted before it is created" in replacements
    assert "spec.volumeClaimTemplates[0].spec.resources.requests.storage" in replacements
    assert "~ StatefulSet docc2context/redis [REPLACE]" in out


def test_a_secret_never_appears_in_the_diff(base, heads, capsys):
    code, out = _run(capsys, base, heads["same"])
    resources = (heads["same"] / "resources.json").read_text()
    assert not [value for value in SECRETS.values() if value in out or value in resources]
    assert code == 0  # the renders mask every secret, so new secret values show no difference


def test_the_markdown_summary_keeps_the_headline_and_cuts_the_body(base, heads, capsys):
    code, out = _run(capsys, base, heads["fewer"], "--markdown", "--max-lines", "5")
    assert code == 1
    assert out.startswith("### Render diff: 0 added, ")
    assert "more lines in the full diff (artifact)" in out
    body = out.split("```diff\n", 1)[1].split("```", 1)[0]
    assert len(body.splitlines()) == 5


def test_a_directory_that_is_no_render_exits_2(base, tmp_path, capsys):
    code = diff.main([str(base), str(tmp_path)])
    assert code == 2
    assert "is not a render" in capsys.readouterr().err


# --- hand-made renders for what the program never declares -------------------------------------------


def _write(root: Path, resources: list[dict], outputs: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "resources.json").write_text(json.dumps(resources))
    (root / "outputs.json").write_text(json.dumps(outputs or {}))
    return root


def _secret(urn: str, value: str) -> dict:
    inputs = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}}
    return {"urn": urn, "type": "kubernetes:core/v1:Secret", "name": "s", "inputs": {**inputs, "data": {"k": value}}}


def test_secret_data_is_masked_even_when_a_render_holds_it_in_plain_text(tmp_path, capsys):
    urn = "urn:pulumi:prod::ai-platform::kubernetes:core/v1:Secret::s"
    before = _write(tmp_path / "a", [])
    after = _write(tmp_path / "b", [_secret(urn, "cGxhaW4tdGV4dA==")])
    code, out = _run(capsys, before, after)
    assert code == 1
    assert "+ Secret n/s" in out
    assert "cGxhaW4tdGV4dA==" not in out
    assert '"k": "[secret]"' in out


def test_a_move_with_an_alias_is_no_change_and_one_without_is_a_replacement(tmp_path, capsys):
    old = "urn:pulumi:prod::ai-platform::kubernetes:core/v1:Secret::s"
    new = "urn:pulumi:prod::ai-platform::ai-platform:x:X$kubernetes:core/v1:Secret::s"
    before = _write(tmp_path / "a", [_secret(old, "x")])
    aliased = _write(tmp_path / "b", [{**_secret(new, "x"), "aliases": [old]}])
    unaliased = _write(tmp_path / "c", [_secret(new, "x")])
    assert _run(capsys, before, aliased)[0] == 0
    code, out = _run(capsys, before, unaliased)
    assert code == 1
    assert "!! Secret n/s: deleted and created again: its URN changed without an alias" in out


def test_a_replace_on_changes_field_forces_a_replacement(tmp_path, capsys):
    urn = "urn:pulumi:prod::ai-platform::aws:iam/role:Role::r"

    def role(policy: str) -> dict:
        inputs = {"name": "r", "assumeRolePolicy": policy}
        return {"urn": urn, "type": "aws:iam/role:Role", "name": "r", "inputs": inputs}

    before = _write(tmp_path / "a", [role("{}")])
    plain = _write(tmp_path / "b", [role('{"v": 1}')])
    forced = _write(tmp_path / "c", [{**role('{"v": 1}'), "replaceOnChanges": ["assumeRolePolicy"]}])
    assert "Replacements" not in _run(capsys, before, plain)[1]
    out = _run(capsys, before, forced)[1]
    assert f"!! {urn}: deleted before it is created; forced by inputs.assumeRolePolicy" in out


@pulumi.runtime.test
def test_a_render_records_replace_on_changes_for_the_diff(mock_runtime, tmp_path):
    password = random.RandomPassword(
        "p", random.RandomPasswordArgs(length=8), opts=pulumi.ResourceOptions(replace_on_changes=["length"])
    )

    def check(registrations):
        write_render(ProgramRun("prod", registrations, {}, set(), []), tmp_path / "render")
        [entry] = json.loads((tmp_path / "render" / "resources.json").read_text())
        assert entry["replaceOnChanges"] == ["length"]

    return when_registered(mock_runtime, [password], check)
