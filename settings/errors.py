"""Invalid config, reported all at once: each problem with its full key path, what was given and what is allowed."""

from __future__ import annotations

from typing import Any, get_args, get_origin

import pulumi
from pydantic import BaseModel, ValidationError

PROJECT = "ai-platform"
STACKS = ("staging", "prod")


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


def describe(error: ValidationError, root: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[str]:
    """ERROR's problems as `<key path>: <what is wrong>`, the path starting at ROOT's keys after PREFIX."""
    problems = []
    for item in error.errors(include_url=False):
        loc = (*prefix, *item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = f"unknown key; allowed keys are {', '.join(allowed_keys(root, loc[:-1]))}"
        elif item["type"] == "missing":
            message = "is required"
        elif "input" in item and item["type"] != "value_error":
            message = f"{message}, got {item['input']!r}"
        problems.append(f"{key_path(loc)}: {message.removeprefix('Value error, ')}")
    return problems


def key_path(loc: tuple[Any, ...]) -> str:
    head, *rest = [str(part) for part in loc] or ["config"]
    return ".".join([config_key(head), *rest])


def allowed_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys (aliases) of the model found at LOC below ROOT, skipping map keys, for 'allowed keys' hints."""
    model: type[BaseModel] = root
    skip_key = False
    for part in loc:
        if skip_key:
            skip_key = False
            continue
        field = next(f for name, f in model.model_fields.items() if (f.alias or name) == str(part))
        model, skip_key = _model_of(field.annotation)
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _model_of(annotation: Any) -> tuple[type[BaseModel], bool]:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate, False
        if get_origin(candidate) is dict:
            inner, _ = _model_of(get_args(candidate)[1])
            return inner, True
        if get_args(candidate):
            try:
                return _model_of(get_args(candidate)[0])
            except KeyError:
                continue
    raise KeyError(annotation)
