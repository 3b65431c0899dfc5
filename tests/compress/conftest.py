"""Tiny models and image folders for the compression tests (32x32, seconds to build)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

LABELS = ["a", "b", "c", "d"]


def onnx_model(tmp: Path, arch: str = "tinycnn", size: int = 32, name: str = "tiny"):
    """An untrained zoo net exported to ONNX with preprocessing and labels (card beside it)."""
    from edgekit.models import Preprocess, convert, load_model
    from edgekit.zoo import create_model

    module = create_model(arch, num_classes=len(LABELS))
    model = load_model(module, input_shape=(1, 3, size, size), preprocess=Preprocess(size=(size, size)), labels=LABELS)
    onnx_model, _ = convert(model, to="onnx", out=tmp / f"{name}.onnx")
    return onnx_model


def feeds(model, n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    shape = model.input.concrete_shape(1)
    return [{model.input.name: rng.random(shape, dtype=np.float32)} for _ in range(n)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return onnx_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def calib(tiny):
    """120 varied feeds: enough that no small-set warning fires."""
    return feeds(tiny, 120)


@pytest.fixture(scope="module")
def mnv2(tmp_path_factory):
    """MobileNetV2-tiny (32x32, untrained) as ONNX: enough layers for a sensitivity ranking."""
    return onnx_model(tmp_path_factory.mktemp("mnv2"), "mobilenetv2_tiny", 32, "mnv2")
