"""``plan.yaml`` files and ``PlanConfig`` arguments with wrong types, endless durations and YAML bombs.

Each case: ``ConfigError`` (a subclass of ``EdgekitError``) with one sentence naming the file
and the field, within a second, never formatting an expanded alias structure.
"""

from __future__ import annotations

import time

import pytest

from edgekit.errors import EdgekitError
from edgekit.planner.config import PlanConfig

from .conftest import assert_sentence

LAUGHS = "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9 if i else ["lol"] * 9) + "]\n" for i in range(9))

YAMLS = {
    "seconds-with-unit": ("seconds: '2s'", "seconds"),
    "seconds-inf": ("seconds: .inf", "seconds"),
    "seconds-nan": ("seconds: .nan", "seconds"),
    "seconds-negative": ("seconds: -2", "seconds"),
    "seconds-zero": ("seconds: 0", "seconds"),
    "seconds-over-cap": ("seconds: 100000.0", "seconds"),
    "seconds-bool": ("seconds: true", "seconds"),
    "methods-int": ("methods: 5", "methods"),
    "methods-unknown": ("methods: [fp33]", "methods"),
    "methods-empty": ("methods: []", "methods"),
    "methods-mapping": ("methods: {fp32: 1}", "methods"),
    "drop-text": ("max_accuracy_drop: 'lots'", "max_accuracy_drop"),
    "drop-one": ("max_accuracy_drop: 1.0", "max_accuracy_drop"),
    "drop-negative": ("max_accuracy_drop: -0.1", "max_accuracy_drop"),
    "drop-alias-structure": ("max_accuracy_drop: *l1", "max_accuracy_drop"),
    "objective-unknown": ("objective: fastest", "objective"),
    "calibration-zero": ("calibration_samples: 0", "calibration_samples"),
    "calibration-float": ("calibration_samples: 1.5", "calibration_samples"),
    "latency-budget-text": ("latency_budget_ms: soon", "latency_budget_ms"),
    "model-size-negative": ("max_model_mb: -5", "max_model_mb"),
    "verify-text": ("verify: 'maybe'", "verify"),
    "unknown-key": ("secnds: 2", "secnds"),
    "target-list": ("target: [a, b]", "target"),
}


def _plan(tmp_path, body: str, prefix: str = ""):
    path = tmp_path / "plan.yaml"
    path.write_text(prefix + "plan:\n  model: demo:digits\n  " + body + "\n")
    return path


@pytest.mark.parametrize("case", sorted(YAMLS))
def test_a_bad_plan_yaml_value_is_one_sentence_naming_the_field(tmp_path, case):
    body, named = YAMLS[case]
    prefix = "".join(LAUGHS.splitlines(keepends=True)[:2]) if "alias" in case else ""
    path = _plan(tmp_path, body, prefix)
    start = time.perf_counter()
    with pytest.raises(EdgekitError) as info:
        PlanConfig.load(path)
    assert time.perf_counter() - start < 2
    assert_sentence(str(info.value), "plan.yaml", named)
    assert "lol" not in str(info.value)


WHOLE = {
    "billion-laughs": (LAUGHS + "plan:\n  model: x\n  max_accuracy_drop: *l8\n", "aliases"),
    "python-tag": ("plan: !!python/object/apply:os.system ['touch MARKER']\n", "python"),
    "python-tag-value": ("plan:\n  model: !!python/object/new:os.system [touch MARKER]\n", "python"),
    "no-plan-key": ("model: demo:digits\n", "plan:"),
    "plan-a-list": ("plan: [1, 2]\n", "plan:"),
    "no-model": ("plan:\n  seconds: 2\n", "model"),
    "empty": ("", "plan:"),
    "not-yaml": ("plan: {model: [\n", "line"),
    "control-bytes": ("plan:\n  model: \x07\x00\n", "plan.yaml"),
}


@pytest.mark.parametrize("case", sorted(WHOLE))
def test_a_bad_plan_yaml_file_is_one_sentence(tmp_path, case, marker, monkeypatch):
    text, named = WHOLE[case]
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace("MARKER", str(marker)))
    start = time.perf_counter()
    with pytest.raises(EdgekitError) as info:
        PlanConfig.load(path)
    assert time.perf_counter() - start < 2
    assert_sentence(str(info.value), "plan.yaml", named)


def test_methods_given_as_one_string_means_that_one_method(tmp_path):
    assert PlanConfig.load(_plan(tmp_path, "methods: fp32")).methods == ("fp32",)
    assert PlanConfig("demo:digits", methods="fp32, int8").methods == ("fp32", "int8")


ARGS = {
    "seconds-inf": ({"seconds": float("inf")}, "seconds"),
    "seconds-huge": ({"seconds": 1e9}, "seconds"),
    "seconds-text": ({"seconds": "2s"}, "seconds"),
    "methods-int": ({"methods": 5}, "methods"),
    "drop-text": ({"max_accuracy_drop": "lots"}, "max_accuracy_drop"),
    "drop-nested": ({"max_accuracy_drop": [[["lol"] * 9] * 9] * 9}, "max_accuracy_drop"),
    "model-none": ({"model": None}, "model"),
}


@pytest.mark.parametrize("case", sorted(ARGS))
def test_plan_config_arguments_are_checked(case):
    changes, named = ARGS[case]
    with pytest.raises(EdgekitError) as info:
        PlanConfig(**{"model": "demo:digits", **changes})
    assert_sentence(str(info.value), named)
    assert "lol" not in str(info.value)
