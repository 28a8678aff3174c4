"""Offline diff of two renders: `python -m tools.diff BASE HEAD [--markdown]` (X-14).

BASE and HEAD are directories written by `python -m tools.render`. Resources are matched by URN (or by an
alias of the head resource: a move that keeps its deployed state is no change). Kubernetes objects are named
`Kind namespace/name`, every other resource by its URN. Prints what is added, removed and changed with a
per-field diff, Secret values masked, and calls out replacements: changes the engine cannot apply in place
(an immutable Kubernetes field, a physical name, a provider's force-new input, a `replaceOnChanges` field).
When the physical name stays the same, a replacement deletes the live object before the new one exists.

Exits 0 when both renders declare the same thing, 1 when they differ, 2 on unusable input.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MASK = "[secret]"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET_FIELDS = ("data", "stringData", "binaryData")
_ABSENT = object()

# Kubernetes fields the API server refuses to change in place: pulumi-kubernetes replaces the object. Paths
# are prefixes in the notation of `flatten` below.
IMMUTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec.selector",),
    "ReplicaSet": ("spec.selector",),
    "DaemonSet": ("spec.selector",),
    "StatefulSet": ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates", "spec.podManagementPolicy"),
    "Job": ("spec.selector", "spec.template", "spec.completionMode"),
    "PersistentVolumeClaim": (
        "spec.accessModes",
        "spec.storageClassName",
        "spec.volumeMode",
        "spec.volumeName",
        "spec.selector",
        "spec.dataSource",
    ),
    "Service": ("spec.clusterIP",),
    "RoleBinding": ("roleRef",),
    "ClusterRoleBinding": ("roleRef",),
}
KUBERNETES_IDENTITY = ("apiVersion", "kind", "metadata.name", "metadata.namespace")

# Inputs a provider cannot update in place (its force-new inputs) for the resource types this program uses.
FORCE_NEW: dict[str, tuple[str, ...]] = {
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion"),
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    "random:index/randomPassword:RandomPassword": (
        "length",
        "lower",
        "upper",
        "numeric",
        "special",
        "minLower",
        "minUpper",
        "minNumeric",
        "minSpecial",
        "overrideSpecial",
        "keepers",
    ),
    HELM_RELEASE: ("name", "namespace"),
    "pulumi:providers:kubernetes": ("clusterIdentifier",),
}
# Every other S3 sub-resource (versioning, encryption, ...) belongs to one bucket: changing it moves it.
S3_BUCKET_SETTING = ("bucket", "expectedBucketOwner")


@dataclass(frozen=True)
class Resource:
    """One registered resource of a render, as the diff sees it."""

    urn: str
    type: str
    label: str
    """`Kind namespace/name` for a Kubernetes object, the URN otherwise."""
    body: dict[str, Any]
    """What is compared: the Kubernetes object, or `inputs`, `protect`, `retainOnDelete`."""
    kind: str | None = None
    """The Kubernetes kind, None for other resources."""
    aliases: tuple[str, ...] = ()
    replace_on_changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any


@dataclass
class Change:
    base: Resource
    head: Resource
    fields: list[FieldChange]
    replaced_by: list[str] = field(default_factory=list)
    """The fields that force a replacement."""
    delete_first: bool = False
    """The replacement keeps the physical name: the old object is deleted before the new one is created."""


@dataclass
class RenderDiff:
    added: list[Resource]
    removed: list[Resource]
    changed: list[Change]
    outputs: list[FieldChange]

    @property
    def equal(self) -> bool:
        return not (self.added or self.removed or self.changed or self.outputs)

    @property
    def unaliased_moves(self) -> list[tuple[Resource, Resource]]:
        """A Kubernetes object removed under one URN and added under another, without an alias: the engine
        deletes and creates it (pulumi-kubernetes >= 4.29 refuses the create while the old one exists)."""
        removed = {r.label: r for r in self.removed if r.kind is not None}
        return [(removed[r.label], r) for r in self.added if r.label in removed]

    @property
    def replacements(self) -> list[Change]:
        return [change for change in self.changed if change.replaced_by]


class RenderError(Exception):
    """A directory is not a render."""


# --- loading ----------------------------------------------------------------------------------------


def load_render(root: Path) -> tuple[dict[str, Resource], dict[str, Any]]:
    """The resources of a render by URN, and its stack outputs."""
    resources_file, outputs_file = root / "resources.json", root / "outputs.json"
    if not resources_file.is_file() or not outputs_file.is_file():
        raise RenderError(f"{root} is not a render: resources.json and outputs.json expected (python -m tools.render)")
    try:
        raw = json.loads(resources_file.read_text())
        outputs = json.loads(outputs_file.read_text())
    except json.JSONDecodeError as error:
        raise RenderError(f"{root}: {error}") from error
    return {stackless(entry["urn"]): _resource(entry) for entry in raw}, outputs


def stackless(urn: str) -> str:
    """URN without its stack (`urn:pulumi:prod::project::...` -> `project::...`): renders of two stacks compare
    resource by resource."""
    return urn.split("::", 1)[1] if urn.startswith("urn:pulumi:") and "::" in urn else urn


def _resource(entry: dict[str, Any]) -> Resource:
    inputs = entry.get("inputs") or {}
    aliases = tuple(_alias_urn(a) for a in entry.get("aliases") or ())
    replace_on_changes = tuple(entry.get("replaceOnChanges") or ())
    if entry["type"].startswith("kubernetes:") and entry["type"] != HELM_RELEASE and "kind" in inputs:
        meta = inputs.get("metadata") or {}
        where = f"{meta['namespace']}/" if meta.get("namespace") else ""
        return Resource(
            urn=entry["urn"],
            type=entry["type"],
            label=f"{inputs['kind']} {where}{meta.get('name', entry['name'])}",
            body={**mask_secret_data(inputs), **_options(entry)},
            kind=inputs["kind"],
            aliases=aliases,
            replace_on_changes=replace_on_changes,
        )
    return Resource(
        urn=entry["urn"],
        type=entry["type"],
        label=entry["urn"],
        body={"inputs": inputs, **_options(entry)},
        aliases=aliases,
        replace_on_changes=replace_on_changes,
    )


def _alias_urn(alias: Any) -> str:
    return alias if isinstance(alias, str) else alias.get("urn", "")


def _options(entry: dict[str, Any]) -> dict[str, Any]:
    """The options a reviewer must see change; shown beside the object, under `pulumi:`."""
    options = {"protect": bool(entry.get("protect")), "retainOnDelete": bool(entry.get("retainOnDelete"))}
    return {"pulumi:": options} if any(options.values()) else {}


def mask_secret_data(obj: dict[str, Any]) -> dict[str, Any]:
    """A Kubernetes object with every value of a Secret's data masked, whatever the render did."""
    if obj.get("kind") != "Secret":
        return obj
    masked = dict(obj)
    for key in SECRET_FIELDS:
        if isinstance(obj.get(key), dict):
            masked[key] = dict.fromkeys(obj[key], MASK)
        elif key in obj:
            masked[key] = MASK
    return masked


# --- comparing --------------------------------------------------------------------------------------


def diff_renders(base_dir: Path, head_dir: Path) -> RenderDiff:
    base, base_outputs = load_render(base_dir)
    head, head_outputs = load_render(head_dir)
    matched: dict[str, str] = {}  # head URN -> base URN
    for urn, resource in head.items():
        if urn in base:
            matched[urn] = urn
        else:
            moved_from = next((stackless(a) for a in resource.aliases if stackless(a) in base), None)
            if moved_from:
                matched[urn] = moved_from
    base_matched = set(matched.values())
    changed = []
    for head_urn, base_urn in sorted(matched.items(), key=lambda item: head[item[0]].label):
        change = compare(base[base_urn], head[head_urn])
        if change.fields:
            changed.append(change)
    return RenderDiff(
        added=sorted((r for urn, r in head.items() if urn not in matched), key=lambda r: r.label),
        removed=sorted((r for urn, r in base.items() if urn not in base_matched), key=lambda r: r.label),
        changed=changed,
        outputs=field_changes(base_outputs, head_outputs),
    )


def compare(base: Resource, head: Resource) -> Change:
    fields = field_changes(base.body, head.body)
    triggers = _replacement_triggers(head)
    forced = [f.path for f in fields if any(_under(f.path, t) for t in triggers)]
    names = _name_fields(head)
    keeps_name = bool(names) and not any(_under(path, n) for path in forced for n in names)
    return Change(base, head, fields, forced, delete_first=bool(forced) and keeps_name)


def _name_fields(resource: Resource) -> tuple[str, ...]:
    """Where the physical name is: a replacement that keeps it must delete the old object first."""
    if resource.kind is not None:
        return ("metadata.name", "metadata.namespace")
    inputs = resource.body.get("inputs") or {}
    return tuple(f"inputs.{key}" for key in ("bucket", "name") if key in inputs)


def _replacement_triggers(resource: Resource) -> tuple[str, ...]:
    if resource.kind is not None:
        return KUBERNETES_IDENTITY + IMMUTABLE_FIELDS.get(resource.kind, ()) + _immutable_data(resource)
    paths = FORCE_NEW.get(resource.type) or (S3_BUCKET_SETTING if resource.type.startswith("aws:s3/") else ())
    return tuple(f"inputs.{p}" for p in (*paths, *resource.replace_on_changes))


def _immutable_data(resource: Resource) -> tuple[str, ...]:
    return SECRET_FIELDS if resource.body.get("immutable") is True else ()


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def field_changes(before: Any, after: Any) -> list[FieldChange]:
    """Every leaf that differs, by path (`spec.template.spec.containers[api].image`)."""
    old, new = dict(flatten(before)), dict(flatten(after))
    paths = sorted(set(old) | set(new))
    return [
        FieldChange(path, old.get(path, _ABSENT), new.get(path, _ABSENT))
        for path in paths
        if old.get(path, _ABSENT) != new.get(path, _ABSENT)
    ]


def flatten(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Leaves of VALUE by path; list items that have a `name` are addressed by it, so an insertion does not
    shift every later item."""
    if isinstance(value, dict) and value:
        for key in value:
            yield from flatten(value[key], f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and value:
        names = [item.get("name") if isinstance(item, dict) else None for item in value]
        by_name = all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
        for index, item in enumerate(value):
            yield from flatten(item, f"{path}[{names[index] if by_name else index}]")
    else:
        yield path, value


# --- printing ---------------------------------------------------------------------------------------


def render_text(diff: RenderDiff, base: str, head: str) -> str:
    """The whole diff, plain text (also the body of the Markdown report)."""
    if diff.equal:
        return f"No differences between {base} and {head}.\n"
    lines = [f"{base} -> {head}: {headline(diff)}", ""]
    if diff.replacements or diff.unaliased_moves:
        lines.append("Replacements (the engine cannot update these in place):")
        for change in diff.replacements:
            how = "deleted before it is created" if change.delete_first else "created anew, then the old one deleted"
            lines.append(f"  !! {change.head.label}: {how}; forced by {', '.join(change.replaced_by)}")
        for old, new in diff.unaliased_moves:
            lines.append(f"  !! {new.label}: deleted and created again: its URN changed without an alias")
            lines.append(f"       from {old.urn}")
            lines.append(f"       to   {new.urn}")
        lines.append("")
    for resource in diff.added:
        lines.append(f"+ {resource.label}")
        lines += _indent(_dump(resource.body), "    + ")
    for resource in diff.removed:
        lines.append(f"- {resource.label}")
        if resource.body.get("pulumi:", {}).get("protect"):
            lines.append("    (protected: the update fails until `protect` is lifted)")
    for change in diff.changed:
        moved = f" (moved from {change.base.urn})" if stackless(change.base.urn) != stackless(change.head.urn) else ""
        lines.append(f"~ {change.head.label}{moved}{' [REPLACE]' if change.replaced_by else ''}")
        for item in change.fields:
            lines += _field_lines(item)
    if diff.outputs:
        lines.append("~ stack outputs")
        for item in diff.outputs:
            lines += _field_lines(item)
    return "\n".join(lines) + "\n"


def headline(diff: RenderDiff) -> str:
    replaced = len(diff.replacements) + len(diff.unaliased_moves)
    counts = [
        f"{len(diff.added)} added",
        f"{len(diff.removed)} removed",
        f"{len(diff.changed)} changed",
        f"{replaced} replaced",
    ]
    if diff.outputs:
        counts.append(f"{len(diff.outputs)} output fields changed")
    return ", ".join(counts)


def render_markdown(diff: RenderDiff, base: str, head: str, max_lines: int) -> str:
    """A job summary: counts, replacements first, then the diff cut at MAX_LINES lines."""
    if diff.equal:
        return f"### Render diff: no changes\n\n`{base}` and `{head}` declare the same resources and outputs.\n"
    text = render_text(diff, base, head).splitlines()
    shown = text[:max_lines]
    parts = [f"### Render diff: {headline(diff)}", ""]
    if diff.replacements or diff.unaliased_moves:
        parts.append("**Replacements** (see the diff below):")
        parts += [f"- `{c.head.label}`: forced by {', '.join(c.replaced_by)}" for c in diff.replacements]
        parts += [f"- `{new.label}`: URN changed without an alias" for _, new in diff.unaliased_moves]
        parts.append("")
    parts += ["```diff", *shown, "```"]
    if len(text) > max_lines:
        parts.append(f"\n_{len(text) - max_lines} more lines in the full diff (artifact)._")
    return "\n".join(parts) + "\n"


def _field_lines(item: FieldChange) -> list[str]:
    if isinstance(item.before, str) and isinstance(item.after, str) and "\n" in item.before + item.after:
        lines = [f"    {item.path}:"]
        body = difflib.unified_diff(item.before.splitlines(), item.after.splitlines(), lineterm="", n=2)
        return lines + [f"      {line}" for line in list(body)[2:]]
    return [f"    {item.path}: {_show(item.before)} -> {_show(item.after)}"]


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    return json.dumps(value, sort_keys=True)


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line for line in text.splitlines()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="render directory of the base (python -m tools.render)")
    parser.add_argument("head", type=Path, help="render directory of the head")
    parser.add_argument("--markdown", action="store_true", help="a Markdown summary instead of the full text")
    parser.add_argument("--max-lines", type=int, default=400, help="diff lines in the Markdown summary")
    args = parser.parse_args(argv)
    try:
        diff = diff_renders(args.base, args.head)
    except RenderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.markdown:
        print(render_markdown(diff, str(args.base), str(args.head), args.max_lines), end="")
    else:
        print(render_text(diff, str(args.base), str(args.head)), end="")
    return 0 if diff.equal else 1


if __name__ == "__main__":
    sys.exit(main())
