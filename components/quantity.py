"""Kubernetes resource quantities: validation and the little arithmetic quota sizing needs."""

from __future__ import annotations

import math
import re
from decimal import Decimal

QUANTITY_PATTERN = re.compile(r"^(?P<number>[0-9]+(\.[0-9]+)?)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")

_FACTORS = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


def parse(text: str) -> Decimal:
    """Value of a quantity in base units (cores, bytes)."""
    match = QUANTITY_PATTERN.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 4Gi)")
    return Decimal(match["number"]) * _FACTORS[match["suffix"]]


def cpu(cores: Decimal) -> str:
    """Cores as a whole number of millicores (`1500m`)."""
    return f"{math.ceil(cores * 1000)}m"


def memory(size: Decimal) -> str:
    """Bytes rounded up to whole mebibytes (`1536Mi`)."""
    return f"{math.ceil(size / 2**20)}Mi"


def storage(size: Decimal) -> str:
    """Bytes rounded up to whole gibibytes (`640Gi`)."""
    return f"{math.ceil(size / 2**30)}Gi"
