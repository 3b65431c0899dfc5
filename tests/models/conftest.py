"""Small real models for the model tests, built here (no downloads, 32x32 inputs)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")


def zoo_module(name: str, seed: int = 0):
    """A zoo architecture with weights and BatchNorm statistics drawn at random so its
    logits are of order 1 (a fresh init gives logits near 1e-4, which would make any
    absolute tolerance meaningless)."""
    from edgekit.zoo import create_model

    module = create_model(name, num_classes=10)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            elif isinstance(m, torch.nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) / m.in_features**0.5 * 4)
    return module.eval()


def export_onnx(module, path: Path, shape=(1, 3, 32, 32)) -> Path:
    """Export with the project's converter (checked), returning the .onnx path."""
    from edgekit.models import convert, load_model

    model = load_model(module, input_shape=shape)
    out, _ = convert(model, to="onnx", out=path)
    return out.path


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> Path:
    """tinycnn as ONNX (dynamic batch), shared read-only by tests that only load it."""
    return export_onnx(zoo_module("tinycnn"), tmp_path_factory.mktemp("tiny") / "tinycnn.onnx")


@pytest.fixture
def tiny_onnx_copy(tiny_onnx, tmp_path) -> Path:
    """A private copy a test may put files beside."""
    dest = tmp_path / "model.onnx"
    dest.write_bytes(tiny_onnx.read_bytes())
    return dest


@pytest.fixture
def make_zoo():
    """``make_zoo(name, seed=0)`` -> an ``nn.Module`` with logits of order 1."""
    return zoo_module


@pytest.fixture
def make_onnx():
    """``make_onnx(module, path)`` -> path of the exported, checked ONNX file."""
    return export_onnx


@pytest.fixture
def class_photos(tmp_path) -> Path:
    """A two-class image folder (2 flat grey 40x40 photos each) named after tinycnn's first two label indices."""
    import cv2
    import numpy as np

    for label in ("0", "1"):
        (tmp_path / "data" / label).mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(tmp_path / "data" / label / f"{i}.png"), np.full((40, 40, 3), 60 * i, np.uint8))
    return tmp_path / "data"
