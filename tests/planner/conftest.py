"""A tiny labelled image folder and tiny ONNX models for the planner tests; the plan cache
goes to a temporary folder so tests never share or keep results."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

LABELS = ["a", "b", "c", "d"]


def onnx_model(tmp: Path, arch: str = "tinycnn", size: int = 32, name: str = "tiny"):
    from edgekit.models import Preprocess, convert, load_model
    from edgekit.zoo import create_model

    module = create_model(arch, num_classes=len(LABELS))
    model = load_model(module, input_shape=(1, 3, size, size), preprocess=Preprocess(size=(size, size)), labels=LABELS)
    onnx_model, _ = convert(model, to="onnx", out=tmp / f"{name}.onnx")
    return onnx_model


def image_folder(tmp: Path, per_class: int = 56, size: int = 32) -> Path:
    """Random images whose dominant channel depends on the class."""
    rng = np.random.default_rng(0)
    root = tmp / "images"
    for k, label in enumerate(LABELS):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            img = (rng.random((size, size, 3)) * 120).astype(np.uint8)
            img[..., k % 3] += 120
            cv2.imwrite(str(root / label / f"{i}.png"), img)
    return root


@pytest.fixture(autouse=True)
def _plan_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(tiny model, image folder) shared by a test module."""
    tmp = tmp_path_factory.mktemp("plan")
    return onnx_model(tmp), image_folder(tmp)


@pytest.fixture
def make_onnx():
    """``make_onnx(tmp, arch, size, name)`` -> a tiny ONNX ``Model`` with preprocessing and labels."""
    return onnx_model
