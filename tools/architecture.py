"""The program's layers and how they import each other, read from the code (`python -m tools.architecture`).

The entry point imports the wiring; the wiring imports the catalog (`services/`), the settings and the
providers; those import the components; everything may import the pins (`versions.py`). `layer_of` maps a
module to its layer; `import_graph` lists every import between the program's own modules; `mermaid` draws
the layers and their imports for the README (`python -m tools.readme` regenerates it there).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

from tools.mock_runtime import ROOT

LAYERS = ("__main__", "wiring", "providers", "settings", "services", "components", "versions")
"""Top to bottom: a module imports only modules of its own layer or of a lower one."""
DESCRIPTIONS = {
    "__main__": "entry point",
    "wiring": "wiring/: settings + catalog -> components",
    "providers": "providers.py",
    "settings": "settings/: the stack's config, validated",
    "services": "services/: the catalog, one module per service",
    "components": "components/: reusable ComponentResources",
    "versions": "versions.py: every pin",
}


def layer_of(module: str) -> str:
    """The layer of a dotted module name (`wiring.data` -> `wiring`)."""
    head = module.split(".")[0]
    if head not in LAYERS:
        raise ValueError(f"{module} is in no layer of {LAYERS}")
    return head


def program_modules(root: Path) -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every module of the program."""
    for layer in LAYERS:
        single = root / f"{layer}.py"
        if single.exists():
            yield layer, single
            continue
        for path in sorted((root / layer).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def import_graph(root: Path = ROOT) -> list[tuple[str, str]]:
    """(importer, imported) for every import between the program's own modules."""
    edges = []
    for name, path in program_modules(root):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            edges += [(name, target) for target in targets if target.split(".")[0] in LAYERS]
    return edges


def mermaid(root: Path = ROOT) -> str:
    """The layers and which imports which, as a Mermaid flowchart."""
    edges = {(layer_of(a), layer_of(b)) for a, b in import_graph(root)} - {(layer, layer) for layer in LAYERS}
    lines = ["```mermaid", "flowchart TD"]
    lines += [f'  {_node(layer)}["{DESCRIPTIONS[layer]}"]' for layer in LAYERS]
    lines += [
        f"  {_node(a)} --> {_node(b)}" for a, b in sorted(edges, key=lambda e: (LAYERS.index(e[0]), LAYERS.index(e[1])))
    ]
    return "\n".join([*lines, "```"])


def _node(layer: str) -> str:
    return layer.strip("_")


def main() -> int:
    sys.stdout.write(mermaid())
    return 0


if __name__ == "__main__":
    sys.exit(main())
