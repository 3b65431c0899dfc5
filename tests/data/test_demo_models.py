"""The bundled demo models: >= 97% on the held-out real handwriting, loadable every way we promise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.data import demo_digits
from edgekit.errors import ModelLoadError
from edgekit.zoo import hub

MODELS = [("demo:digits", 64), ("demo:digits-mnv2", 224)]


def _ort_accuracy(path, size):
    ort = pytest.importorskip("onnxruntime")
    from edgekit.models.preprocess import Preprocess

    card = json.loads(path.with_suffix(".json").read_text())
    pre = Preprocess.from_dict(card["preprocess"])
    assert pre.size == (size, size)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ds = demo_digits("test", size=size)
    images, labels = zip(*ds)
    preds = [
        sess.run(None, {"input": pre.batch(list(images[i : i + 64]))})[0].argmax(1)
        for i in range(0, len(ds), 64)
    ]
    return float((np.concatenate(preds) == np.asarray(labels)).mean())


@pytest.mark.parametrize(("name", "size"), MODELS)
def test_held_out_accuracy_at_least_97_percent(name, size):
    path = hub.resolve(name)
    accuracy = _ort_accuracy(path, size)
    assert accuracy >= 0.97, f"{name}: {accuracy:.4f} on the 539 held-out real handwriting scans"
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["held_out_accuracy"] == pytest.approx(accuracy, abs=0.002)


@pytest.mark.parametrize(("name", "size"), MODELS)
def test_cards_describe_the_model(name, size):
    path = hub.resolve(name)
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["labels"] == [str(d) for d in range(10)]
    for key in (
        "architecture",
        "arch_kwargs",
        "training_data",
        "flops",
        "params",
        "training_command",
        "seed",
        "training_seconds",
        "held_out",
    ):
        assert key in card, key
    assert path.stat().st_size < 8_000_000 and path.with_suffix(".pt").stat().st_size < 8_000_000


def test_evaluate_through_compile_session():
    from edgekit.evaluation.accuracy import evaluate

    result = evaluate("demo:digits", demo_digits("test"), backend="onnxruntime")
    assert result.metrics.n == 539 and result.metrics.accuracy >= 0.97
    assert result.backend == "onnxruntime" and len(result.predictions) == 539
    assert result.metrics.accuracy_ci[0] < result.metrics.accuracy < result.metrics.accuracy_ci[1]
    assert result.metrics.top_k[3] >= result.metrics.accuracy


def test_load_model_applies_the_card():
    from edgekit.models import load_model

    model = load_model("demo:digits-mnv2")
    assert model.labels == tuple(str(d) for d in range(10))
    assert model.preprocess.size == (224, 224) and model.preprocess.resize == "center_crop"


def test_torch_module_matches_onnx():
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    module = hub.load_demo_module("demo:digits")
    state = torch.load(hub.resolve("demo:digits").with_suffix(".pt"), weights_only=True)
    assert set(state) == set(module.state_dict())
    from edgekit.models.preprocess import Preprocess

    pre = Preprocess.from_dict(hub.read_card(hub.resolve("demo:digits"))["preprocess"])
    x = pre.batch([img for img, _ in (demo_digits("test")[i] for i in range(8))])
    with torch.no_grad():
        ref = module(torch.from_numpy(x)).numpy()
    out = ort.InferenceSession(str(hub.resolve("demo:digits")), providers=["CPUExecutionProvider"]).run(
        None, {"input": x}
    )[0]
    np.testing.assert_allclose(out, ref, atol=1e-4)


def test_unknown_names_get_a_hint():
    with pytest.raises(ModelLoadError, match="did you mean demo:digits"):
        hub.resolve("demo:digit")
    names = [a.name for a in hub.list_artifacts()]
    assert {"demo:digits", "demo:digits-mnv2"} <= set(names)
