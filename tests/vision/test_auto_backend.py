"""``edgekit demo`` with ``--backend auto``: a dynamic-INT8 model is measured on every runtime that
loads it and runs on the fastest, saying so; other models take the first backend, unmeasured."""

from __future__ import annotations

import re

import numpy as np
import pytest

from edgekit.errors import BackendUnavailable


@pytest.fixture(scope="module")
def dynamic_int8(tiny_path, tmp_path_factory):
    from edgekit.compress import quantize_dynamic_int8
    from edgekit.models import load_model

    return quantize_dynamic_int8(load_model(tiny_path), tmp_path_factory.mktemp("dyn") / "tiny-dyn.onnx")


def _measured(note: str) -> dict[str, float]:
    return {name: float(ms) for name, ms in re.findall(r"(\w+) ([\d.]+) ms", note)}


def test_a_dynamic_int8_model_runs_on_the_runtime_measured_fastest(dynamic_int8):
    pytest.importorskip("openvino", reason="the race needs a second runtime (pip install 'edgekit[openvino]')")
    from edgekit.vision.config import compile_live_session

    with compile_live_session(dynamic_int8, "auto") as session:
        notes = [n for n in session.info.notes if n.startswith("auto:")]
        assert len(notes) == 1, session.info.notes
        measured = _measured(notes[0])
        assert set(measured) == {"onnxruntime", "openvino"}, notes[0]
        assert session.info.backend == min(measured, key=measured.get)
        assert notes[0].endswith(f"running on {session.info.backend}")
        x = np.zeros((1, 3, 32, 32), np.float32)
        assert session.predict(x).shape == (1, 10)  # the kept session still runs (the other was closed)


def test_other_models_take_the_first_backend_without_a_race(tiny_path):
    from edgekit.backends import list_backends
    from edgekit.models import load_model
    from edgekit.vision.config import compile_live_session

    with compile_live_session(load_model(tiny_path), "auto") as session:
        assert session.info.backend == list_backends()[0]
        assert not [n for n in session.info.notes if n.startswith("auto:")]


def test_a_runtime_that_cannot_load_the_model_is_left_out_with_its_reason(dynamic_int8):
    """Keep going when one backend fails: the model runs on the one that works, and the note says why
    the other was not measured."""
    from edgekit.backends import compile_session
    from edgekit.vision import _auto_backend

    def refuse(name):
        raise BackendUnavailable(f"{name} is not installed here")

    first = compile_session(dynamic_int8, "onnxruntime")
    with _auto_backend.race(first, ["openvino"], refuse) as session:
        assert session is first
        (note,) = session.info.notes[-1:]
        assert "onnxruntime" in _measured(note) and "not measured: openvino: openvino is not installed here" in note


def test_the_demo_says_which_runtime_auto_chose(dynamic_int8):
    pytest.importorskip("openvino", reason="the race needs a second runtime")
    from edgekit.vision.config import LiveConfig
    from edgekit.vision.demo import run_demo

    said: list[str] = []
    stats = run_demo(LiveConfig(model_obj=dynamic_int8, model="tiny-dyn", source="demo", seconds=0.5, window=False),
                     notice=said.append)
    assert [s for s in said if s.startswith("auto:") and "running on" in s], said
    assert stats["readouts"]["frames_inferred"] > 0


def test_a_first_runtime_that_fails_to_run_is_closed_and_the_other_kept(dynamic_int8):
    pytest.importorskip("openvino", reason="the race needs a second runtime")
    from edgekit.backends import compile_session
    from edgekit.vision import _auto_backend
    from edgekit.vision.config import startup_notes

    first = compile_session(dynamic_int8, "onnxruntime")
    closed = []
    first.run = lambda feed: (_ for _ in ()).throw(RuntimeError("the runtime aborted"))  # fails at the edge: run
    first.close = lambda: closed.append(True)
    with _auto_backend.race(first, ["openvino"], lambda name: compile_session(dynamic_int8, name)) as session:
        assert session.info.backend == "openvino" and closed == [True]
        (note,) = startup_notes(session, None)
        assert set(_measured(note)) == {"openvino"} and "not measured: onnxruntime: the runtime aborted" in note


def test_a_faster_runtime_that_computes_something_else_is_not_chosen(dynamic_int8, tmp_path):
    """Speed is not all: a runtime whose outputs on the probe stray from the first runtime's beyond the
    precision's rule (15 % of the range for dynamic INT8) is left out with the figures, however fast.
    The stray runtime here is OpenVINO given the same graph with its last layer's bias shifted."""
    pytest.importorskip("openvino", reason="the race needs a second runtime")
    import onnx
    from onnx import numpy_helper

    from edgekit.backends import compile_session
    from edgekit.models import load_model
    from edgekit.vision import _auto_backend

    graph = onnx.load(str(dynamic_int8.path))
    last = next(n for n in reversed(graph.graph.node) if n.op_type in ("Add", "Gemm", "MatMul"))
    bias = next(init for init in graph.graph.initializer if init.name in last.input)
    shifted = numpy_helper.to_array(bias) + 100.0
    bias.CopyFrom(numpy_helper.from_array(shifted.astype(numpy_helper.to_array(bias).dtype), bias.name))
    onnx.save(graph, str(tmp_path / "stray.onnx"))
    stray = load_model(tmp_path / "stray.onnx")

    first = compile_session(dynamic_int8, "onnxruntime")
    with _auto_backend.race(first, ["openvino"], lambda name: compile_session(stray, name)) as session:
        assert session is first
        (note,) = session.info.notes[-1:]
        assert set(_measured(note)) == {"onnxruntime"}, note
        assert re.search(r"not measured: openvino: its outputs differ from onnxruntime's on the same input "
                         r"by \d+% of their range \(allowed for int8-dynamic: 15%\)", note), note
