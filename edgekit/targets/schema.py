"""A small schema validator for target YAML that names the file, the field and the line.

Why not jsonschema: one more dependency for ~80 lines, and its errors do not
carry YAML line numbers. We validate the *node tree* from ``yaml.compose``
(which keeps ``start_mark`` on every node), then build values with
``yaml.safe_load`` once the tree is known to be well-formed.

A schema is plain data:

- ``Field(type_, required)`` where ``type_`` is ``str``, ``int``, ``float``
  (accepts ints), ``bool``, ``Choice(values)``, a nested ``dict`` schema, ``[item_schema]`` for a
  list, or ``MapOf(value_schema)`` for a mapping with free keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from edgekit.errors import TargetError
from edgekit.safeyaml import compose_yaml, construct

_TAGS = {
    str: ("tag:yaml.org,2002:str",),
    int: ("tag:yaml.org,2002:int",),
    float: ("tag:yaml.org,2002:float", "tag:yaml.org,2002:int"),
    bool: ("tag:yaml.org,2002:bool",),
}
_NAMES = {str: "text", int: "an integer", float: "a number", bool: "true/false"}


@dataclass(frozen=True)
class Field:
    """One field: its type (see module doc) and whether it must be present."""

    type_: Any
    required: bool = True


@dataclass(frozen=True)
class Choice:
    """Text that must be one of ``values`` (precisions, devices, ...)."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class MapOf:
    """A mapping whose values follow ``value``; keys are free text or one of ``keys``
    (a tuple, or a function returning one, called when a file is checked: e.g. the
    backends registered at that moment)."""

    value: Any
    keys: tuple[str, ...] | Callable[[], tuple[str, ...]] = ()


def validate_file(path: Path, schema: dict[str, Field]) -> dict:
    """Parse ``path`` and check it against ``schema``; return the plain dict.

    Raises:
        TargetError: naming the file, the field (dotted path) and the line.
    """
    text = _read(path)
    node = compose_yaml(text, path=path, error=TargetError)  # safe: no tags, aliases bounded
    if node is None:
        raise TargetError(f"{path} is empty; a target needs at least `name`, `cpu` and `backends`", path=path)
    _check(node, schema, "", path)
    return construct(node, path=path, error=TargetError)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TargetError(f"target file {path} does not exist", path=path) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"cannot read target file {path}: {exc}", path=path) from exc


def _fail(path: Path, node: yaml.Node, field: str, message: str) -> TargetError:
    line = node.start_mark.line + 1
    return TargetError(f"{path}, line {line}, field `{field or '<top>'}`: {message}", path=path)


def _check(node: yaml.Node, spec: Any, where: str, path: Path) -> None:
    if isinstance(spec, dict):
        _check_mapping(node, spec, where, path)
    elif isinstance(spec, MapOf):
        if not isinstance(node, yaml.MappingNode):
            raise _fail(path, node, where, "expected a mapping of name: value")
        names = spec.keys() if callable(spec.keys) else spec.keys
        for key, value in node.value:
            if names and key.value not in names:
                raise _fail(path, key, f"{where}.{key.value}", f"unknown name; choose from: {', '.join(names)}")
            _check(value, spec.value, f"{where}.{key.value}", path)
    elif isinstance(spec, list):
        if not isinstance(node, yaml.SequenceNode):
            raise _fail(path, node, where, "expected a list (- item or [a, b])")
        for i, item in enumerate(node.value):
            _check(item, spec[0], f"{where}[{i}]", path)
    elif isinstance(spec, Choice):
        _check_scalar(node, str, where, path)
        if node.value not in spec.values:
            raise _fail(path, node, where, f"{node.value!r} is not one of: {', '.join(spec.values)}")
    else:
        _check_scalar(node, spec, where, path)


def _check_mapping(node: yaml.Node, spec: dict[str, Field], where: str, path: Path) -> None:
    if not isinstance(node, yaml.MappingNode):
        raise _fail(path, node, where, "expected a mapping (key: value)")
    seen = set()
    for key, value in node.value:
        name = key.value
        full = f"{where}.{name}" if where else name
        if name not in spec:
            known = ", ".join(sorted(spec))
            raise _fail(path, key, full, f"unknown field; allowed here: {known}")
        if name in seen:
            raise _fail(path, key, full, "given twice")
        seen.add(name)
        _check(value, spec[name].type_, full, path)
    missing = [k for k, f in spec.items() if f.required and k not in seen]
    if missing:
        raise _fail(path, node, where, f"missing required field(s): {', '.join(missing)}")


def _check_scalar(node: yaml.Node, type_: type, where: str, path: Path) -> None:
    if not isinstance(node, yaml.ScalarNode) or node.tag not in _TAGS[type_]:
        got = node.value if isinstance(node, yaml.ScalarNode) else type(node).__name__.replace("Node", "").lower()
        raise _fail(path, node, where, f"expected {_NAMES[type_]}, got {got[:80]!r}")
    if type_ in (int, float):
        import math

        value = construct(node, path=path, error=TargetError)
        if not (math.isfinite(value) and value > 0):
            raise _fail(path, node, where, f"must be a finite number greater than 0, not {node.value[:40]}")
