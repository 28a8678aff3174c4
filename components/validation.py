"""Checks several components apply to their arguments: DNS names, Prometheus durations and sizes, unique names."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

DNS_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
"""Pattern of one lower-case DNS label (RFC 1123): 1-63 letters, digits and '-', no '-' at either end."""
DNS_NAME = re.compile(rf"^(?=.{{1,253}}$){DNS_LABEL}(\.{DNS_LABEL})+$")
"""A fully qualified lower-case DNS name of at least two labels, e.g. `api.example.com`."""

# The Prometheus Operator CRDs' `Duration` pattern: units in descending order, e.g. `1h30m`, or `0`.
_PROMETHEUS_DURATION = re.compile(r"^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$")
# Prometheus reads sizes (e.g. `retentionSize`) in base-2 units: `50GB` = 50 GiB.
_PROMETHEUS_SIZE = re.compile(r"^(?P<number>[0-9]+)(?P<unit>B|KB|MB|GB|TB|PB)$")
_PROMETHEUS_SIZE_UNITS = {"B": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5}


def dns_slug(hostname: str) -> str:
    """A host name as a DNS label-like object name (`api.example.com` -> `api-example-com`)."""
    return hostname.replace(".", "-")


def is_prometheus_duration(text: str) -> bool:
    """Whether TEXT is a Prometheus duration such as `5m`, `15d` or `1h30m` (the empty string is not)."""
    return bool(text) and bool(_PROMETHEUS_DURATION.match(text))


def prometheus_size_bytes(text: str) -> Decimal | None:
    """Bytes of a Prometheus size such as `50GB` (units B, KB, MB, GB, TB, PB); None when TEXT is not one."""
    match = _PROMETHEUS_SIZE.match(text)
    return Decimal(match["number"]) * 1024 ** _PROMETHEUS_SIZE_UNITS[match["unit"]] if match else None


def duplicates(values: Iterable[str]) -> list[str]:
    """The values listed more than once, sorted."""
    return sorted(value for value, count in Counter(values).items() if count > 1)
