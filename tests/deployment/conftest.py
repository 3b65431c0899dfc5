"""A tiny classifier (zoo ``tinycnn``, 32x32, 4 classes) exported to ONNX, some
labelled images, and bundles made from them once per session.

Tests that change a bundle copy it into their own ``tmp_path`` first.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

LABELS = ["ant", "bee", "cat", "dog"]


def export_tiny(folder: Path) -> Path:
    """tinycnn -> ``folder/tiny.onnx`` with a dynamic batch dim."""
    torch = pytest.importorskip("torch")
    from edgekit.zoo import create_model

    torch.manual_seed(0)
    net = create_model("tinycnn", num_classes=len(LABELS)).eval()
    path = folder / "tiny.onnx"
    with warnings.catch_warnings():  # torch's note about its legacy exporter
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(net, torch.zeros(1, 3, 32, 32), str(path), input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False)
    card = {"preprocess": {"size": [32, 32]}, "labels": LABELS}
    path.with_suffix(".json").write_text(json.dumps(card))  # model card: load_model applies it
    return path


def images(n: int = 24, seed: int = 0) -> list[tuple[np.ndarray, int]]:
    """Seeded (image, label) pairs of varied sizes around 32x32."""
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), int(rng.integers(0, len(LABELS)))) for _ in range(n)]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from edgekit.models import load_model

    return load_model(export_tiny(tmp_path_factory.mktemp("model")))


@pytest.fixture(scope="session")
def dataset():
    return images()


# latency on a shared CI machine is noise: the pass-path tests must not depend on it
# (test_verify edits the latency promise to show the fail path)
RELAXED = {"latency_slack_ms": 1000.0}


@pytest.fixture(scope="session")
def bundle_dir(tiny_model, dataset, tmp_path_factory):
    from edgekit.deployment import Tolerance, deploy

    out = tmp_path_factory.mktemp("b") / "tiny-bundle"
    return deploy(tiny_model, out=out, data=dataset, tolerance=Tolerance(**RELAXED)).path


@pytest.fixture(scope="session")
def bundle_zip(tiny_model, dataset, tmp_path_factory):
    from edgekit.deployment import Tolerance, deploy

    out = tmp_path_factory.mktemp("z") / "tiny.zip"
    return deploy(tiny_model, out=out, data=dataset, tolerance=Tolerance(**RELAXED)).path


@pytest.fixture
def bundle_copy(bundle_dir, tmp_path):
    """A private copy of the folder bundle, free to tamper with."""
    return Path(shutil.copytree(bundle_dir, tmp_path / "copy"))
