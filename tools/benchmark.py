"""Benchmark the offline render and size both stacks: `python -m tools.benchmark` (`make bench`; not a timed test,
the figures go in the README's performance section).

Per stack, all measured in this one run, each a median of RUNS:

- render: the wall time (and CPU time, steadier on a shared machine) of the whole `python -m tools.render STACK
  --out DIR` command, the program's modules compiled to bytecode first (compile_program);
- floor: the wall time of a process that only does what no program can avoid: start the interpreter, import
  the SDK modules the render imported (the resource modules too, which the providers' packages load lazily),
  and register the same resources (types, names and inputs, as plain resources without any program around
  them) under the same mock runtime; the ratio render / floor is the program's and the render's own cost.
  "SDK alone" is the same with empty inputs, for reference;
- where the CPU goes: the render's work split in phases in a process of its own (start-up and the SDK's imports,
  the other imports, the program's run, writing the files), beside the floor's (start-up and the SDK's imports, the
  registrations); a phase that imports a module is refused, so no import counts as a run or as writing;
- evaluation: the program's own run, after the imports of its entry modules (the SDK's resource modules it loads
  lazily are imported during the run, and counted), and the peak memory of that process;
- x10: the same evaluation with every service copied into ten renamed sets of namespaces;

then the footprint of both stacks and its monthly cost (tools/footprint.py; the charts must be available).
"""

from __future__ import annotations

import argparse
import compileall
import importlib
import json
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from tools import markdown
from tools.mock_runtime import ROOT, ProgramRun, one_shot, run_program, run_to_completion, start_mock_runtime

T = TypeVar("T")

RUNS = 5
RENDER_PHASES = ("start_up_and_sdk_imports", "imports", "run", "writing")
FLOOR_PHASES = ("start_up_and_sdk_imports", "registrations")
SDK_PACKAGES = ("pulumi", "pulumi_aws", "pulumi_docker", "pulumi_kubernetes", "pulumi_random")
PROGRAM_MODULES = ("components", "services", "settings", "wiring", "tools", "providers.py", "versions.py")


def scale_catalog(factor: int) -> None:
    """Replace the catalog in place with FACTOR renamed copies of every service."""
    from services import CATALOG

    originals = list(CATALOG.values())
    CATALOG.clear()
    for copy in range(factor):
        suffix = f"-{copy}" if copy else ""
        for spec in originals:
            CATALOG[spec.name + suffix] = _renamed(spec, suffix)


def _renamed(spec, suffix: str):
    def moved(namespace: str) -> str:
        return namespace + suffix

    database, cache = spec.database, spec.cache
    return replace(
        spec,
        name=spec.name + suffix,
        namespaces=tuple(map(moved, spec.namespaces)),
        apps=tuple(
            replace(
                a,
                name=a.name + suffix,
                namespace=moved(a.namespace),
                host_label=a.host_label and a.host_label + suffix,
                calls={variable: callee + suffix for variable, callee in a.calls.items()},
            )
            for a in spec.apps
        ),
        secrets=tuple(replace(s, namespaces=tuple(map(moved, s.namespaces))) for s in spec.secrets),
        database=database
        and replace(
            database,
            namespace=moved(database.namespace),
            reader_roles={moved(ns): role for ns, role in database.reader_roles.items()},
        ),
        cache=cache and replace(cache, namespace=moved(cache.namespace)),
        observability=replace(spec.observability, namespace=moved(spec.observability_namespace)),
    )


# --- the child processes -------------------------------------------------------------------------------


def child(stack: str, factor: int, record: Path | None) -> None:
    """Runs in its own process: imports first, then times the program alone. RECORD: where to leave what the
    floor replays (the SDK modules imported, in order, and every registration)."""
    import providers  # noqa: F401 - the program's modules, imported before the clock starts
    import settings  # noqa: F401
    import wiring.platform  # noqa: F401

    if factor > 1:
        scale_catalog(factor)
    started = time.perf_counter()
    run = run_program(stack)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if record:
        write_replay(run, record)
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "resources": len(run.registrations)}))


def write_replay(run: ProgramRun, record: Path) -> None:
    """What the floor and the render in phases replay: every module this process imported, in the order it
    imported them, and the RUN's registrations as plain ones."""
    with record.open("wb") as file:
        pickle.dump({"modules": list(sys.modules), "registrations": [_plain(r) for r in run.registrations]}, file)


def _replay(record: Path) -> dict[str, Any]:
    with record.open("rb") as file:
        return pickle.load(file)


def _import_sdk(modules: list[str]) -> None:
    """Import the SDK's MODULES in their order."""
    for module in modules:
        if module.split(".")[0] in SDK_PACKAGES:
            importlib.import_module(module)


class _Phases:
    """The CPU seconds of each phase of this process, the first counted from the process' start."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = 0.0

    def end(self, phase: str) -> None:
        now = time.process_time()
        self.seconds[phase], self._last = now - self._last, now


def importing_nothing(step: Callable[[], T]) -> T:
    """STEP's result; a step that imports a module would count the import as its own time, so it is refused."""
    before = set(sys.modules)
    result = step()
    if imported := sorted(set(sys.modules) - before):
        raise RuntimeError(f"a timed step imported {', '.join(imported)}: the replay record misses them")
    return result


def _plain(registration) -> tuple[str, str, bool, dict[str, Any]]:
    from pulumi.runtime import rpc

    def unwrap(value: Any) -> Any:
        if rpc.is_rpc_secret(value):
            return unwrap(rpc.unwrap_rpc_secret(value))
        if isinstance(value, dict):
            return {k: unwrap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [unwrap(v) for v in value]
        return value

    return registration.type, registration.name, registration.custom, unwrap(registration.inputs)


def floor(record: Path, with_inputs: bool) -> None:
    """Runs in its own process: the SDK's imports and the recorded registrations, nothing else. The garbage
    collector is off from the start (`one_shot`): a process may always pause it while it imports (the render
    imports most of the SDK inside its run, which pauses it), and the replay is the benchmark's data, not the
    SDK's."""
    phases = _Phases()
    replay = _replay(record)
    _import_sdk(replay["modules"])
    phases.end("start_up_and_sdk_imports")
    registrations = replay["registrations"]
    import pulumi

    def register() -> None:
        for index, (type_, name, custom, inputs) in enumerate(registrations):
            props = inputs if with_inputs else {}
            if custom:
                pulumi.CustomResource(type_, f"{name}-{index}", props)
            else:
                pulumi.ComponentResource(type_, f"{name}-{index}", props)

    monitor = start_mock_runtime("prod", {"aws:region": "eu-west-1"}, set())
    importing_nothing(lambda: run_to_completion(register))
    phases.end("registrations")
    print(json.dumps({"resources": len(monitor.registrations), **phases.seconds}))


def render_in_phases(stack: str, record: Path, out: Path) -> None:
    """Runs in its own process: the render's work (`tools.render`'s but its command line), each phase timed in CPU
    seconds: start-up and the SDK's imports (as the floor does them), the other imports (the program's modules, the
    libraries they use, the render's own), the program's run, writing the files."""
    phases = _Phases()
    modules = _replay(record)["modules"]
    _import_sdk(modules)
    phases.end("start_up_and_sdk_imports")
    for module in modules:
        importlib.import_module(module)
    from tools.render import write_render

    phases.end("imports")
    run = importing_nothing(lambda: run_program(stack))
    phases.end("run")
    importing_nothing(lambda: write_render(run, out))
    phases.end("writing")
    print(json.dumps({"resources": len(run.registrations), **phases.seconds}))


# --- measuring -----------------------------------------------------------------------------------------


def compile_program() -> None:
    """The program's modules as bytecode, as Python caches them on a first run and pip compiles the SDK's when it
    installs them. Where PYTHONDONTWRITEBYTECODE is set, every render would compile them from source again: a
    cost neither the floor's precompiled SDK nor a render on a machine that keeps bytecode pays."""
    for name in PROGRAM_MODULES:
        path = ROOT / name
        compiled = compileall.compile_dir(path, quiet=1) if path.is_dir() else compileall.compile_file(path, quiet=1)
        if not compiled:
            raise RuntimeError(f"cannot compile {name}")


def _python(*args: str) -> str:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def _timed(*args: str) -> tuple[float, float, str]:
    """Wall time and CPU time (user and system) of a Python process running ARGS, and the last line it printed."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    printed = _python(*args)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), printed.splitlines()[-1]


def _evaluation(stack: str, factor: int, record: Path | None = None) -> dict[str, Any]:
    extra = ["--record", str(record)] if record else []
    return json.loads(_python("-m", "tools.benchmark", "--child", stack, str(factor), *extra).splitlines()[-1])


def measure(stack: str, folder: Path) -> dict[str, Any]:
    """Every timing of STACK; render and floors interleaved, so a change in the machine's load hits all."""
    record = folder / f"{stack}.replay"
    first = _evaluation(stack, 1, record)
    runs = [first] + [_evaluation(stack, 1) for _ in range(RUNS - 1)]
    ten = [_evaluation(stack, 10) for _ in range(RUNS)]
    render, floor_, bare, phases = [], [], [], []
    for _ in range(RUNS):
        render.append(_timed("-m", "tools.render", stack, "--out", str(folder / stack)))
        floor_.append(_timed("-m", "tools.benchmark", "--floor", str(record)))
        bare.append(_timed("-m", "tools.benchmark", "--floor", str(record), "--without-inputs"))
        phases.append(_timed("-m", "tools.benchmark", "--phases", stack, str(record), str(folder / f"{stack}-phases")))
    median = statistics.median
    floor_phases, render_phases = [json.loads(p) for _, _, p in floor_], [json.loads(p) for _, _, p in phases]
    return {
        "stack": stack,
        "render": median(w for w, _, _ in render),
        "render_cpu": median(c for _, c, _ in render),
        "floor": median(w for w, _, _ in floor_),
        "floor_cpu": median(c for _, c, _ in floor_),
        "bare": median(w for w, _, _ in bare),
        "phases": {phase: median(p[phase] for p in render_phases) for phase in RENDER_PHASES},
        "phases_cpu": median(c for _, c, _ in phases),
        "floor_phases": {phase: median(p[phase] for p in floor_phases) for phase in FLOOR_PHASES},
        "evaluation": median(r["seconds"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
        "resources": first["resources"],
        "ten": median(r["seconds"] for r in ten),
        "ten_peak_mb": max(r["peak_mb"] for r in ten),
        "ten_resources": ten[0]["resources"],
    }


def timing_table(rows: list[dict[str, Any]]) -> str:
    """The render, its floor, the evaluation and x10, per stack."""
    header = (
        "stack",
        "resources",
        "render: wall / CPU (s)",
        "floor: wall / CPU (s)",
        "render / floor: wall / CPU",
        "SDK alone, no inputs (s)",
        "evaluation (s)",
        "peak memory (MB)",
        "x10: resources",
        "x10: evaluation (s)",
        "x10: peak (MB)",
        "x10 / x1 evaluation",
    )
    cells = [
        (
            r["stack"],
            str(r["resources"]),
            f"{r['render']:.2f} / {r['render_cpu']:.2f}",
            f"{r['floor']:.2f} / {r['floor_cpu']:.2f}",
            f"{r['render'] / r['floor']:.2f} / {r['render_cpu'] / r['floor_cpu']:.2f}",
            f"{r['bare']:.2f}",
            f"{r['evaluation']:.2f}",
            f"{r['peak_mb']:.0f}",
            str(r["ten_resources"]),
            f"{r['ten']:.2f}",
            f"{r['ten_peak_mb']:.0f}",
            f"{r['ten'] / r['evaluation']:.1f}",
        )
        for r in rows
    ]
    return markdown.table(header, cells)


def phase_table(rows: list[dict[str, Any]]) -> str:
    """Where the CPU goes: the render's phases beside the floor's."""
    header = (
        "stack",
        "render in phases: start-up and SDK imports / other imports / program's run / writing (CPU s)",
        "render in phases: whole process (CPU s)",
        "floor: start-up and SDK imports / registrations (CPU s)",
        "program's run / registrations",
    )
    cells = [
        (
            r["stack"],
            _seconds(r["phases"], RENDER_PHASES),
            f"{r['phases_cpu']:.2f}",
            _seconds(r["floor_phases"], FLOOR_PHASES),
            f"{r['phases']['run'] / r['floor_phases']['registrations']:.2f}",
        )
        for r in rows
    ]
    return markdown.table(header, cells)


def _seconds(phases: dict[str, float], names: tuple[str, ...]) -> str:
    return " / ".join(f"{phases[name]:.2f}" for name in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("STACK", "FACTOR"), help=argparse.SUPPRESS)
    parser.add_argument("--record", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--without-inputs", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--phases", nargs=3, metavar=("STACK", "RECORD", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # The measured processes end after their one run, as the render's does.
    if args.child:
        one_shot(lambda: child(args.child[0], int(args.child[1]), args.record))
        return 0
    if args.floor:
        one_shot(lambda: floor(args.floor, not args.without_inputs))
        return 0
    if args.phases:
        stack, record, out = args.phases
        one_shot(lambda: render_in_phases(stack, Path(record), Path(out)))
        return 0

    from settings import STACKS
    from tools import footprint
    from tools.charts import ChartsUnavailableError

    compile_program()
    print(f"median of {RUNS} runs; peak = largest resident set size of the process")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        rows = [measure(stack, Path(tmp)) for stack in STACKS]
        print(timing_table(rows))
        print(phase_table(rows))
        try:
            found = [footprint.stack_footprint(stack, Path(tmp) / f"footprint-{stack}") for stack in STACKS]
        except ChartsUnavailableError as error:
            print(f"footprint: {error}", file=sys.stderr)
            return 2
    print(footprint.table(found), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
