"""Expensive results computed once per test session, whichever pytest-xdist worker needs them first.

The renders of both stacks, their charts templated, the CRD schemas, one checkov and one network-config-analyzer
run per stack: the first worker to ask computes under a lock and leaves the result in the session's folder that
all workers share; the others wait for it and load it. A run without workers computes in its own process. Each
process also keeps what it loaded.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock

T = TypeVar("T")

_shared: Path | None = None
"""The folder the workers of this session share (None without workers)."""
_loaded: dict[str, Any] = {}


def share_through(folder: Path) -> None:
    """Under pytest-xdist: FOLDER is common to every worker of this session (tests/conftest.py)."""
    global _shared
    _shared = folder


def once(key: str, compute: Callable[[], T]) -> T:
    """COMPUTE's result for KEY (a file name), computed once per test session. It must pickle."""
    if key not in _loaded:
        if _shared is None:
            _loaded[key] = compute()
        else:
            path = _shared / f"{key}.pickle"
            with FileLock(f"{path}.lock"):
                if not path.exists():
                    path.write_bytes(pickle.dumps(compute(), protocol=pickle.HIGHEST_PROTOCOL))
            _loaded[key] = pickle.loads(path.read_bytes())
    return _loaded[key]


def folder_once(key: str, fill: Callable[[Path], object], private: Path) -> Path:
    """The folder KEY, which FILL writes once per test session; read it, never change it. PRIVATE: the folder
    to use when there are no workers (this process's temporary folder)."""
    folder = (_shared or private) / key
    done = folder.with_name(f"{key}.done")
    with FileLock(f"{folder}.lock"):
        if not done.exists():
            fill(folder)
            done.touch()
    return folder
