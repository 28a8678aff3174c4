"""Invalid config, reported all at once: each problem with its full key path, what was given and what is allowed.

What was given is shown only when it cannot be a secret: values under a key set with `--secret`, the kubeconfig,
the values of secret-named env variables and anything shaped like a credential are described, never printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any, get_args, get_origin

import pulumi
from pydantic import BaseModel, ValidationError

from settings.values import looks_like_a_credential, secret_env_name

PROJECT = "ai-platform"
STACKS = ("staging", "prod")
_MAX_SHOWN = 100
"""Longer texts are described, not printed (a pasted file, a certificate)."""


class SettingsError(pulumi.RunError):
    """Invalid or incomplete config; the message lists every problem and the commands that set missing secrets."""

    def __init__(self, problems: list[str], missing_secrets: list[str] | None = None) -> None:
        self.problems = problems
        self.missing_secrets = missing_secrets or []
        lines = []
        if problems:
            lines.append(f"Invalid configuration for stack {pulumi.get_stack()!r}:")
            lines += [f"  - {p}" for p in problems]
        if self.missing_secrets:
            lines.append("Missing secrets; set each with:")
            lines += [f"  {c}" for c in self.missing_secrets]
        super().__init__("\n".join(lines))


def config_key(name: str) -> str:
    """The fully qualified config key of a top-level key (`aws:region` is the AWS provider's)."""
    return "aws:region" if name == "region" else f"{PROJECT}:{name}"


def shown(value: Any, secret: bool = False) -> str:
    """VALUE as a message may show it: printed when it cannot be a secret, otherwise only described."""
    if secret:
        return "a value that is not shown (it is secret)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return f"a map (keys {', '.join(sorted(map(str, value))[:8])})" if value else "an empty map"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, str) and (len(value) > _MAX_SHOWN or "\n" in value or looks_like_a_credential(value)):
        return f"a text of {len(value)} characters (not shown: it may hold a credential)"
    return repr(value)


def is_secret_path(loc: tuple[Any, ...], secret_keys: Collection[str]) -> bool:
    """Whether the value at LOC (top-level key first, as written) may be a secret."""
    head = str(loc[0]) if loc else ""
    return (
        head in secret_keys
        or tuple(map(str, loc[:2])) == ("cluster", "kubeconfig")
        or (len(loc) >= 2 and str(loc[-2]) == "env" and secret_env_name(str(loc[-1])))
    )


def describe(
    error: ValidationError, root: type[BaseModel], prefix: tuple[str, ...] = (), secret_keys: Collection[str] = ()
) -> list[str]:
    """ERROR's problems as `<key path>: <what is allowed>, got <what was given>`, the path starting at ROOT's keys
    after PREFIX; values under SECRET_KEYS (top-level keys, as written) are never shown."""
    problems = []
    for item in error.errors(include_url=False):
        loc = (*prefix, *item["loc"])
        of_key = loc[-1] == "[key]"  # a map's key, not its value
        loc = loc[:-1] if of_key else loc
        message = ("the key " if of_key else "") + _allowed(item, root, loc)
        given = item.get("input")
        # A model's own check gets the whole section as input: its message says what is wrong.
        if item["type"] not in ("extra_forbidden", "missing") and not (
            item["type"] == "value_error" and isinstance(given, dict)
        ):
            message += f", got {shown(given, is_secret_path(loc, secret_keys))}"
        problems.append(f"{key_path(loc)}: {message}")
    return problems


def _allowed(item: Any, root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """What the key allows, in the words of the stack files (YAML 1.2 as the CLI reads it)."""
    kind, given = item["type"], item.get("input")
    if kind == "extra_forbidden":
        return f"unknown key; allowed keys are {', '.join(allowed_keys(root, loc[:-1]))}"
    if kind == "missing":
        return "is required"
    if kind == "bool_type":
        hint = " (YAML 1.2 reads yes, no, on and off as text)" if isinstance(given, str) else ""
        return f"must be true or false, unquoted{hint}"
    if kind == "int_type":
        if isinstance(given, str):
            return "must be a whole number, not text: write it without quotes"
        return "must be a whole number"
    if kind == "string_type":
        hint = " (unquoted, 1.10 is the number 1.1 and true is a boolean)" if isinstance(given, int | float) else ""
        return f"must be text: quote it{hint}" if hint else "must be text"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        keys = allowed_keys(root, loc)
        return f"must be a map{' with keys ' + ', '.join(keys) if keys else ''}"
    if kind == "list_type":
        return "must be a list"
    return str(item["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")


def key_path(loc: tuple[Any, ...]) -> str:
    """LOC as `pulumi config set --path` takes it: `ai-platform:a.b[0]["c.d"]`."""
    head, *rest = loc or ("config",)
    path = config_key(str(head))
    for part in rest:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", str(part)):
            path += f".{part}"
        else:
            path += f"[{json.dumps(str(part))}]"
    return path


def allowed_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys (aliases) of the model found at LOC below ROOT, skipping map keys, for 'allowed keys' hints; empty
    when no model is there."""
    model: type[BaseModel] = root
    skip_key = False
    for part in loc:
        if skip_key or isinstance(part, int):
            skip_key = False
            continue
        field = next((f for name, f in model.model_fields.items() if (f.alias or name) == str(part)), None)
        found = _model_of(field.annotation) if field is not None else None
        if found is None:
            return []
        model, skip_key = found
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _model_of(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """The model an annotation holds (through Optional, lists and maps), and whether a map key comes first."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate, False
        if get_origin(candidate) is dict:
            inner = _model_of(get_args(candidate)[1])
            return (inner[0], True) if inner else None
        if get_args(candidate):
            inner = _model_of(get_args(candidate)[0])
            if inner is not None:
                return inner
    return None
