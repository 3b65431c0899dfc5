"""Adding a backend is one new module plus one registry line.

``toy_backend.py`` (onnxruntime under another name, with its own options type)
is registered with one ``register_backend`` call; then ``bench``, ``plan``
(target "local"), ``deploy`` and ``Predictor.open`` of the bundle use it with
no other change anywhere. The registry is put back afterwards.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from edgekit.backends import backends_for, capabilities, compile_session, list_backends, register_backend
from edgekit.backends.registry import unregister_backend

NAME = "lean-ort"


@pytest.fixture()
def lean(monkeypatch, tmp_path):
    """Register the toy backend for one test; unregister it (and forget its module) after."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))  # the plan cache: nothing shared with other tests
    before = list_backends()
    register_backend(NAME, "toy_backend:LeanOrtBackend", aliases=("lean",))  # the one registry line
    yield NAME
    unregister_backend(NAME)
    sys.modules.pop("toy_backend", None)
    assert list_backends() == before


def test_registry_lists_it_with_its_declared_capabilities(lean):
    assert list_backends()[-1] == NAME
    caps = capabilities("lean")  # the alias resolves too
    assert caps.options.__name__ == "LeanOrtOptions" and caps.short_label == "ORT-lean"
    assert NAME in backends_for("onnx", "int8") and NAME not in backends_for("openvino")


def test_auto_gives_options_of_its_type_to_it_only(lean, onnx_only):
    options = capabilities(NAME).make_options(threads=2)
    with compile_session(onnx_only, NAME, options=options) as session:
        assert session.info.backend == NAME and session.info.threads == 2
    with compile_session(onnx_only, "auto", options=options) as session:  # onnxruntime first, not given them
        assert session.info.backend == "onnxruntime" and "lean: one thread" not in session.info.notes


def test_bench_measures_it_alongside_the_built_in_backends(lean, onnx_only):
    from edgekit.evaluation import bench

    results = bench(onnx_only, seconds=0.3, warmup=0.1)
    by_backend = {r.backend: r for r in results if r.device == "cpu"}
    assert by_backend[NAME].ok and by_backend[NAME].p50_ms > 0
    assert by_backend["onnxruntime"].ok  # the built-in ones are still there


@pytest.mark.slow
def test_plan_deploy_and_predictor_pick_it_up(lean, tmp_path):
    """plan on "local" builds a candidate for it; its bundle names it, and opens with it."""
    import edgekit
    from edgekit.data import open_dataset
    from edgekit.deployment import Predictor
    from edgekit.targets import load_target

    assert NAME in load_target("local").backends  # the local target asks the registry

    report = edgekit.plan("demo:digits", target="local", methods=("fp32", "int8"), seconds=0.3,
                          max_accuracy_drop=0.5, cache=False)
    mine = {c.method: c for c in report.candidates if c.backend == NAME}
    assert set(mine) == {"fp32", "int8"}, [c.key for c in report.candidates]
    assert mine["fp32"].status in ("valid", "chosen", "rejected") and mine["fp32"].accuracy > 0.5
    assert mine["int8"].model["path"] == next(c.model["path"] for c in report.candidates
                                              if c.key == "onnxruntime/cpu/int8")  # the same INT8 file, built once

    bundle = edgekit.deploy(mine["fp32"], target="local", out=tmp_path / "bundle", samples=16)
    manifest = json.loads((Path(bundle.root) / "manifest.json").read_text())
    assert manifest["backends"][0]["backend"] == NAME
    assert "onnxruntime>=1.17" in (Path(bundle.root) / "requirements.txt").read_text()

    with Predictor.open(tmp_path / "bundle") as predictor:
        assert predictor.backend == NAME
        image, _label = open_dataset("demo-test")[0]
        assert predictor.predict(image).label in predictor.labels
