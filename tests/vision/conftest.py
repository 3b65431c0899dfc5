"""Real models for the vision tests: demo:digits when it is installed, else a
32x32 TinyCNN exported to ONNX here (random weights, deterministic seed)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from edgekit.models.preprocess import Preprocess


def export_tiny(folder) -> str:
    """A TinyCNN (32x32, 10 classes "0".."9") as ONNX with its card; returns the path."""
    import torch

    from edgekit.zoo import create_model

    torch.manual_seed(0)
    module = create_model("tinycnn", num_classes=10).eval()
    path = folder / "tiny.onnx"
    torch.onnx.export(module, torch.zeros(1, 3, 32, 32), str(path), input_names=["input"],
                      output_names=["logits"], dynamo=False)
    card = {"preprocess": Preprocess(size=(32, 32)).to_dict(), "labels": [str(i) for i in range(10)]}
    (folder / "tiny.json").write_text(json.dumps(card))
    return str(path)


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory) -> str:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return export_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_session(tiny_path):
    from edgekit.backends import compile_session
    from edgekit.models import load_model

    session = compile_session(load_model(tiny_path), "onnxruntime")
    yield session
    session.close()


@pytest.fixture(scope="session")
def digits_session(tiny_session):
    """demo:digits on onnxruntime when its file exists, else the tiny model."""
    from edgekit.backends import compile_session
    from edgekit.errors import ModelLoadError
    from edgekit.models import load_model

    try:
        model = load_model("demo:digits")
    except ModelLoadError:
        yield tiny_session
        return
    session = compile_session(model, "onnxruntime")
    yield session
    session.close()


class SlowPredictor:
    """A real session made slower than the source (sleep before each run)."""

    def __init__(self, session, delay_s: float) -> None:
        self.session, self.delay_s = session, delay_s
        self.model, self.info = session.model, session.info

    def predict(self, batch: np.ndarray) -> np.ndarray:
        time.sleep(self.delay_s)
        return self.session.predict(batch)
