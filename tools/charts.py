"""The upstream charts as data of the program: fetch, template, diff, CRD upgrades (X-10).

Under the mock runtime a Helm release is only its values. This module templates the pinned charts with
exactly those values (read from a render's `helm/<release>.yaml`), so the objects the charts create go
through the same checks as the program's own.

    python -m tools.charts fetch                         # every pinned chart into the cache
    python -m tools.charts template prod --out DIR       # every release of a stack, one object per file
    python -m tools.charts diff kube-prometheus-stack --from-version 88.5.3 --to-version 88.6.5
    python -m tools.charts diff kube-prometheus-stack --from-render A --to-render B   # two value sets
    python -m tools.charts crds kube-prometheus-stack --version 88.6.5   # CRDs to apply before an upgrade
    python -m tools.charts figures                       # the README's chart figures

Chart archives (`<chart>-<version>.tgz`) come from the directory `AI_PLATFORM_CHART_DIR` names (an offline
cache), or else are `helm pull`ed from their repository into `.cache/charts`. Helm is `.tools/bin/helm`
(`make tools`) or the one on PATH; it runs with a private home under `.cache/helm`.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

import versions
from settings import STACKS
from tools import markdown
from tools.mock_runtime import ROOT

CHART_DIR_ENV = "AI_PLATFORM_CHART_DIR"
ACCEPTED_FINDINGS = ROOT / "tests" / "conformance" / "chart_findings.yaml"
"""checkov findings in chart objects that no value can fix, with reasons (tests/conformance/test_charts.py)."""
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
CACHE = ROOT / ".cache" / "charts"
HELM_HOME = ROOT / ".cache" / "helm"
KUBE_VERSION = "1.33"
"""The Kubernetes version charts are templated for (the oldest Envoy Gateway 1.9 supports)."""

# Kinds without a namespace; a chart's own custom kinds are looked up in the CRDs it ships.
CLUSTER_SCOPED = {
    "APIService",
    "ClusterRole",
    "ClusterRoleBinding",
    "CSIDriver",
    "CustomResourceDefinition",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "PersistentVolume",
    "PriorityClass",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
}


class ChartsUnavailableError(RuntimeError):
    """Helm or a chart archive is missing; the message says how to provide it."""


class _Loader(yaml.CSafeLoader):
    """YAML 1.1 reads a bare `=` (an enum value in the Prometheus Operator's CRDs) as a special tag."""


_Loader.add_constructor("tag:yaml.org,2002:value", yaml.constructor.SafeConstructor.construct_yaml_str)


def dump(doc: dict[str, Any]) -> str:
    """YAML of one object, keys in their order (libyaml: the CRDs are megabytes)."""
    return yaml.dump(doc, Dumper=yaml.CSafeDumper, sort_keys=False)


def load_all(text: str) -> list[dict[str, Any]]:
    """Every non-empty document of a YAML stream."""
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc]


@dataclass(frozen=True)
class Release:
    """A Helm release as the program declares it."""

    name: str
    chart: str
    """Chart name (an OCI reference's last path segment)."""
    version: str
    repository: str
    """`https://` repository or `oci://` registry path."""
    namespace: str
    values: dict[str, Any]

    @property
    def pin(self) -> versions.ChartPin:
        return versions.ChartPin(self.chart, self.version, self.repository)


def releases(render: Path) -> dict[str, Release]:
    """The Helm releases of a render (`helm/<release>.yaml`), by release name."""
    found = {}
    for path in sorted((render / "helm").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        reference = spec["chart"]
        if reference.startswith("oci://"):
            repository, _, chart = reference.rpartition("/")
        else:
            repository, chart = spec["repository"], reference
        found[spec["name"]] = Release(
            spec["name"], chart, spec["version"], repository, spec["namespace"], spec["values"] or {}
        )
    return found


# --- helm and the chart archives -----------------------------------------------------------------------


def helm() -> str:
    """Path of the helm binary."""
    local = ROOT / ".tools" / "bin" / "helm"
    found = str(local) if local.exists() else shutil.which("helm")
    if not found:
        raise ChartsUnavailableError(
            f"helm is not installed (`make tools` installs it); charts come from {CHART_DIR_ENV}"
        )
    return found


def run_helm(*args: str) -> str:
    env = {
        **os.environ,
        "HELM_CONFIG_HOME": str(HELM_HOME / "config"),
        "HELM_CACHE_HOME": str(HELM_HOME / "cache"),
        "HELM_DATA_HOME": str(HELM_HOME / "data"),
    }
    result = subprocess.run([helm(), *args], capture_output=True, text=True, env=env, timeout=300, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args[:2])} failed:\n{result.stderr.strip()}")
    return result.stdout


def archive(pin: versions.ChartPin) -> Path:
    """The chart archive of PIN: from `$AI_PLATFORM_CHART_DIR`, else the cache (pulled when missing)."""
    configured = os.environ.get(CHART_DIR_ENV)
    if configured:
        path = Path(configured) / pin.archive
        if not path.is_file():
            raise ChartsUnavailableError(f"{path} does not exist ({CHART_DIR_ENV} names a directory of chart archives)")
        return path
    path = CACHE / pin.archive
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        repo = [] if pin.is_oci else ["--repo", pin.repository]
        try:
            run_helm("pull", pin.reference, *repo, "--version", pin.version, "--destination", str(CACHE))
        except RuntimeError as error:
            raise ChartsUnavailableError(
                f"cannot pull {pin.reference} {pin.version} ({error}); set {CHART_DIR_ENV} to a directory of "
                "chart archives"
            ) from error
    return path


def fetch_all() -> list[Path]:
    """Every pinned chart's archive (pulled into the cache when `AI_PLATFORM_CHART_DIR` is unset)."""
    return [archive(pin) for pin in versions.CHARTS]


# --- templating ----------------------------------------------------------------------------------------


def template(release: Release, include_crds: bool = True) -> list[dict[str, Any]]:
    """The objects Helm creates for RELEASE (hooks included), as the chart writes them (`set_namespaces` gives
    the objects without a namespace the release's, as Helm does when it applies them)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as values:
        yaml.safe_dump(release.values, values)
        values.flush()
        text = run_helm(
            "template",
            release.name,
            str(archive(release.pin)),
            *("--namespace", release.namespace, "--values", values.name, "--kube-version", KUBE_VERSION),
            *(["--include-crds"] if include_crds else []),
        )
    return load_all(text)


@dataclass
class StackCharts:
    """Every release of one render, templated."""

    releases: dict[str, Release]
    objects: dict[str, list[dict[str, Any]]]
    """Objects per release name."""

    def all(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(release, object) for every object."""
        for release, docs in self.objects.items():
            for doc in docs:
                yield release, doc

    def crds(self) -> list[dict[str, Any]]:
        return [doc for _, doc in self.all() if doc["kind"] == "CustomResourceDefinition"]

    def write(self, folder: Path, skip_kinds: Iterable[str] = ()) -> Path:
        """One file per object: `<release>/<namespace or _cluster>/<Kind>-<name>.yaml`."""
        for release, doc in self.all():
            if doc["kind"] in skip_kinds:
                continue
            path = folder / release / object_path(doc)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                raise RuntimeError(f"release {release} has two objects {path.relative_to(folder)}")
            path.write_text(dump(doc))
        return folder


def template_render(render: Path) -> StackCharts:
    """Every Helm release of RENDER templated with the values the program passes."""
    found = releases(render)
    objects = {name: template(release) for name, release in found.items()}
    crds = [doc for docs in objects.values() for doc in docs if doc["kind"] == "CustomResourceDefinition"]
    for name, docs in objects.items():
        set_namespaces(docs, found[name].namespace, crds)
    return StackCharts(found, objects)


def set_namespaces(docs: Iterable[dict[str, Any]], namespace: str, crds: Iterable[dict[str, Any]]) -> None:
    """Give namespaced objects without one the release namespace, as Helm does when it applies them."""
    cluster_kinds = CLUSTER_SCOPED | {
        crd["spec"]["names"]["kind"] for crd in crds if crd["spec"].get("scope") == "Cluster"
    }
    for doc in docs:
        if doc["kind"] not in cluster_kinds:
            doc["metadata"].setdefault("namespace", namespace)


def object_path(doc: dict[str, Any]) -> str:
    return f"{doc['metadata'].get('namespace') or '_cluster'}/{doc['kind']}-{doc['metadata']['name']}.yaml"


def object_key(doc: dict[str, Any]) -> str:
    """`apiVersion Kind namespace/name` (no namespace for cluster-scoped objects)."""
    meta = doc["metadata"]
    where = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
    return f"{doc['apiVersion']} {doc['kind']} {where}"


# --- values hygiene ------------------------------------------------------------------------------------

_VALUES_REFERENCE = re.compile(r'\.Values((?:\.[A-Za-z0-9_]+)+)|index\s+\$?\.Values((?:\s+"[^"]+")+)')
# A map consumed whole (rendered, iterated, or made the context) may hold keys the chart never names.
_WHOLE = re.compile(r"\b(toYaml|toJson|toPrettyJson|range|with)\b[^{}]*$")
_MISSING = object()


@dataclass(frozen=True)
class ChartSource:
    """What a chart (or subchart) declares and reads: its default values, the value paths its templates (and
    its subcharts' conditions) reference, and its subcharts by the key that holds their values (alias or name)."""

    defaults: dict[str, Any]
    references: frozenset[tuple[str, ...]]
    consumed: frozenset[tuple[str, ...]]
    """References that render, iterate or enter a map as a whole."""
    subcharts: dict[str, ChartSource]

    def declared(self, path: tuple[str, ...]) -> Any:
        value: Any = self.defaults
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return _MISSING
            value = value[key]
        return value

    def reads(self, path: tuple[str, ...], through: frozenset[tuple[str, ...]] | None = None) -> bool:
        """A template reads PATH, something below it, or a map above it that is in THROUGH (default: the maps
        consumed whole with `toYaml`, `range`, `with`)."""
        above = self.consumed if through is None else through
        return any(ref[: len(path)] == path for ref in self.references) or any(path[: len(ref)] == ref for ref in above)


def _read(archive: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    content = archive.extractfile(member)
    if content is None:
        raise ValueError(f"{member.name} is not a regular file of the archive")
    return content.read().decode(errors="replace")


def chart_source(path: Path) -> ChartSource:
    """The ChartSource of a chart archive, subcharts included."""
    with tarfile.open(path) as archive_file:
        files = {
            member.name: _read(archive_file, member)
            for member in archive_file.getmembers()
            if member.isfile()
            and (member.name.endswith(("/Chart.yaml", "/values.yaml")) or "/templates/" in member.name)
        }
    root = next(name.split("/")[0] for name in files)
    return _source(files, root)


def _source(files: dict[str, str], root: str) -> ChartSource:
    meta = yaml.safe_load(files[f"{root}/Chart.yaml"])
    references: set[tuple[str, ...]] = set()
    consumed: set[tuple[str, ...]] = set()
    for name, text in files.items():
        if not name.startswith(f"{root}/templates/"):
            continue
        for match in _VALUES_REFERENCE.finditer(text):
            dotted, indexed = match.groups()
            reference = tuple(dotted.split(".")[1:]) if dotted else tuple(re.findall(r'"([^"]+)"', indexed))
            references.add(reference)
            action = text[text.rfind("{{", 0, match.start()) : match.start()]
            if _WHOLE.search(action):
                consumed.add(reference)
    dependencies = meta.get("dependencies") or []
    subcharts = {
        dependency.get("alias") or dependency["name"]: _source(files, f"{root}/charts/{dependency['name']}")
        for dependency in dependencies
    }
    for dependency in dependencies:
        references |= {tuple(c.strip().split(".")) for c in (dependency.get("condition") or "").split(",") if c}
    defaults = yaml.safe_load(files.get(f"{root}/values.yaml") or "") or {}
    return ChartSource(defaults, frozenset(references), frozenset(consumed), subcharts)


def values_problems(values: dict[str, Any], source: ChartSource) -> list[str]:
    """Value paths in VALUES that the chart neither declares in values.yaml nor reads in a template, and declared
    ones no template reads (they do nothing). A subchart's values under its key count for the subchart. Below a
    declared scalar, list or empty map anything goes: the chart passes that value through whole."""
    return sorted(f"{'.'.join(path)}: {problem}" for path, problem in _problems(values, [(source, ())], ()))


def _problems(
    values: dict[str, Any], scopes: list[tuple[ChartSource, tuple[str, ...]]], path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], str]]:
    """SCOPES: each chart whose values VALUES may be, with the path its values start at."""
    for key, value in values.items():
        here = (*path, key)
        inner = scopes + [
            (source.subcharts[key], here)
            for source, base in scopes
            if here[len(base) :] == (key,) and key in source.subcharts
        ]
        relative = [(source, here[len(base) :]) for source, base in inner]
        declared = [found for source, rel in relative if (found := source.declared(rel)) is not _MISSING]
        if isinstance(value, dict) and any(isinstance(found, dict) and found for found in declared):
            yield from _problems(value, inner, here)
        elif not declared and not any(source.reads(rel) for source, rel in relative):
            yield here, "neither declared in values.yaml nor read by a template"
        elif declared and not any(source.reads(rel, source.references) for source, rel in relative):
            yield here, "declared, but no template reads it"


# --- figures -------------------------------------------------------------------------------------------


def accepted_findings() -> list[dict[str, Any]]:
    return yaml.safe_load(ACCEPTED_FINDINGS.read_text())


def figures_table(by_stack: dict[str, StackCharts]) -> str:
    """Markdown: per release, the objects its chart creates per stack, of which CRDs and workloads, and the
    checkov findings accepted on its objects (the README's chart figures)."""
    accepted: dict[str, int] = {}
    for entry in accepted_findings():
        for name in entry["objects"]:
            release = name.split("/")[0]
            accepted[release] = accepted.get(release, 0) + 1
    stacks = list(by_stack)
    first = by_stack[stacks[0]]
    header = (
        "release",
        "chart",
        "namespace",
        f"objects ({' / '.join(stacks)})",
        "CRDs",
        "workloads",
        "accepted findings",
    )
    rows = []
    for name, release in sorted(first.releases.items()):
        docs = first.objects[name]
        counts = " / ".join(str(len(by_stack[stack].objects[name])) for stack in stacks)
        crds = sum(doc["kind"] == "CustomResourceDefinition" for doc in docs)
        workloads = sum(doc["kind"] in WORKLOAD_KINDS for doc in docs)
        chart = f"{release.chart} {release.version}"
        rows.append((name, chart, release.namespace, counts, str(crds), str(workloads), str(accepted.get(name, 0))))
    return markdown.table(header, rows)


# --- chart upgrades ------------------------------------------------------------------------------------


def object_diff(before: Iterable[dict[str, Any]], after: Iterable[dict[str, Any]]) -> str:
    """Objects removed, added and changed (a unified diff of each changed object); empty when none."""
    old = {object_key(doc): doc for doc in before}
    new = {object_key(doc): doc for doc in after}
    lines = [f"- removed {key}" for key in sorted(old.keys() - new.keys())]
    lines += [f"+ added {key}" for key in sorted(new.keys() - old.keys())]
    for key in sorted(old.keys() & new.keys()):
        if old[key] != new[key]:
            lines.append(f"~ changed {key}")
            lines += [
                f"    {line}"
                for line in difflib.unified_diff(_text(old[key]), _text(new[key]), "before", "after", lineterm="", n=2)
            ]
    return "\n".join(lines)


def _text(doc: dict[str, Any]) -> list[str]:
    return yaml.safe_dump(doc, sort_keys=True, width=1000).splitlines()


def crds_helm_never_upgrades(release: Release, templated: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The CRDs a chart keeps in `crds/` folders: Helm installs them once and never upgrades them, so a
    chart upgrade must apply them first (`--include-crds` adds exactly these). TEMPLATED: the release's
    objects with CRDs, when already at hand."""
    plain = {object_key(doc) for doc in template(release, include_crds=False)}
    with_crds = templated if templated is not None else template(release)
    return [doc for doc in with_crds if doc["kind"] == "CustomResourceDefinition" and object_key(doc) not in plain]


# --- command line --------------------------------------------------------------------------------------


def _render(stack: str, out: Path) -> Path:
    from tools.mock_runtime import run_program
    from tools.render import write_render

    write_render(run_program(stack), out)
    return out


def _release(render: Path, name: str) -> Release:
    found = releases(render)
    if name not in found:
        raise SystemExit(f"no release {name!r} in {render}; releases: {', '.join(sorted(found))}")
    return found[name]


def _diff(args: argparse.Namespace, tmp: Path) -> int:
    before_render = args.from_render or args.render or _render(args.stack, tmp / "render")
    after_render = args.to_render or before_render
    before = _release(before_render, args.release)
    after = _release(after_render, args.release)
    before = replace(before, version=args.from_version or before.version)
    after = replace(after, version=args.to_version or after.version)
    print(f"--- {before.name} {before.chart} {before.version} (values of {before_render})")
    print(f"+++ {after.name} {after.chart} {after.version} (values of {after_render})")
    print(object_diff(_namespaced(before), _namespaced(after)) or "no object changes")
    return 0


def _namespaced(release: Release) -> list[dict[str, Any]]:
    docs = template(release)
    set_namespaces(docs, release.namespace, [doc for doc in docs if doc["kind"] == "CustomResourceDefinition"])
    return docs


def _crds(args: argparse.Namespace, tmp: Path) -> int:
    release = _release(args.render or _render(args.stack, tmp / "render"), args.release)
    release = replace(release, version=args.version or release.version)
    docs = crds_helm_never_upgrades(release)
    print(f"# CRDs of {release.chart} {release.version} that Helm does not upgrade ({len(docs)})")
    print(yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="every pinned chart archive into the cache")
    for name, help_ in (
        ("template", "template every release of a stack"),
        ("figures", "the README's chart figures (both stacks)"),
        ("diff", "object-level diff of a release between two chart versions or two value sets"),
        ("crds", "the CRDs of a release that Helm does not upgrade, to apply before the upgrade"),
    ):
        command = commands.add_parser(name, help=help_)
        if name == "template":
            command.add_argument("stack", choices=STACKS)
        elif name == "figures":
            continue
        else:
            command.add_argument("release")
            command.add_argument("--stack", choices=STACKS, default="prod", help="whose values (default prod)")
        command.add_argument("--render", type=Path, help="an existing render of that stack (default: render now)")
    commands.choices["template"].add_argument("--out", type=Path, required=True, help="output directory")
    diff = commands.choices["diff"]
    diff.add_argument("--from-version", help="chart version before (default: the pinned one)")
    diff.add_argument("--to-version", help="chart version after (default: the pinned one)")
    diff.add_argument("--from-render", type=Path, help="render whose values come before")
    diff.add_argument("--to-render", type=Path, help="render whose values come after")
    commands.choices["crds"].add_argument("--version", help="chart version (default: the pinned one)")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="charts-") as tmp:
            if args.command == "fetch":
                for path in fetch_all():
                    print(path)
                return 0
            if args.command == "figures":
                by_stack = {stack: template_render(_render(stack, Path(tmp) / stack)) for stack in STACKS}
                print(figures_table(by_stack), end="")
                return 0
            if args.command == "template":
                charts = template_render(args.render or _render(args.stack, Path(tmp) / "render"))
                print(charts.write(args.out))
                return 0
            return {"diff": _diff, "crds": _crds}[args.command](args, Path(tmp))
    except ChartsUnavailableError as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
