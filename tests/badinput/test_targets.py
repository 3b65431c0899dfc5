"""Target YAMLs with impossible numbers, YAML bombs and code tags.

Each case: ``TargetError`` with one sentence naming the file (and the field or line);
no tag is ever constructed (no marker), and an alias bomb is refused while composing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edgekit.errors import TargetError
from edgekit.targets import load_target

from .conftest import assert_sentence

GOOD = (Path(__file__).resolve().parents[2] / "targets" / "raspberry-pi-5.yaml").read_text()

BILLION_LAUGHS = "".join(
    f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9 if i else ['"lol"'] * 9) + "]\n" for i in range(9)
)


def _edit(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


CASES = {
    "negative-cores": (_edit("cores: 4", "cores: -4"), "cpu.cores"),
    "zero-cores": (_edit("cores: 4", "cores: 0"), "cpu.cores"),
    "zero-memory": (_edit("memory_mb: 8192", "memory_mb: 0"), "memory_mb"),
    "nan-peak": (_edit("value: 15.0", "value: .nan"), "peak_gflops.value"),
    "inf-peak": (_edit("value: 15.0", "value: .inf"), "peak_gflops.value"),
    "negative-latency-budget": (_edit("latency_ms: 100", "latency_ms: -1"), "budgets.latency_ms"),
    "text-cores": (_edit("cores: 4", "cores: four"), "cpu.cores"),
    "float-cores": (_edit("cores: 4", "cores: 4.5"), "cpu.cores"),
    "unknown-precision": (_edit("precisions: [fp32]", "precisions: [fp7]"), "precisions"),
    "unknown-backend": (_edit("  torch:\n", "  tensorflow:\n"), "tensorflow"),
    "unknown-field": (GOOD + "overclock: true\n", "overclock"),
    "missing-name": (_edit("name: raspberry-pi-5\n", ""), "name"),
    "python-object-tag": (GOOD + "extra: !!python/object/apply:os.system ['touch MARKER']\n", "python"),
    "python-name-tag": ("name: !!python/name:os.system\n" + GOOD.split("\n", 2)[2], "python"),
    "billion-laughs": (BILLION_LAUGHS, "aliases"),
    "not-yaml": ("name: [unclosed\n", "line"),
    "a-list": ("- 1\n- 2\n", "mapping"),
    "empty": ("", "empty"),
    "duplicate-key": (GOOD + "memory_mb: 16\n", "twice"),
    "binary": ("\x00\x01\x02", "target"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_target_yaml_is_one_sentence_naming_the_file(tmp_path, case, marker, monkeypatch):
    text, named = CASES[case]
    monkeypatch.chdir(tmp_path)  # a payload's `touch MARKER` would land beside the sentinel
    path = tmp_path / f"{case}.yaml"
    path.write_text(text.replace("MARKER", str(marker)))
    start = time.perf_counter()
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert time.perf_counter() - start < 5
    assert_sentence(str(info.value), path.name, named)


def _line(text: str, snippet: str) -> int:
    """The 1-based line of ``snippet`` in ``text`` (so the cases follow edits of the bundled file)."""
    return text[:text.index(snippet)].count("\n") + 1


# Checked by the shared pydantic helper: each message names the file, the line of the key at
# fault, the field path and the fix -- in the same shape as a manifest or plan.yaml error.
LINED = {
    "text-two-levels-deep": (_edit("latency_ms: 47", "latency_ms: fast"), "latency_ms: fast",
                             "references[0].latency_ms", "must be a number (got 'fast')"),
    "int-in-a-nested-list": (_edit("devices: [cpu]", "devices: [cpu, 7]"), "devices: [cpu, 7]",
                             "backends.onnxruntime.devices[1]", "must be 'cpu'"),
    "negative-model-budget": (_edit("model_mb: 100", "model_mb: -100"), "model_mb: -100",
                              "budgets.model_mb", "greater than 0 (got -100)"),
    "negative-reference-flops": (_edit("flops: 1138000000", "flops: -1"), "flops: -1",
                                 "references[0].flops", "greater than or equal to 1"),
    "unknown-backend-named": (_edit("  torch:\n", "  tflite:\n"), "tflite:", "backends.tflite",
                              "choose from: onnxruntime"),
    "unknown-nested-key": (_edit("  freq_ghz: 2.4\n", "  freq_ghz: 2.4\n  turbo_ghz: 3.0\n"), "turbo_ghz",
                           "cpu.turbo_ghz", "unknown field; allowed here: arch, cores, freq_ghz, isa, model"),
    "bool-cores": (_edit("cores: 4", "cores: yes"), "cores: yes", "cpu.cores", "must be an integer"),
    "null-memory": (_edit("memory_mb: 8192", "memory_mb: null"), "memory_mb: null", "memory_mb",
                    "must be an integer"),
    "precision-of-a-figure": (_edit("precision: fp64", "precision: fp128"), "precision: fp128",
                              "peak_gflops.precision", "fp128"),
    "missing-source": (_edit("  source: https://leoncode.co.uk/articles/raspberry-pi-benchmarks\n"
                             "mem_bandwidth_gbs:", "mem_bandwidth_gbs:"), "peak_gflops:",
                       "peak_gflops.source", "is missing"),
    "duplicate-nested-key": (_edit("  model_mb: 100\n", "  model_mb: 100\n  latency_ms: 5\n"), "latency_ms: 5",
                             "latency_ms", "twice"),
}


@pytest.mark.parametrize("case", sorted(LINED))
def test_a_bad_target_value_names_file_line_field_and_fix(tmp_path, case):
    from edgekit.targets.schema import FIX

    text, at, field, what = LINED[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(TargetError) as info:
        load_target(path)
    message = str(info.value)
    assert_sentence(message, f"{path}, line {_line(text, at)}: ", field, what)
    assert message.endswith("; keep one" if case.startswith("duplicate") else f"; {FIX}"), message


@pytest.mark.parametrize("value", ["2020-13-45", "1" * 5000])
def test_a_scalar_yaml_cannot_build_is_one_sentence(tmp_path, value):
    path = tmp_path / "odd.yaml"
    path.write_text(_edit("description: Raspberry Pi 5", f"description: {value}\nx: Raspberry Pi 5"))
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert_sentence(str(info.value), "odd.yaml", "quote it")
