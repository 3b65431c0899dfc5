"""Every public function, called with ``None``, a number and an empty list for its required arguments.

Each call either works or raises an ``EdgekitError`` subclass or a ``TypeError`` that names
what to pass: never an ``AttributeError``/``KeyError`` from deep inside.
"""

from __future__ import annotations

import importlib
import inspect
import warnings

import pytest

from edgekit.errors import EdgekitError

PACKAGES = ["edgekit", "edgekit.models", "edgekit.backends", "edgekit.data", "edgekit.evaluation", "edgekit.compress",
            "edgekit.planner", "edgekit.deployment", "edgekit.vision", "edgekit.targets", "edgekit.hardware",
            "edgekit.zoo"]
# a task value checker: it parses what it is given and says "unknown task" (ValueError), as Task.parse does
NOT_AN_ENTRY_POINT = {"require_task"}
BAD_VALUES = {"None": None, "int": 12345, "list": []}


def _public_functions() -> list[tuple[str, object]]:
    found, seen = [], set()
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not inspect.isfunction(obj) or id(obj) in seen or name in NOT_AN_ENTRY_POINT:
                continue
            seen.add(id(obj))
            required = [p for p in inspect.signature(obj).parameters.values()
                        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            if required:
                found.append((f"{package}.{name}", obj))
    return found


FUNCTIONS = _public_functions()


@pytest.mark.parametrize("bad", sorted(BAD_VALUES))
@pytest.mark.parametrize(("name", "function"), FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_a_public_function_refuses_a_wrong_argument_in_one_sentence(name, function, bad, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing a call might write lands in the checkout
    required = [p for p in inspect.signature(function).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            function(*[BAD_VALUES[bad]] * len(required))
    except (EdgekitError, TypeError) as exc:
        text = str(exc)
        assert text and "\n" not in text.strip() and "object has no attribute" not in text, text[:300]


def test_the_sweep_covers_the_entry_points():
    names = {n.rsplit(".", 1)[1] for n, _ in FUNCTIONS}
    assert {"load_model", "compile_session", "evaluate", "bench", "deploy", "to_fp16", "quantize_int8", "plan"} <= names
