"""The one reader of YAML and JSON files that edgekit did not write itself.

Why a module of its own: ``yaml.safe_load`` never runs code, but it still
(a) expands aliases, so an 800-byte "billion laughs" file becomes a tree of a
billion nodes the moment anything walks it (an error message that formats it,
a JSON dump), and (b) refuses ``!!python/object`` tags with a ``ConstructorError``
that reached users as "internal error". Python's ``json`` recurses once per
nesting level, so ``[[[[...`` 100000 deep ends in ``RecursionError``. Every
YAML/JSON file edgekit reads (targets, plan.yaml, manifests, model cards)
goes through here and fails with one sentence naming the file.

Example:
    >>> load_yaml("a: 1", error=ConfigError)
    {'a': 1}
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

from edgekit.errors import ConfigError, EdgekitError

MAX_ALIASES = 16
MAX_JSON_DEPTH = 64
MAX_FILE_BYTES = 16 << 20


class _Loader(yaml.SafeLoader):
    """A SafeLoader that counts alias uses while composing (before any expansion)."""

    max_aliases = MAX_ALIASES

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > self.max_aliases:
                mark = self.peek_event().start_mark
                raise _TooManyAliases(mark)
        return super().compose_node(parent, index)


class _TooManyAliases(yaml.YAMLError):
    def __init__(self, mark: Any) -> None:
        super().__init__("too many aliases")
        self.problem_mark = mark


def _where(path: str | Path | None) -> str:
    return str(path) if path is not None else "YAML text"


def _line(exc: BaseException) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f", line {mark.line + 1}" if mark is not None else ""


def _yaml_error(exc: yaml.YAMLError, path: str | Path | None, error: type[EdgekitError]) -> EdgekitError:
    where = f"{_where(path)}{_line(exc)}"
    if isinstance(exc, _TooManyAliases):
        return error(f"{where}: more than {MAX_ALIASES} YAML aliases (*name), which could expand without bound; "
                     "write the values out instead", path=path)
    if isinstance(exc, yaml.constructor.ConstructorError):
        tag = str(getattr(exc, "problem", "")).rsplit(" ", 1)[-1].strip("'")
        tag = tag.replace("tag:yaml.org,2002:", "!!")
        return error(f"{where}: the YAML tag {tag[:80]} is not allowed (edgekit reads plain YAML only); "
                     "remove the tag", path=path)
    problem = str(getattr(exc, "problem", None) or exc).splitlines()[0][:200]
    return error(f"{where} is not valid YAML ({problem}); fix the syntax at that line", path=path)


def read_text(path: str | Path, error: type[EdgekitError] = ConfigError, *, what: str = "file",
              max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a small UTF-8 text file, refusing a missing, huge or undecodable one in one sentence."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"{what} {path} is {size} bytes, more than the {max_bytes} a {what} can be; "
                        "pass the right file", path=path)
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise error(f"{what} {path} does not exist; check the path", path=path) from exc
    except IsADirectoryError as exc:
        raise error(f"{what} {path} is a folder, not a file; pass the file", path=path) from exc
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text; pass the right file", path=path) from exc
    except OSError as exc:
        raise error(f"cannot read {what} {path} ({exc.strerror or exc}); check its permissions", path=path) from exc


def load_yaml(text: str, *, path: str | Path | None = None, error: type[EdgekitError] = ConfigError) -> Any:
    """Parse YAML safely: no tags beyond plain YAML, at most ``MAX_ALIASES`` aliases.

    Raises:
        error: naming ``path`` (and the line) for bad syntax, a tag or an alias bomb.
    """
    return construct(compose_yaml(text, path=path, error=error), path=path, error=error)


def compose_yaml(text: str, *, path: str | Path | None = None, error: type[EdgekitError] = ConfigError) -> Any:
    """The node tree (with line marks) of one YAML document, aliases counted."""
    loader = None
    try:
        loader = _Loader(text)  # the reader refuses control characters already here
        return loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path, error) from exc
    except RecursionError as exc:
        raise error(f"{_where(path)} nests too deeply to read; flatten it", path=path) from exc
    finally:
        if loader is not None:
            loader.dispose()


def construct(node: Any, *, path: str | Path | None = None, error: type[EdgekitError] = ConfigError) -> Any:
    """Plain Python values of a node from :func:`compose_yaml` (``None`` for an empty file)."""
    if node is None:
        return None
    loader = _Loader("")
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path, error) from exc
    except ValueError as exc:  # a date such as 2020-13-45, an integer of more than 4300 digits
        raise error(f"{_where(path)} holds a value YAML cannot build ({str(exc)[:80]}); quote it or fix it",
                    path=path) from exc
    except RecursionError as exc:
        raise error(f"{_where(path)} nests too deeply to read; flatten it", path=path) from exc
    finally:
        loader.dispose()


def key_lines(node: Any, *, path: str | Path | None = None, error: type[EdgekitError] = ConfigError
              ) -> dict[tuple, int]:
    """The 1-based line of every key and list item of a :func:`compose_yaml` tree, by path.

    ``{(): 1, ("cpu",): 3, ("cpu", "cores"): 5, ("isa", 0): 7}``: a schema error's field path
    (pydantic's ``loc``) finds its line here. A key given twice in one mapping is refused
    (``yaml.safe_load`` silently keeps the last, so a budget could vanish without a word).

    Raises:
        error: naming ``path``, the line and the key given twice.
    """
    lines: dict[tuple, int] = {}
    stack, seen_nodes = ([((), node)] if node is not None else []), set()
    while stack:  # iterative, each node once: an alias (even a recursive one) is not walked again
        loc, item = stack.pop()
        lines.setdefault(loc, item.start_mark.line + 1)
        if id(item) in seen_nodes:
            continue
        seen_nodes.add(id(item))
        if isinstance(item, yaml.MappingNode):
            seen = set()
            for key, value in item.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                if name is not None and name in seen:
                    raise error(f"{_where(path)}, line {key.start_mark.line + 1}: key `{str(name)[:80]}` is given "
                                "twice in one mapping; keep one", path=path)
                seen.add(name)
                lines[(*loc, name)] = key.start_mark.line + 1
                stack.append(((*loc, name), value))
        elif isinstance(item, yaml.SequenceNode):
            stack.extend(((*loc, i), value) for i, value in enumerate(item.value))
    return lines


def read_yaml(path: str | Path, error: type[EdgekitError] = ConfigError, *, what: str = "YAML file") -> Any:
    """:func:`read_text` + :func:`load_yaml`."""
    return load_yaml(read_text(path, error, what=what), path=path, error=error)


def read_section(path: str | Path, key: str, *, what: str, written_by: str,
                 error: type[EdgekitError] = ConfigError) -> dict:
    """The ``key:`` mapping at the top of a saved-settings YAML (``plan:``, ``live:``), read safely.

    Raises:
        ``error``: unreadable file, or no such mapping, naming the file and the command that writes one.
    """
    path = Path(path)
    data = read_yaml(path, error, what=what)  # safe: no tags, aliases bounded
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise error(f"{path} must hold a `{key}:` mapping (write one with `{written_by}`)", path=path)
    return data[key]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def load_json(text: str | bytes, *, path: str | Path | None = None, error: type[EdgekitError] = ConfigError,
              max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse strict JSON: no ``NaN``/``Infinity`` literals, nesting at most ``max_depth`` deep.

    Raises:
        error: naming ``path`` and what is wrong (never the parsed structure itself).
    """
    where = _where(path).replace("YAML text", "JSON text")
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise error(f"{where} nests deeper than {max_depth} levels; it is not a file edgekit wrote", path=path) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise error(f"{where} is not valid JSON ({str(exc)[:200]}); fix or re-create it", path=path) from exc
    if depth(data, max_depth) > max_depth:
        raise error(f"{where} nests deeper than {max_depth} levels; it is not a file edgekit wrote", path=path)
    return data


def read_json(path: str | Path, error: type[EdgekitError] = ConfigError, *, what: str = "JSON file",
              max_bytes: int = MAX_FILE_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """:func:`read_text` + :func:`load_json`."""
    return load_json(read_text(path, error, what=what, max_bytes=max_bytes), path=path, error=error,
                     max_depth=max_depth)


def depth(value: Any, stop: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of lists/dicts (iterative; stops counting past ``stop``)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            if level > stop:
                return level
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def finite(value: Any) -> bool:
    """True for an int/float that is neither NaN nor infinite (bools are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
