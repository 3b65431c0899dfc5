"""A script gives ``load_model`` a model's card as the CLI's flags say it, and prints what it gets back.

Found by following the README's Python column with ShuffleNet: ``preprocess={"size": 224, "resize":
"shorter-crop", ...}`` stopped at "'int' object is not iterable"; ``labels="imagenet_classes.txt"``
was refused as not a list; and ``print(evaluate(...))`` on 500 ImageNet photos wrote 3 MB.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import DataError, ModelLoadError
from edgekit.evaluation.metrics import compute_metrics
from edgekit.models import load_model
from edgekit.models.card_options import CardOptions, apply_card_options

IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def test_the_card_in_the_clis_words_feeds_the_model_as_the_flags_do(tiny_onnx, tmp_path):
    (tmp_path / "classes.txt").write_text("".join(f"class {i}\n" for i in range(10)))
    scripted = load_model(tiny_onnx, preprocess={"size": 32, "resize": "shorter-crop", **IMAGENET},
                          labels=str(tmp_path / "classes.txt"))
    flagged = apply_card_options(load_model(tiny_onnx), CardOptions(
        size=32, resize="shorter-crop", mean=tuple(IMAGENET["mean"]), std=tuple(IMAGENET["std"]),
        labels=tmp_path / "classes.txt"))
    assert scripted.preprocess == flagged.preprocess
    assert scripted.labels == flagged.labels == tuple(f"class {i}" for i in range(10))
    photo = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    assert np.array_equal(scripted.preprocess(photo), flagged.preprocess(photo))
    assert scripted.preprocess(photo).shape == (1, 3, 32, 32)


@pytest.mark.parametrize(("preprocess", "named"), [
    ({"sise": 32}, "unknown preprocess key 'sise'; the keys are size, mean"),
    ({"size": "big"}, "size must be one number .* not 'big'"),
    ({"size": 0}, "size must be whole numbers above 0, not 0"),
    ({"resize": "crop-centre"}, "resize must be one of .*shorter-crop.* not 'crop-centre'"),
    ({"mean": "abc"}, "mean must be numbers, one per channel"),
])
def test_a_wrong_card_names_the_key_and_what_it_takes(tiny_onnx, preprocess, named):
    with pytest.raises(ModelLoadError, match=rf"load_model\(preprocess=\.\.\.\) is not valid: {named}"):
        load_model(tiny_onnx, preprocess=preprocess)


def test_a_labels_file_that_is_not_there_is_named(tiny_onnx, tmp_path):
    with pytest.raises(DataError, match="labels file .*classes.txt does not exist"):
        load_model(tiny_onnx, labels=tmp_path / "classes.txt")


def test_a_printed_result_on_a_thousand_classes_is_a_summary():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 1000, 500)
    y_pred = np.where(rng.random(500) < 0.75, y_true, rng.integers(0, 1000, 500))
    metrics = compute_metrics(y_true, y_pred, classes=[f"class {i}" for i in range(1000)])
    shown = repr(metrics)
    assert len(shown) < 1000, len(shown)
    assert f"accuracy={metrics.accuracy}" in shown and "n=500" in shown
    assert len(metrics.per_class()) == 1000 and len(metrics.to_dict()["confusion"]) == 1000  # all still there


def test_a_printed_eval_result_leaves_out_the_per_image_tuples(tiny_onnx, class_photos):
    from edgekit.data import open_dataset
    from edgekit.evaluation import evaluate

    model = load_model(tiny_onnx, preprocess={"size": 32})
    result = evaluate(model, open_dataset(class_photos))
    assert "labels=" not in repr(result) and "predictions=" not in repr(result)
    assert f"accuracy={result.metrics.accuracy}" in repr(result)
    assert len(result.labels) == len(result.predictions) == 4


def test_a_printed_model_plan_and_candidate_are_summaries(tiny_onnx):
    """A Model with ImageNet's 1000 names printed 20 kB; a plan of nine candidates, 36 kB (each
    candidate its model's whole dict, the report its log and settings)."""
    from edgekit.planner.report import Candidate, Report
    from edgekit.types import CandidateStatus, Method

    model = load_model(tiny_onnx, labels=[f"class {i}" for i in range(1000)])
    assert len(repr(model)) < 1500 and "class 999" not in repr(model) and len(model.labels) == 1000
    cands = tuple(Candidate(f"onnxruntime/cpu/m{i}", "onnxruntime", "cpu", "fp32", Method.FP32, model.to_dict(),
                            p50_ms=1.0 + i, status=CandidateStatus.VALID) for i in range(9))
    report = Report(model=model.name, model_sha256=model.sha256, target="local", estimated=False, candidates=cands,
                    best_key=cands[0].key, log=("a line of the decision log " * 20,) * 40,
                    config={"data": "x" * 2000}, hardware={"summary": "y" * 2000})
    assert len(repr(cands[0])) < 600 and "p50_ms=1.0" in repr(cands[0])
    assert len(repr(report)) < 6000 and "best_key='onnxruntime/cpu/m0'" in repr(report)
    assert report.candidates[0].model["labels"][999] == "class 999"  # left out of the repr, not of the data


def test_a_loaded_model_handed_to_the_live_pipeline_names_the_compile_step(tiny_onnx):
    """``LivePipeline(source, load_model(...))`` said "Model cannot be used as a predictor: it has no
    predict(batch) method"; it names the call that makes one."""
    from edgekit import LivePipeline, compile_session
    from edgekit.errors import InputMismatch
    from edgekit.vision.sources import ArraySource

    model = load_model(tiny_onnx, preprocess={"size": 32})
    frames = [np.zeros((48, 64, 3), np.uint8)] * 3
    with pytest.raises(InputMismatch, match=r"tinycnn is loaded, not compiled: pass edgekit.compile_session\(model\)"):
        LivePipeline(ArraySource(frames), model)
    with LivePipeline(ArraySource(frames), compile_session(model)) as pipe:  # as the message says
        assert list(pipe.results(timeout=10.0))
    assert pipe.readouts.frames_inferred == 3
