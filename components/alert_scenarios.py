"""Series for promtool scenarios, in promtool's notation: one sample a minute, long enough for every case."""

from __future__ import annotations

from collections.abc import Mapping

SAMPLES = 240
"""Samples per series: longer than any scenario's evaluation time."""


def num(value: float) -> str:
    """A number in promtool's series notation (which reads `e+09` as an increment)."""
    return str(int(value)) if float(value).is_integer() else f"{value:.6f}".rstrip("0")


def counter(per_minute: float) -> str:
    """A counter growing by PER_MINUTE every sample."""
    return f"0+{num(per_minute)}x{SAMPLES}"


def counter_stepping(per_minute: float, minutes: int, then_per_minute: float) -> str:
    """A counter growing by PER_MINUTE for MINUTES samples, then by THEN_PER_MINUTE."""
    return f"0+{num(per_minute)}x{minutes} {num(per_minute * minutes)}+{num(then_per_minute)}x{SAMPLES}"


def gauge(value: float) -> str:
    """A gauge holding VALUE."""
    return f"{num(value)}x{SAMPLES}"


def series(metric: str, labels: Mapping[str, str]) -> str:
    """A series selector, e.g. `up{job="redis"}`."""
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def at(for_minutes: int, extra: int = 5) -> str:
    """An evaluation time EXTRA minutes after an alert's `for` has passed."""
    return f"{for_minutes + extra}m"


def duration(seconds: int) -> str:
    """Go's `humanizeDuration` for whole seconds of at least a minute (how `$value` renders)."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m {secs}s"
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    return f"{minutes}m {secs}s"


def days_hours(days: int, hours: int) -> str:
    """`1 d 2 h`, leaving out a zero part."""
    return " ".join(part for part in (f"{days} d" if days else "", f"{hours} h" if hours else "") if part)
