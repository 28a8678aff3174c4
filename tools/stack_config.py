"""The Pulumi CLI's rules for project and stack config, applied offline.

Before `pulumi preview`, `up`, `refresh` or `destroy` runs the program, the CLI loads `Pulumi.yaml`
and `Pulumi.<stack>.yaml` (YAML 1.2), validates the project's config declarations, fills in their
defaults and values, refuses a stack that lacks a required key, checks typed and secret keys, and hands
the program one text per key (JSON for structured values). The offline render goes through the same
steps, so a stack the CLI refuses is refused here with the CLI's words, and a stack it accepts reaches
the program exactly as the CLI would pass it. `config_set` is `pulumi config set` (text, `--path`,
`--json`, `--secret`), for scripted edits such as the README's commands.

Upstream: pulumi/pulumi `sdk/go/common/workspace/project.go` (Validate), `pkg/workspace/config.go`
(mergeConfig), `sdk/go/common/resource/config/object.go` (value representation, `--path` coercion).
"""

from __future__ import annotations

import copy
import functools
import io
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

SECRET_PLACEHOLDER = "[secret]"
"""What the program sees of a `secure:` value offline: ciphertext cannot be decrypted without the stack's key."""

TYPES = ("string", "integer", "boolean", "array", "object")
DECLARATION_KEYS = {"type", "items", "description", "secret", "default", "value"}


class ConfigError(Exception):
    """The config is refused as the Pulumi CLI refuses it; the message is the CLI's."""


@dataclass(frozen=True)
class Secure:
    """A secret value (`secure:` in a stack file, `config set --secret`); PLAINTEXT is what the program reads."""

    plaintext: str = SECRET_PLACEHOLDER


@dataclass(frozen=True)
class ProgramConfig:
    """Config as the CLI passes it to the program: one text per fully qualified key, and which are secret."""

    values: dict[str, str]
    secret_keys: frozenset[str]


# --- reading files ---------------------------------------------------------------------------------


def read_yaml(text: str) -> Any:
    """YAML 1.2, as the CLI reads project and stack files: `yes`, `no`, `on` and `off` stay strings. A copy of
    what TEXT parsed to the first time: every mock run reads both files, and the pure-Python parser takes
    longer than checking the stack they hold."""
    return copy.deepcopy(_parsed(text))


@functools.cache
def _parsed(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(io.StringIO(text))


def load_project(path: Path) -> dict[str, Any]:
    """`Pulumi.yaml`, validated like the CLI validates a project; raises ConfigError."""
    return checked_project(read_yaml(path.read_text()) or {})


def checked_project(project: dict[str, Any]) -> dict[str, Any]:
    """PROJECT, or ConfigError with the CLI's first complaint when it would refuse to load it."""
    errors = project_errors(project)
    if errors:
        raise ConfigError(f"could not unmarshal 'Pulumi.yaml': {errors[0]}")
    return project


def load_stack(path: Path) -> dict[str, Any]:
    """The `config:` of `Pulumi.<stack>.yaml`: fully qualified key -> value, `secure:` values as `Secure`."""
    if not path.exists():
        raise ConfigError(f"no stack file {path.name}")
    document = read_yaml(path.read_text()) or {}
    values = {}
    for key, value in (document.get("config") or {}).items():
        if ":" not in str(key):
            raise ConfigError(
                f"{path.name}: could not parse configuration key '{key}': must be of the form '<namespace>:<name>'"
            )
        values[str(key)] = _secured(value)
    return values


def _secured(value: Any) -> Any:
    """Stack-file values with every `{secure: <ciphertext>}` map turned into `Secure`."""
    if isinstance(value, dict):
        if set(value) == {"secure"} and isinstance(value["secure"], str):
            return Secure()
        return {str(k): _secured(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_secured(v) for v in value]
    return value


# --- the project ---------------------------------------------------------------------------------


def project_errors(project: Mapping[str, Any]) -> list[str]:
    """Why the CLI would refuse to load PROJECT (`Pulumi.yaml`), in the CLI's words; empty when it loads."""
    name = project.get("name")
    errors = []
    if not name:
        errors.append("project is missing a 'name' attribute")
    if not project.get("runtime"):
        errors.append("project is missing a 'runtime' attribute")
    for key, declaration in (project.get("config") or {}).items():
        if not isinstance(declaration, dict):
            continue  # `key: value` shorthand: a default value, never typed
        errors += _declaration_errors(str(name), str(key), declaration)
    return errors


def _declaration_errors(project: str, key: str, declaration: Mapping[str, Any]) -> list[str]:
    unknown = sorted(set(declaration) - DECLARATION_KEYS)
    if unknown:
        return [f"config.{key}: additional properties {unknown} are not allowed (only {sorted(DECLARATION_KEYS)})"]
    kind = declaration.get("type")
    if kind is not None and kind not in TYPES:
        return [f"config.{key}.type: must be one of {', '.join(TYPES)}, got {kind!r}"]
    if "default" in declaration and "value" in declaration:
        return [f"project config '{key}' cannot have both a 'default' and 'value' attribute"]
    if not is_project_key(project, key):
        if kind is not None:
            return [f"Configuration key '{key}' is not namespaced by the project and should not define a type"]
        if "default" in declaration:
            return [
                f"Configuration key '{key}' is not namespaced by the project and should not define a default value. "
                "Did you mean to use the 'value' attribute instead of 'default'?"
            ]
        if "value" not in declaration:
            return [f"Configuration key '{key}' is namespaced and must provide an attribute 'value'"]
        return []
    if kind == "array" and "items" not in declaration:
        return [
            f"The configuration key '{key}' declares an array but does not specify the underlying type via the "
            "'items' attribute"
        ]
    if (
        kind is not None
        and "default" in declaration
        and not valid_value(kind, declaration.get("items"), declaration["default"])
    ):
        return [f"The default value specified for configuration key '{key}' is not of the expected type '{kind}'"]
    return []


def is_project_key(project: str, key: str) -> bool:
    return ":" not in key or key.split(":", 1)[0] == project


def qualified(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def valid_value(kind: str, items: Mapping[str, Any] | None, value: Any) -> bool:
    """Whether VALUE passes the CLI's check of a `type:` (config arrives as text: "true", "42" pass)."""
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        return isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value) is not None
    if kind == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if kind == "array":
        element = (items or {}).get("type", "string")
        return isinstance(value, list) and all(valid_value(element, (items or {}).get("items"), v) for v in value)
    if kind == "object":
        return isinstance(value, dict)
    return False


# --- merging the stack's config into what the program receives -----------------------------------


def merge(project: Mapping[str, Any], stack: str, values: Mapping[str, Any]) -> ProgramConfig:
    """What the CLI passes the program for STACK: VALUES (stack file) plus the project's defaults and values.

    Raises ConfigError like `pulumi preview`: required keys missing first, then the first typed or secret
    key whose value does not fit its declaration.
    """
    name = str(project["name"])
    merged = dict(values)
    declarations = {
        qualified(name, str(k)): d if isinstance(d, dict) else {"default": d}
        for k, d in (project.get("config") or {}).items()
    }
    missing = []
    for key, declaration in sorted(declarations.items()):
        if key in merged:
            continue
        if "value" in declaration or "default" in declaration:
            merged[key] = declaration.get("default", declaration.get("value"))
        elif is_project_key(name, key):
            missing.append(key.split(":", 1)[1])
    if missing:
        raise ConfigError(missing_keys_error(stack, missing))
    for key, declaration in sorted(declarations.items()):
        kind = declaration.get("type")
        if kind is None:
            continue  # untyped keys are never checked
        short = key.split(":", 1)[1] if is_project_key(name, key) else key
        value = merged[key]
        if declaration.get("secret") and not _is_secure(value):
            raise ConfigError(f"Stack '{stack}' with configuration key '{short}' must be encrypted as it's secret")
        if not valid_value(kind, declaration.get("items"), _as_checked(value)):
            raise ConfigError(f"Stack '{stack}' with configuration key '{short}' must be of type '{kind}'")
    texts = {key: program_text(value) for key, value in merged.items()}
    return ProgramConfig(texts, frozenset(key for key, value in merged.items() if _contains_secure(value)))


def missing_keys_error(stack: str, keys: Sequence[str]) -> str:
    keys = sorted(keys)
    if len(keys) == 1:
        listed = f"'{keys[0]}'"
    else:
        listed = ", ".join(f"'{k}'" for k in keys[:-2])
        listed = (listed + ", " if listed else "") + f"'{keys[-2]}' and '{keys[-1]}'"
    return f"Stack '{stack}' is missing configuration value{'s' if len(keys) > 1 else ''} {listed}"


def _is_secure(value: Any) -> bool:
    return isinstance(value, Secure)


def _contains_secure(value: Any) -> bool:
    if isinstance(value, Secure):
        return True
    if isinstance(value, dict):
        return any(_contains_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secure(v) for v in value)
    return False


def _as_checked(value: Any) -> Any:
    """The value a type check sees: a top-level scalar as its text, a structure as itself."""
    return _plain(value) if isinstance(value, dict | list) else program_text(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Secure):
        return value.plaintext
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)  # Go's encoding/json writes whole floats without a fraction
    return value


def program_text(value: Any) -> str:
    """The text the program reads for VALUE: scalars as the CLI prints them, structures as JSON."""
    if isinstance(value, Secure):
        return value.plaintext
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return value
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))


def _go_float(value: float) -> str:
    """A float as Go's encoding/json writes it (`1.10` in YAML reaches the program as `1.1`, `2.0` as `2`)."""
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if 1e-6 <= abs(value) < 1e21:
        return format(Decimal(repr(value)), "f")
    return repr(value).replace("e-0", "e-").replace("e+0", "e+")


# --- pulumi config set ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigSet:
    """One `pulumi config set [--secret] [--path | --json] KEY [VALUE]` command."""

    key: str
    value: str | None
    """None when the command prompts for the value (typical for secrets)."""
    secret: bool = False
    path: bool = False
    json: bool = False


def parse_config_set(command: str) -> ConfigSet:
    """A `pulumi config set ...` command line (as written in docs) as a ConfigSet."""
    words = shlex.split(command, comments=True)
    if words[:3] != ["pulumi", "config", "set"]:
        raise ValueError(f"not a `pulumi config set` command: {command!r}")
    flags = {w for w in words[3:] if w.startswith("--")}
    unknown = flags - {"--secret", "--plaintext", "--path", "--json"}
    if unknown:
        raise ValueError(f"unsupported flags {sorted(unknown)} in {command!r}")
    args = [w for w in words[3:] if not w.startswith("--")]
    if not 1 <= len(args) <= 2:
        raise ValueError(f"expected KEY [VALUE] in {command!r}")
    return ConfigSet(
        args[0], args[1] if len(args) == 2 else None, "--secret" in flags, "--path" in flags, "--json" in flags
    )


def config_set(values: dict[str, Any], project: str, command: ConfigSet, value: str | None = None) -> None:
    """Apply COMMAND to the stack's VALUES as `pulumi config set` does; VALUE answers a prompt."""
    text = command.value if command.value is not None else value
    if text is None:
        raise ValueError(f"`pulumi config set {command.key}` prompts for a value; none was given")
    new: Any = json.loads(text) if command.json else text
    if command.path:
        key, path = _key_and_path(command.key)
        new = _coerce(new) if not command.json else new
        new = Secure(text) if command.secret else new
        full = qualified(project, key)
        if path:
            current = values.get(full)
            values[full] = _set_at(current if isinstance(current, dict | list) else None, path, new)
            return
        values[full] = new
        return
    values[qualified(project, command.key)] = Secure(text) if command.secret else new


def config_rm(values: dict[str, Any], project: str, key: str, path: bool = False) -> None:
    """`pulumi config rm [--path] KEY` on the stack's VALUES (removing what is not there is no error)."""
    if not path:
        values.pop(qualified(project, key), None)
        return
    top, rest = _key_and_path(key)
    full = qualified(project, top)
    if not rest:
        values.pop(full, None)
        return
    container = values.get(full)
    for part in rest[:-1]:
        container = _child(container, part)
    if isinstance(container, dict):
        container.pop(rest[-1], None)
    elif isinstance(container, list) and isinstance(rest[-1], int) and rest[-1] < len(container):
        del container[rest[-1]]


def _child(container: Any, part: str | int) -> Any:
    if isinstance(container, dict):
        return container.get(part)
    if isinstance(container, list) and isinstance(part, int) and part < len(container):
        return container[part]
    return None


def _coerce(text: Any) -> Any:
    """`--path` values: `true`/`false` become booleans, decimal digits (no leading zero) integers."""
    if not isinstance(text, str):
        return text
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?[1-9][0-9]*|0", text):
        return int(text)
    return text


_SEGMENT = re.compile(r'\["((?:[^"\\]|\\.)*)"\]|\[([0-9]+)\]|\.?([^.\[\]]+)')


def _property_path(path: str) -> list[str | int]:
    """`a.b["c.d"][0]` -> ["a", "b", "c.d", 0] (Pulumi's property path syntax)."""
    parts: list[str | int] = []
    position = 0
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if not match or match.end() == position:
            raise ValueError(f"invalid property path {path!r}")
        quoted, index, name = match.groups()
        parts.append(quoted if quoted is not None else int(index) if index is not None else name)
        position = match.end()
    return parts


def _key_and_path(path: str) -> tuple[str, list[str | int]]:
    """`a.b[0]` -> ("a", ["b", 0]): the config key a property path starts with, and the rest of the path."""
    key, *rest = _property_path(path)
    if not isinstance(key, str):
        raise ValueError(f"invalid property path {path!r}: it must start with a config key")
    return key, rest


def _set_at(container: Any, path: Sequence[str | int], new: Any) -> Any:
    head, *rest = path
    if container is not None and not isinstance(container, dict | list):
        raise ValueError(f"expected a {'map' if isinstance(head, str) else 'array'} at {head!r}, found {container!r}")
    if isinstance(head, int):
        items = list(container) if isinstance(container, list) else []
        if head > len(items):
            raise ValueError(f"array index {head} out of range")
        if head == len(items):
            items.append(None)
        items[head] = _set_at(items[head], rest, new) if rest else new
        return items
    mapping = dict(container) if isinstance(container, dict) else {}
    mapping[head] = _set_at(mapping.get(head), rest, new) if rest else new
    return mapping
