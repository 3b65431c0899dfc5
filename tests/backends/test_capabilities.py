"""The registry's declared capabilities are true, and the parts that ask them act on them."""

from __future__ import annotations

import pytest

from edgekit.backends import (
    available_backends,
    backends_for,
    capabilities,
    compile_session,
    list_backends,
    reference_backend,
    register_backend,
)
from edgekit.backends.registry import unregister_backend
from edgekit.errors import BackendUnavailable, ConfigError, TargetError


@pytest.mark.parametrize("name", ["onnxruntime", "openvino", "torch"])
def test_each_backend_runs_with_the_options_type_it_declares(name, tiny):
    caps = capabilities(name)
    model = tiny if caps.needs_module else tiny.replace(module=None)
    with compile_session(model, name, options=caps.make_options()) as session:
        assert session.info.backend == name
        assert session.predict(_zeros(model)).size


def _zeros(model):
    import numpy as np

    return np.zeros(model.input.concrete_shape(1), dtype=model.input.dtype)


def test_another_backends_options_are_refused_naming_the_right_type(onnx_only):
    with pytest.raises(BackendUnavailable, match="OpenVINOOptions"):
        compile_session(onnx_only, "openvino", options=capabilities("onnxruntime").make_options())


def test_what_reads_each_format_comes_from_the_declarations():
    assert backends_for("openvino") == ["openvino"]  # IR: only OpenVINO
    # a dynamic-INT8 ONNX (ConvInteger): onnxruntime makes and runs it, OpenVINO runs it as stored
    assert backends_for("onnx", "int8-dynamic") == ["onnxruntime", "openvino"]
    assert reference_backend("onnx") == "onnxruntime"
    assert "torch" not in backends_for(bundle=True)  # the CUDA development path is never packaged
    with pytest.raises(BackendUnavailable, match="no registered backend reads torch"):
        reference_backend("torch")


def test_the_local_target_lists_every_backend_installed_here():
    from edgekit.targets import load_target

    local = load_target("local")
    assert sorted(local.backends) == sorted(n for n, ok, _ in available_backends() if ok)
    assert local.supports("onnxruntime", "cpu", "int8-dynamic")


def test_a_taken_name_is_refused_and_a_target_naming_an_unknown_backend_lists_the_registered(tmp_path):
    with pytest.raises(ConfigError, match="already registered"):
        register_backend("onnxruntime", "edgekit.backends.onnxruntime:OnnxRuntimeBackend")
    yaml = tmp_path / "box.yaml"
    yaml.write_text("name: box\ncpu: {arch: x86_64, cores: 4}\nmemory_mb: 4096\n"
                    "backends:\n  copy-ort: {devices: [cpu], precisions: [fp32]}\n")
    from edgekit.targets import load_target

    with pytest.raises(TargetError, match="onnxruntime, openvino, torch"):
        load_target(yaml)
    register_backend("copy-ort", "edgekit.backends.onnxruntime:OnnxRuntimeBackend")
    try:
        assert load_target(yaml).supports("copy-ort")  # the registry, not a fixed list, decides
    finally:
        unregister_backend("copy-ort")
    assert "copy-ort" not in list_backends()


def test_bundle_texts_and_exports_follow_the_declared_runtime_packages():
    from edgekit.deployment.texts import requirements
    from edgekit.deployment.triton import triton_backend

    assert "openvino>=" in requirements("openvino") and "openvino" not in requirements("onnxruntime")
    assert triton_backend("onnx") == ("onnxruntime", "model.onnx")
    assert triton_backend("openvino") == ("openvino", "model.xml")
    assert triton_backend("torch") is None


def test_cli_backends_capabilities_shows_what_each_declares(capsys):
    import json

    from edgekit.cli import main

    assert main(["backends", "--capabilities", "--json"]) == 0
    rows = {row["backend"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(list_backends())
    assert rows["openvino"]["formats"] == ["openvino", "onnx"] and rows["torch"]["bundle"] is False
    assert rows["onnxruntime"]["options"].endswith("OrtOptions")


def test_the_capabilities_table_keeps_every_word_whole_at_80_columns():
    """Seven columns of lists broke words at 80 columns: "onnxrunti / me", "int8-dyn / amic"."""
    from rich.console import Console

    from edgekit.cli.backends import capability_rows, render_capabilities

    rows = capability_rows()
    console = Console(width=80, record=True, color_system=None)
    console.print(render_capabilities(rows))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    words = {w.strip(",") for line in text.splitlines() for w in line.replace("│", " ").replace("┃", " ").split()}
    for row in rows:
        assert row["backend"] in words
        assert set(row["precisions"]) | set(row["methods"]) | set(row["formats"]) <= words, row["backend"]
