"""A plan compiles each OpenVINO candidate once: timing it imports the model compiled to score it,
and nothing is left on disk."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from edgekit.backends import compile_session
from edgekit.backends.scratch import compile_scratch, scratch_folder
from edgekit.planner import plan

pytest.importorskip("openvino")


def _blobs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.blob")) if folder.is_dir() else []


def test_a_second_compile_inside_the_scratch_is_an_import_and_the_folder_goes_away(world):
    model, _ = world
    x = np.random.default_rng(0).random((1, *model.inputs[0].shape[1:]), dtype=np.float32)
    plain = compile_session(model, "openvino").predict(x)
    with compile_scratch() as folder:
        first = compile_session(model, "openvino")
        after_first = _blobs(folder)
        second = compile_session(model, "openvino")
        assert after_first and _blobs(folder) == after_first  # the second compile wrote nothing: it imported
        np.testing.assert_allclose(second.predict(x), plain, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(first.predict(x), plain, rtol=1e-5, atol=1e-6)
        seen_elsewhere = []
        other = threading.Thread(target=lambda: seen_elsewhere.append(scratch_folder()))
        other.start()
        other.join()
        assert seen_elsewhere == [None]  # another thread (a benchmark beside the plan) compiles as asked
    assert not folder.exists() and scratch_folder() is None


def test_a_plan_compiles_each_openvino_file_once(world, monkeypatch):
    import openvino

    model, data = world
    calls: list[tuple[str, str | None, int]] = []
    real = openvino.Core.compile_model

    def spy(self, source, device=None, config=None):
        compiled = real(self, source, device, config)
        cache = (config or {}).get("CACHE_DIR")
        calls.append((str(source), cache, len(_blobs(Path(cache))) if cache else 0))
        return compiled

    monkeypatch.setattr(openvino.Core, "compile_model", spy)
    report = plan(model.path, data=data, methods=("fp32", "fp16"), seconds=0.3, max_accuracy_drop=0.5, cache=False)
    ours = [c for c in calls if c[0].endswith((".onnx", ".xml"))]
    assert {c.key for c in report.candidates} >= {"openvino/cpu/fp32", "openvino/cpu/fp16"}
    folders = {cache for _, cache, _ in ours}
    assert len(folders) == 1 and None not in folders  # every compile of the plan went through one scratch
    by_file: dict[str, list[int]] = {}
    for source, _, blobs in ours:
        by_file.setdefault(source, []).append(blobs)
    assert any(len(counts) >= 2 for counts in by_file.values())  # scored, then timed
    assert ours[-1][2] == len(by_file)  # one blob per file: every later compile of a file was an import
    assert not Path(folders.pop()).exists()
