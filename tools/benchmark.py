"""Benchmark the offline render: `python -m tools.benchmark` (not a timed test; figures go in the README).

Per stack it prints the render's wall time (the whole `python -m tools.render` command), the program's
own evaluation time (after imports) and peak memory, and the same for a synthetic catalog ten times
larger (every service copied into ten renamed namespaces).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

from tools.mock_runtime import ROOT

RUNS = 3


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
        apps=tuple(replace(a, name=a.name + suffix, namespace=moved(a.namespace)) for a in spec.apps),
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


def child(stack: str, factor: int) -> None:
    """Runs in its own process: imports first, then times the program alone."""
    import providers  # noqa: F401 - the program's modules, imported before the clock starts
    import settings  # noqa: F401
    import wiring.platform  # noqa: F401
    from tools.mock_runtime import run_program

    if factor > 1:
        scale_catalog(factor)
    started = time.perf_counter()
    run = run_program(stack)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "resources": len(run.registrations)}))


def measure_child(stack: str, factor: int) -> dict:
    results = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-m", "tools.benchmark", "--child", stack, str(factor)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "seconds": statistics.median(r["seconds"] for r in results),
        "peak_mb": max(r["peak_mb"] for r in results),
        "resources": results[0]["resources"],
    }


def measure_render(stack: str) -> float:
    times = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "tools.render", stack, "--out", out], cwd=ROOT, capture_output=True, check=True
            )
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("STACK", "FACTOR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    print(f"median of {RUNS} runs; peak = max resident set size of the process")
    columns = ["stack", "render wall (s)", "evaluation (s)", "peak memory (MB)", "resources"]
    columns += ["x10: evaluation (s)", "x10: peak (MB)", "x10: resources", "x10 / x1 evaluation"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for stack in ("staging", "prod"):
        wall = measure_render(stack)
        one = measure_child(stack, 1)
        ten = measure_child(stack, 10)
        ratio = ten["seconds"] / one["seconds"]
        print(
            f"| {stack} | {wall:.2f} | {one['seconds']:.2f} | {one['peak_mb']:.0f} | {one['resources']} "
            f"| {ten['seconds']:.2f} | {ten['peak_mb']:.0f} | {ten['resources']} | {ratio:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
