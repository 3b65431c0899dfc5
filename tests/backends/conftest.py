"""Tiny zoo models (32x32) exported to ONNX once per session, each still carrying
its PyTorch module (the eager reference), and a private onnxruntime cache dir."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from edgekit.models.from_zoo import zoo_onnx_model

ZOO = ("tinycnn", "mobilenetv2_tiny")
REALDATA = Path(
    os.environ.get("EDGEKIT_REALDATA", Path(__file__).resolve().parents[2].parent / "shared" / "realdata")
)
SHUFFLENET = REALDATA / "models" / "shufflenet-v2-12-qdq.onnx"


@pytest.fixture(scope="session")
def zoo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("zoo")


@pytest.fixture(scope="session")
def zoo_models(zoo_dir: Path) -> dict:
    """name -> ONNX Model with ``module`` set (exported once)."""
    return {name: zoo_onnx_model(name, zoo_dir) for name in ZOO}


@pytest.fixture()
def tiny(zoo_models: dict):
    return zoo_models["tinycnn"]


@pytest.fixture()
def onnx_only(tiny):
    """The same ONNX file without its PyTorch module (what load_model gives for a .onnx)."""
    return tiny.replace(module=None)


@pytest.fixture()
def doomed(tiny, tmp_path: Path):
    """A model whose file the test may delete (a private copy)."""
    copy = tmp_path / "doomed.onnx"
    shutil.copy(tiny.path, copy)
    return tiny.replace(path=copy, files=(copy,), module=None)


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the optimized-model cache out of the user's real cache dir."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@pytest.fixture(scope="session")
def shufflenet():
    """The real third-party INT8 (QDQ) ImageNet model from ../shared, when present."""
    if not SHUFFLENET.is_file():
        pytest.skip(
            f"real-data model not found at {SHUFFLENET} (set EDGEKIT_REALDATA to the realdata folder)"
        )
    from edgekit.models import load_model

    return load_model(SHUFFLENET)


@pytest.fixture(scope="session")
def real_table() -> Path:
    """The CSV of the 500 ImageNet photos in ../shared/realdata (path, label), when present."""
    table = REALDATA / "labels" / "imagenet500.csv"
    if not table.is_file():
        pytest.skip(f"real-data photos not found at {table}")
    return table


@pytest.fixture(scope="session")
def real_photos(real_table: Path) -> list[tuple[Path, int]]:
    """The first 8 photos of ../shared/realdata with their ImageNet labels."""
    import csv

    table = real_table
    with table.open(newline="") as fh:
        rows = list(csv.DictReader(fh))[:8]
    return [(REALDATA / row["path"], int(row["label"])) for row in rows]
