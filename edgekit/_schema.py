"""Validate a file's parsed content against a pydantic model, in one sentence.

Why pydantic, and one helper: every file edgekit reads (bundle manifest, plan
YAML, model card, target YAML, device list) gets types, ranges and enums from one
library, and every failure reads the same way:
``<file>[, line N]: field a.b[0].c <what is wrong> (got <short scalar>); <fix>``
(the line for a hand-written YAML whose key lines were recorded).
The offending value is never formatted whole (a billion-laughs structure or a
30 MB string would make the message itself the attack). Unknown keys are
warned about (a typo in an optional key would otherwise pass silently) rather
than refused, so files from a newer minor version still open -- except in a
schema declared ``extra="forbid"`` (target YAML), where the message lists the allowed keys.

pydantic costs ~0.1 s to import, so only the functions that read files import
this module (``import edgekit`` stays light).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from edgekit.errors import EdgekitError, warn_caller

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base of every file schema: no silent coercion of ``"abc"`` to a number, extra keys kept (then warned)."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True, allow_inf_nan=False)


class Loose(Strict):
    """A mapping whose extra keys are expected (free-form figures); never warned about."""


class PreprocessSchema(Strict):
    """``Preprocess.to_dict()`` as found in a manifest or a model card (a 0x0 size was an internal error)."""

    size: Annotated[list[Annotated[int, Field(ge=1, le=16384)]], Field(min_length=2, max_length=2)] = (224, 224)
    mean: Annotated[list[float], Field(min_length=1, max_length=4)] = (0.0, 0.0, 0.0)
    std: Annotated[list[Annotated[float, Field(gt=0.0)]], Field(min_length=1, max_length=4)] = (1.0, 1.0, 1.0)
    scale: Annotated[float, Field(gt=0.0, le=1e6)] = 1.0 / 255.0
    channel_order: Literal["RGB", "BGR", "GRAY"] = "RGB"
    resize: Literal["stretch", "center_crop", "letterbox"] = "stretch"
    crop_ratio: Annotated[float, Field(gt=0.0, le=1.0)] = 0.875
    layout: Literal["NCHW", "NHWC"] = "NCHW"


class CardSchema(Loose):
    """A model card ``X.json``: the fields edgekit acts on; anything else is kept as metadata."""

    preprocess: PreprocessSchema | None = None
    labels: Annotated[list[Annotated[str, StringConstraints(max_length=512)]], Field(max_length=100_000)] | None = None
    task: Annotated[str, StringConstraints(max_length=32)] | None = None
    input_shape: Annotated[list[Annotated[int, Field(ge=-1, le=1 << 20)] | str | None], Field(max_length=8)] | None = None


_BRANCHES = tuple(f"{kind}[" for kind in ("literal", "union", "nullable", "tagged-union", "function-after",
                                          "function-before", "function-wrap", "function-plain"))


def field_path(loc: tuple) -> str:
    """``("inputs", 0, "name")`` -> ``inputs[0].name``."""
    out = ""
    for part in loc:
        if isinstance(part, str) and part.startswith(_BRANCHES):
            continue  # pydantic's name of one branch of a union or validator, not a key of the file
        if isinstance(part, int) or (isinstance(part, str) and not part.isidentifier() and part[:1] != "["):
            out += f"[{str(part)[:60]!r}]" if isinstance(part, str) else f"[{part}]"
        elif part == "[key]":
            continue
        elif not str(part).startswith(("function-", "constrained-")) and part not in ("str", "int", "float"):
            out += f".{part}" if out else str(part)
    return out or "<top>"


def _message(error: dict, schema: type[BaseModel]) -> str:
    kind, loc = error.get("type"), tuple(error.get("loc", ()))
    if kind in ("model_type", "dict_type"):
        return "must be a mapping (key: value)"
    if kind == "extra_forbidden":
        allowed = _allowed(schema, loc)
        return "is an unknown field" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
    msg = str(error.get("msg", "is invalid"))
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    msg = msg.replace("Input should be a valid ", "must be a ").replace("Input should be ", "must be ")
    msg = msg.replace("must be a integer", "must be an integer")
    msg = "is missing" if msg == "Field required" else msg
    return (msg[:1].lower() + msg[1:])[:200] + _got(error.get("input"), loc)


def _got(value: Any, loc: tuple) -> str:
    """`` (got 'four')`` for a scalar value (cut short: a 30 MB string must not become the message)."""
    if not isinstance(value, (str, int, float, bool)) or (loc and loc[-1] == "[key]"):
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18:
        return " (got a huge integer)"
    return f" (got {value[:40]!r})" if isinstance(value, str) else f" (got {value!r})"


def _allowed(schema: type[BaseModel], loc: tuple) -> list[str]:
    """The field names the schema declares where the unknown key ``loc[-1]`` was found."""
    model: type[BaseModel] | None = schema
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is not None:  # else a list index or a free mapping key: the same model goes on
            model = next(iter(_models(field.annotation)), None)
        if model is None:
            return []
    return sorted(model.model_fields)


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


def line_of(lines: Mapping[tuple, int], loc: tuple) -> int | None:
    """The line of the deepest key of ``loc`` found in ``lines`` (a missing key: its parent's line)."""
    found, line = (), lines.get(())
    for part in loc:  # pydantic's own parts ("[key]", "function-after[...]") are skipped
        if (*found, part) in lines:
            found = (*found, part)
            line = lines[found]
    return line


def validate(schema: type[M], data: Any, *, where: str | Path, error: type[EdgekitError], fix: str,
             path: str | Path | None = None, lines: Mapping[tuple, int] | None = None) -> M:
    """``schema.model_validate(data)``; on failure one ``error`` naming ``where``, the field and ``fix``.

    ``lines`` (key path -> line, from :func:`edgekit.safeyaml.key_lines`) adds ``, line N`` after
    ``where`` for a hand-written YAML file. Unknown keys (anywhere in the tree) are warned about
    once each with an :class:`EdgekitWarning` (a schema with ``extra="forbid"`` refuses them instead).
    """
    try:
        model = schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        line = line_of(lines, tuple(first["loc"])) if lines else None
        at = f"{where}, line {line}" if line else str(where)
        raise error(f"{at}: field {field_path(first['loc'])} {_message(first, schema)}; {fix}",
                    path=path) from exc
    for key in unknown_keys(model):
        warn_caller(f"{where}: unknown field `{key}` ignored; check its spelling")
    return model


def check_section(schema: type[M], data: Any, *, where: str | Path, section: str, fix: str,
                  required: tuple[str, ...] = ()) -> dict:
    """A saved-settings mapping (``plan:``, ``live:``) checked against ``schema``: the keys it holds, with
    the values the schema made of them (``methods: fp32`` -> ``["fp32"]``); unknown keys refused.

    Why refused here and only warned in :func:`validate`: a settings file is written by edgekit and
    replayed whole, so a misspelt ``sorce:`` would silently run the default source.

    Raises:
        ConfigError: naming ``where``, the key or field, and ``fix``.
    """
    from edgekit.errors import ConfigError

    if not isinstance(data, dict):
        raise ConfigError(f"{where}: `{section}:` must be a mapping of settings; {fix}")
    unknown = sorted(str(k)[:40] for k in data if k not in schema.model_fields)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed keys: "
                          f"{', '.join(sorted(schema.model_fields))}")
    for key in required:
        if key not in data:
            raise ConfigError(f"{where}: no `{key}:` given; {fix}")
    model = validate(schema, data, where=where, error=ConfigError, fix=fix)
    return {k: getattr(model, k) for k in data}


def unknown_keys(model: BaseModel, prefix: str = "") -> list[str]:
    """Dotted paths of keys no schema declares (``Loose`` mappings excepted)."""
    found = []
    if not isinstance(model, Loose):
        found += [f"{prefix}{k}" for k in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, (list, tuple)) else [value]
        for i, item in enumerate(items):
            if isinstance(item, BaseModel):
                where = f"{prefix}{name}[{i}]." if isinstance(value, (list, tuple)) else f"{prefix}{name}."
                found += unknown_keys(item, where)
    return found
