"""The render's files: one per object, and a render that would put two objects in one file writes nothing."""

from __future__ import annotations

import pytest

from tools.mock_runtime import ProgramRun, Registration
from tools.render import write_render


def _config_map(name: str, namespace: str, resource_name: str) -> Registration:
    return Registration(
        type="kubernetes:core/v1:ConfigMap",
        name=resource_name,
        urn=f"urn:pulumi:prod::ai-platform::kubernetes:core/v1:ConfigMap::{resource_name}",
        parent="",
        custom=True,
        inputs={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}},
        protect=False,
        retain_on_delete=False,
        dependencies=[],
    )


def _run(*registrations: Registration) -> ProgramRun:
    return ProgramRun("prod", list(registrations), {}, set(), [])


def test_two_objects_that_would_share_a_file_leave_the_last_render_as_it_was(tmp_path):
    """Two objects of one kind, name and namespace would overwrite each other's file: the render stops before it
    touches the folder."""
    out = tmp_path / "render"
    write_render(_run(_config_map("settings", "team", "a"), _config_map("settings", "other", "b")), out)
    before = sorted(path.relative_to(out) for path in out.rglob("*"))
    assert "manifests/other/ConfigMap-settings.yaml" in map(str, before)

    twins = _run(_config_map("settings", "team", "a"), _config_map("settings", "team", "b"))
    with pytest.raises(RuntimeError, match=r"^two objects render to manifests/team/ConfigMap-settings\.yaml$"):
        write_render(twins, out)
    assert sorted(path.relative_to(out) for path in out.rglob("*")) == before
