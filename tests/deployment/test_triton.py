"""``edgekit export --format triton`` writes a repository whose config.pbtxt Triton's schema accepts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from edgekit.cli import main
from edgekit.deployment import export_triton
from edgekit.errors import BundleError, OutputExists


def model_config_pb2():
    """tritonclient ships Triton's model_config protobuf; load it without its gRPC package."""
    pytest.importorskip("google.protobuf")
    spec = importlib.util.find_spec("tritonclient")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("tritonclient is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "grpc" / "model_config_pb2.py"
    if not path.is_file():
        pytest.skip(f"tritonclient has no {path.name}")
    module_spec = importlib.util.spec_from_file_location("edgekit_test_model_config_pb2", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def parse(path: Path):
    from google.protobuf import text_format

    pb2 = model_config_pb2()
    return text_format.Parse(path.read_text(), pb2.ModelConfig()), pb2


def test_onnx_bundle_exports_for_the_onnxruntime_backend(bundle_zip, tmp_path, capsys):
    assert main(["export", str(bundle_zip), "--format", "triton", "--out", str(tmp_path / "repo")]) == 0
    assert "EDGEKIT_PYTHONPATH" not in capsys.readouterr().out  # Triton's own backend: nothing to install
    folder = tmp_path / "repo" / "tiny"
    assert (folder / "1" / "model.onnx").is_file()
    assert (folder / "labels.txt").read_text().split() == ["ant", "bee", "cat", "dog"]
    config, pb2 = parse(folder / "config.pbtxt")
    assert config.name == "tiny" and config.backend == "onnxruntime" and config.max_batch_size == 8
    assert [(i.name, list(i.dims), i.data_type) for i in config.input] == [("input", [3, 32, 32], pb2.TYPE_FP32)]
    assert [(o.name, list(o.dims), o.label_filename) for o in config.output] == [("logits", [4], "labels.txt")]


def test_openvino_bundle_exports_for_the_openvino_backend(tiny_model, dataset, tmp_path):
    from edgekit.deployment import deploy
    from edgekit.models import convert

    ir, _ = convert(tiny_model, to="openvino", out=tmp_path / "ir")
    bundle = deploy(ir, out=tmp_path / "ov-bundle", data=dataset[:4])
    folder = export_triton(bundle.path, tmp_path / "repo")
    assert sorted(p.name for p in (folder / "1").iterdir()) == ["model.bin", "model.xml"]
    config, _ = parse(folder / "config.pbtxt")
    assert config.backend == "openvino" and [o.name for o in config.output] == ["logits"]


def test_existing_model_folder_needs_force_and_tampered_bundles_are_not_exported(bundle_copy, tmp_path):
    export_triton(bundle_copy, tmp_path / "repo")
    with pytest.raises(OutputExists):
        export_triton(bundle_copy, tmp_path / "repo")
    folder = export_triton(bundle_copy, tmp_path / "repo", force=True)
    (folder / "notes.txt").write_text("mine")  # a user's file inside the exported model folder
    with pytest.raises(OutputExists, match="notes.txt"):
        export_triton(bundle_copy, tmp_path / "repo", force=True)
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "config.pbtxt").is_file()
    (bundle_copy / "README.md").write_text("changed")
    with pytest.raises(BundleError, match="README.md was modified"):
        export_triton(bundle_copy, tmp_path / "repo2")


def test_a_file_as_the_model_repository_is_one_clear_error(bundle_zip, tmp_path, capsys):
    not_a_folder = tmp_path / "picture.png"
    not_a_folder.write_bytes(b"\x89PNG")
    assert main(["export", str(bundle_zip), "--out", str(not_a_folder)]) == 2
    assert "is a file; --out must be the Triton model repository folder" in capsys.readouterr().err
    assert not_a_folder.read_bytes() == b"\x89PNG"


def test_the_python_variant_says_what_tritons_python_needs(bundle_zip, tmp_path, capsys):
    """Its model.py imports edgekit inside Triton's own Python, which the export's words did not say:
    only model.py's docstring did, and Triton fails at load with a ModuleNotFoundError."""
    assert main(["export", str(bundle_zip), "--format", "triton", "--triton-backend", "python",
                 "--out", str(tmp_path / "repo")]) == 0
    said = " ".join(capsys.readouterr().out.split())
    requirements = tmp_path / "repo" / "tiny" / "1" / "bundle" / "requirements.txt"
    assert f"pip install -r {requirements}" in said and "EDGEKIT_PYTHONPATH" in said
    assert "edgekit" in requirements.read_text()
