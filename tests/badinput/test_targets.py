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
