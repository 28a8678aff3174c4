"""The catalog: every system of the manuals, one module each.

Each module of this package that declares `SERVICE` (a `ServiceSpec`) is a service; adding a service is adding
its module (and its entries in the stack files). The catalog lists them in the order of their manuals.
"""

from __future__ import annotations

import importlib
import pkgutil

from services.spec import ServiceSpec


def _discover() -> dict[str, ServiceSpec]:
    found = []
    for module in pkgutil.iter_modules(__path__):
        spec = getattr(importlib.import_module(f"{__name__}.{module.name}"), "SERVICE", None)
        if isinstance(spec, ServiceSpec):
            found.append(spec)
    return {spec.name: spec for spec in sorted(found, key=lambda spec: (spec.manual, spec.name))}


CATALOG: dict[str, ServiceSpec] = _discover()
"""Service name -> what its manual says, in the manuals' order."""
