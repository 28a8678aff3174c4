"""Reading the stack's config from Pulumi: the only place the program reads config."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal, get_args, get_origin

import pulumi
import pulumi.runtime

from settings.errors import PROJECT, config_key
from settings.schema import RawSettings

TOP_LEVEL_KEYS = {
    field.alias or name: config_key(field.alias or name) for name, field in RawSettings.model_fields.items()
}
"""Top-level key (as written) -> fully qualified config key."""


def read_values() -> tuple[dict[str, Any], set[str]]:
    """Every top-level key that is set, parsed, and which of them are secret."""
    values: dict[str, Any] = {}
    secret: set[str] = set()
    for key, qualified in TOP_LEVEL_KEYS.items():
        text = pulumi.runtime.get_config(qualified)
        if text is None:
            continue
        if pulumi.runtime.is_config_secret(qualified):
            secret.add(qualified)
        values[key] = _parse(key, text)
    return values, secret


def _parse(key: str, text: str) -> Any:
    """Config arrives as strings; objects and booleans are JSON. Bad JSON is left for validation to report."""
    if _is_string_key(key):
        return text
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return text


def _is_string_key(key: str) -> bool:
    annotation = next(f.annotation for name, f in RawSettings.model_fields.items() if (f.alias or name) == key)
    return annotation is str or (
        get_origin(annotation) is Literal and all(isinstance(a, str) for a in get_args(annotation))
    )


def unknown_keys(known_secrets: set[str]) -> list[str]:
    """Problems for every `ai-platform:` key the program does not read (a typo, or a key set without --path)."""
    known = set(TOP_LEVEL_KEYS.values()) | known_secrets
    allowed = ", ".join(sorted(k.split(":", 1)[1] for k in known if k.startswith(f"{PROJECT}:")))
    return [
        f"{key}: unknown key; allowed keys are {allowed}"
        for key in sorted(set(_all_config_keys()))
        if key.startswith(f"{PROJECT}:") and key not in known
    ]


def _all_config_keys() -> Iterable[str]:
    from pulumi.runtime import config as runtime_config

    yield from runtime_config.CONFIG.get().keys()
    yield from (runtime_config.get_config_env() or {}).keys()


def require_secret(key: str) -> pulumi.Output[str]:
    """A secret config value by its key in the project's namespace."""
    return pulumi.Config(PROJECT).require_secret(key)
