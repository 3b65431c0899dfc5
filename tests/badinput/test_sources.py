"""Frame sources and the public API called with None, wrong types and empty arrays.

Each case: an ``EdgekitError`` subclass or a ``TypeError`` naming what to pass, in one sentence
(never an ``AttributeError`` from deep inside).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from edgekit.errors import EdgekitError, SourceError

from .conftest import assert_sentence


@pytest.fixture(scope="module")
def session():
    from edgekit.backends import compile_session
    from edgekit.models import load_model

    with compile_session(load_model("demo:digits"), "onnxruntime", "cpu", "fp32") as compiled:
        yield compiled


@pytest.fixture(scope="module")
def predictor(digits_bundle):
    from edgekit.deployment.predictor import Predictor

    with Predictor.open(digits_bundle) as opened:
        yield opened


@pytest.mark.parametrize("source", ["missing-video.mp4", "no/such/folder/", "rtsp-typo://x"],
                         ids=["video", "folder", "scheme"])
def test_live_pipeline_accepts_a_path_and_names_a_missing_one(session, source):
    from edgekit.vision.pipeline import LivePipeline

    with pytest.raises(SourceError) as info:
        LivePipeline(source, session)
    assert_sentence(str(info.value), source.split("/")[0])


def test_live_pipeline_with_a_path_builds_its_source(session, tmp_path):
    import cv2

    from edgekit.vision.pipeline import LivePipeline

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    pipeline = LivePipeline(str(tmp_path), session)
    assert pipeline.source.info.kind == "folder"


@pytest.mark.parametrize("source", [None, 3.5, object()], ids=["None", "float", "object"])
def test_live_pipeline_with_something_else_is_a_type_error(session, source):
    from edgekit.vision.pipeline import LivePipeline

    with pytest.raises(TypeError) as info:
        LivePipeline(source, session)
    assert_sentence(str(info.value), "frame source")


def test_a_folder_source_skips_an_image_bomb_without_decoding_it(tmp_path):
    from edgekit.vision.sources import open_source

    side = 30000
    ihdr = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                                        + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
    source = open_source(str(tmp_path))
    source.open()
    assert source.read() is None
    assert [Path(p).name for p in source.skipped] == ["bomb.png"]


@pytest.mark.parametrize(("inputs", "error"), [
    ([[0.0] * 4], EdgekitError), (None, EdgekitError), ("image", EdgekitError), (5, EdgekitError),
], ids=["list", "None", "str", "int"])
def test_session_run_with_a_non_array_names_what_to_pass(session, inputs, error):
    with pytest.raises(error) as info:
        session.run(inputs)
    assert_sentence(str(info.value), "numpy array")


@pytest.mark.parametrize(("image", "error"), [
    (np.zeros((0, 0, 3), np.uint8), EdgekitError),
    (np.zeros((5, 0), np.uint8), EdgekitError),
    (np.zeros((4, 4, 7), np.uint8), EdgekitError),
    (None, TypeError),
    ("seven.png", EdgekitError),  # a path is read now: this one is missing, and named
], ids=["0x0", "5x0", "7-channels", "None", "path"])
def test_predict_on_a_non_image_names_what_to_pass(predictor, image, error):
    with pytest.raises(error) as info:
        predictor.predict(image)
    assert_sentence(str(info.value), "image")


@pytest.mark.parametrize("model", [None, 42], ids=["None", "int"])
def test_bench_with_a_non_model_is_a_type_error(model):
    from edgekit.evaluation import bench

    with pytest.raises(TypeError) as info:
        bench(model)
    assert_sentence(str(info.value), "Model")


def test_bench_takes_a_model_path_as_evaluate_and_deploy_do_and_names_a_missing_one(tmp_path):
    """``edgekit.bench("m.onnx")`` was a TypeError asking for load_model first, while evaluate("m.onnx") ran."""
    from edgekit.errors import ModelLoadError
    from edgekit.evaluation import bench

    with pytest.raises(ModelLoadError) as info:
        bench(str(tmp_path / "nope.onnx"))
    assert_sentence(str(info.value), "nope.onnx")
    results = bench("demo:digits", ["onnxruntime"], seconds=0.2, warmup=0.1)
    assert [(r.backend, r.ok) for r in results] == [("onnxruntime", True)]


def test_evaluate_opens_a_data_path_as_deploy_and_plan_do(tmp_path):
    """``evaluate(m, "demo-test")`` was a TypeError asking for open_dataset first."""
    from edgekit.errors import DataError
    from edgekit.evaluation import evaluate

    assert evaluate("demo:digits", "demo-test", limit=40).metrics.accuracy > 0.9
    with pytest.raises(DataError) as info:
        evaluate("demo:digits", str(tmp_path / "nowhere"))
    assert_sentence(str(info.value), "nowhere")
