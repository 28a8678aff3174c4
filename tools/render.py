"""Offline render of a stack: `python -m tools.render STACK --out DIR`.

Runs `__main__.py` unchanged under Pulumi's mock runtime with the stack's config (project defaults,
then `Pulumi.STACK.yaml`, secrets replaced by placeholders) and writes what the providers would
receive:

  DIR/manifests/<namespace or _cluster>/<Kind>-<name>.yaml   every Kubernetes object, secrets masked
  DIR/patches/<namespace>/<Kind>-<name>.yaml                  fields patched into objects others create
  DIR/helm/<release>.yaml                                     chart, version, repository, namespace, values
  DIR/resources.json                                          every resource with its options and aliases
  DIR/outputs.json                                            stack outputs, secrets masked

Exits 2 with the settings error (and writes nothing) when the config is invalid.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import yaml
from pulumi.runtime import rpc

from settings import PROJECT, STACKS
from tools import stack_config
from tools.mock_runtime import ROOT, ProgramRun, Registration, load_stack_config, one_shot, run_program

MASK = "[secret]"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def clean(value: Any) -> Any:
    """Provider-ready value: secrets masked, whole floats as integers (the mock runtime sends floats)."""
    if rpc.is_rpc_secret(value):
        return MASK
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def manifest(registration: Registration) -> dict[str, Any]:
    """The object as the provider would send it, keys in a stable order, Secret values masked."""
    doc = clean(registration.inputs)
    if doc.get("kind") == "Secret":
        for field in ("data", "stringData"):
            if field in registration.inputs:
                doc[field] = {key: MASK for key in _unwrap(registration.inputs[field])}
    head = {key: _sorted(doc.pop(key)) for key in ("apiVersion", "kind", "metadata") if key in doc}
    return {**head, **_sorted(doc)}


def _unwrap(value: Any) -> Any:
    return value["value"] if rpc.is_rpc_secret(value) else value


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def is_kubernetes_object(registration: Registration) -> bool:
    """A whole object the program owns (not a Helm release, not a patch of an object something else created)."""
    return _is_kubernetes(registration) and not is_patch(registration)


def is_patch(registration: Registration) -> bool:
    """A server-side apply patch of a few fields of an object created by someone else (`<Kind>Patch`)."""
    return _is_kubernetes(registration) and registration.type.endswith("Patch")


def _is_kubernetes(registration: Registration) -> bool:
    return (
        registration.custom
        and registration.type.startswith("kubernetes:")
        and registration.type != HELM_RELEASE
        and "kind" in registration.inputs
    )


def write_render(run: ProgramRun, out: Path) -> None:
    """RUN's render files in OUT, which holds nothing else afterwards."""
    files = _files(run)
    if out.exists():
        shutil.rmtree(out)
    for folder in {out / "manifests", out / "helm"} | {(out / path).parent for path in files}:
        folder.mkdir(parents=True, exist_ok=True)
    for path, content in files.items():
        (out / path).write_bytes(content)


def _files(run: ProgramRun) -> dict[Path, bytes]:
    """Every render file of RUN: its path in the render folder, and its content."""
    files: dict[Path, bytes] = {}

    def add(path: Path, content: bytes) -> None:
        if path in files:
            raise RuntimeError(f"two objects render to {path}")
        files[path] = content

    for registration in run.registrations:
        if is_kubernetes_object(registration) or is_patch(registration):
            doc = manifest(registration)
            add(_manifest_path(registration, doc), to_yaml(doc).encode())
        elif registration.type == HELM_RELEASE:
            release = helm_release(registration)
            add(Path("helm", f"{release['name']}.yaml"), to_yaml(release).encode())
    add(Path("resources.json"), _json([_resource(r) for r in sorted(run.registrations, key=lambda r: r.urn)]))
    add(Path("outputs.json"), _json({k: MASK if k in run.secret_outputs else clean(v) for k, v in run.outputs.items()}))
    return files


def _manifest_path(registration: Registration, doc: dict[str, Any]) -> Path:
    """`manifests/<namespace or _cluster>/<Kind>-<name>.yaml`, or under `patches/` for a patch."""
    meta = doc.get("metadata") or {}
    root = "patches" if is_patch(registration) else "manifests"
    name = meta.get("name") or registration.name
    return Path(root, meta.get("namespace") or "_cluster", f"{doc['kind']}-{name}.yaml")


def _resource(r: Registration) -> dict[str, Any]:
    """One entry of `resources.json`: the resource with its options and aliases."""
    return {
        "urn": r.urn,
        "type": r.type,
        "name": r.name,
        "parent": r.parent or None,
        "inputs": clean(r.inputs),
        "protect": r.protect,
        "aliases": r.aliases,
        "ignoreChanges": r.ignore_changes,
        "replaceOnChanges": sorted(r.replace_on_changes),
        "deleteBeforeReplace": r.delete_before_replace,
        "retainOnDelete": r.retain_on_delete,
        "dependsOn": sorted(set(r.dependencies)),
    }


def _json(value: Any) -> bytes:
    """VALUE as `json.dumps(value, indent=2, sort_keys=True)` writes it (UTF-8 for non-ASCII), twenty times faster."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


def to_yaml(doc: Any) -> str:
    """DOC as a render file: block style, keys in DOC's order, through libyaml (PyYAML's C emitter, in the locked
    wheel) since the Python emitter would take a quarter of the render."""
    return yaml.dump(doc, Dumper=yaml.CSafeDumper, sort_keys=False)


def helm_release(registration: Registration) -> dict[str, Any]:
    """A Helm release as `helm/<release>.yaml` holds it: chart, version, repository, namespace, values."""
    inputs = clean(registration.inputs)
    release = {
        "name": inputs.get("name") or registration.name,
        "chart": inputs.get("chart"),
        "version": inputs.get("version"),
        "repository": (inputs.get("repositoryOpts") or {}).get("repo"),
        "namespace": inputs.get("namespace"),
        "values": inputs.get("values") or {},
    }
    release["values"] = _sorted(release["values"])  # stable across runs, so two renders diff cleanly
    return release


def summary(run: ProgramRun) -> str:
    by_type = Counter(r.type for r in run.registrations)
    by_urn = run.by_urn()
    by_component = Counter(
        by_urn[r.parent].type if r.parent in by_urn else "(stack)" for r in run.registrations if r.custom
    )
    lines = [f"stack {run.stack}: {len(run.registrations)} resources"]
    lines += ["  by type:"] + [f"    {n:4d}  {t}" for t, n in sorted(by_type.items())]
    lines += ["  by component:"] + [f"    {n:4d}  {t}" for t, n in sorted(by_component.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", choices=STACKS)
    parser.add_argument("--out", type=Path, default=None, help="output directory (default build/render/STACK)")
    # The same edits `pulumi config set` makes, without touching the stack file.
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="as `pulumi config set KEY VALUE` (text)"
    )
    parser.add_argument(
        "--path", action="append", default=[], metavar="KEY.PATH=VALUE", help="as `pulumi config set --path`"
    )
    parser.add_argument("--json", action="append", default=[], metavar="KEY=JSON", help="as `pulumi config set --json`")
    parser.add_argument("--unset", action="append", default=[], metavar="KEY", help="as `pulumi config rm KEY`")
    args = parser.parse_args(argv)
    out = args.out or ROOT / "build" / "render" / args.stack

    import settings  # the program's own module

    try:
        run = run_program(args.stack, values=_edited_stack_config(args))
    except (settings.SettingsError, stack_config.ConfigError) as error:
        print(f"error: {error}" if isinstance(error, stack_config.ConfigError) else error, file=sys.stderr)
        return 2
    write_render(run, out)
    print(summary(run))
    print(f"rendered to {out}")
    return 0


def _edited_stack_config(args: argparse.Namespace) -> dict[str, Any]:
    values = load_stack_config(args.stack)
    edits = [(item, False, False) for item in args.set] + [(item, True, False) for item in args.path]
    edits += [(item, False, True) for item in args.json]
    for item, path, as_json in edits:
        key, _, text = item.partition("=")
        stack_config.config_set(values, PROJECT, stack_config.ConfigSet(key, text, path=path, json=as_json))
    for key in args.unset:
        values.pop(stack_config.qualified(PROJECT, key), None)
    return values


if __name__ == "__main__":
    sys.exit(one_shot(main))
