"""Each bad model input gives the right EdgekitError naming the file, and the CLI turns
it into exit code 2 with exactly one line on stderr and no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from edgekit.cli import main
from edgekit.errors import EdgekitError, ModelLoadError
from edgekit.models import load_model


class _Payload:
    """Unpickling this creates ``marker``: stands in for any code a pickle may run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _matmul_model(location: str | None) -> onnx.ModelProto:
    """X(1,4) @ W(4,2); W stored as external data at ``location`` when given."""
    w = numpy_helper.from_array(np.ones((4, 2), np.float32), "W")
    if location is not None:
        onnx.external_data_helper.set_external_data(w, location=location)
        w.ClearField("raw_data")
        w.data_location = onnx.TensorProto.EXTERNAL
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        "g",
        [helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, [1, 2])],
        [w],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _missing(tmp: Path, _onnx: Path) -> Path:
    return tmp / "nowhere" / "model.onnx"


def _empty(tmp: Path, _onnx: Path) -> Path:
    (path := tmp / "empty.onnx").write_bytes(b"")
    return path


def _truncated(tmp: Path, onnx_path: Path) -> Path:
    data = onnx_path.read_bytes()
    (path := tmp / "truncated.onnx").write_bytes(data[: len(data) // 2])
    return path


def _text(tmp: Path, _onnx: Path) -> Path:
    (path := tmp / "notes.onnx").write_text("these are my notes, not a model\n")
    return path


def _pdf(tmp: Path, _onnx: Path) -> Path:
    (path := tmp / "paper.onnx").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    return path


def _unknown_suffix(tmp: Path, _onnx: Path) -> Path:
    (path := tmp / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    return path


def _ir_without_bin(tmp: Path, onnx_path: Path) -> Path:
    import openvino as ov

    ov.save_model(ov.convert_model(str(onnx_path)), str(tmp / "ir.xml"))
    (tmp / "ir.bin").unlink()
    return tmp / "ir.xml"


def _evil_checkpoint(tmp: Path, _onnx: Path) -> Path:
    import torch

    torch.save({"state_dict": _Payload(tmp / "PWNED")}, path := tmp / "evil.pt")
    return path


def _external_data_escape(tmp: Path, _onnx: Path) -> Path:
    folder = tmp / "a" / "b"
    folder.mkdir(parents=True)
    onnx.save(_matmul_model("../../etc/passwd"), path := folder / "escape.onnx")
    return path


def _external_data_absolute(tmp: Path, _onnx: Path) -> Path:
    onnx.save(_matmul_model("/etc/passwd"), path := tmp / "absolute.onnx")
    return path


def _external_data_symlink(tmp: Path, _onnx: Path) -> Path:
    (outside := tmp / "outside").mkdir()
    (outside / "secret.bin").write_bytes(np.ones((4, 2), np.float32).tobytes())
    (folder := tmp / "model").mkdir()
    os.symlink(outside / "secret.bin", folder / "w.bin")
    onnx.save(_matmul_model("w.bin"), path := folder / "link.onnx")
    return path


def _pickle_header_then_garbage(tmp: Path, _onnx: Path) -> Path:
    """Bytes that start like a pickle of protocol 90 (no such protocol): torch printed a UserWarning
    ("Detected pickle protocol 90 ...") and edgekit called them "pickled Python objects that could run code"."""
    (path := tmp / "garbage.pt").write_bytes(b"\x80\x5agarbage-bytes-here")
    return path


# case -> (maker, error type, words the message must contain besides the file name)
CASES = {
    "missing path": (_missing, ModelLoadError, ["does not exist"]),
    "empty file": (_empty, ModelLoadError, ["empty"]),
    "truncated onnx": (_truncated, ModelLoadError, ["truncated or corrupt"]),
    "text renamed .onnx": (_text, ModelLoadError, ["text file"]),
    "pdf renamed .onnx": (_pdf, ModelLoadError, ["PDF"]),
    "unknown suffix": (_unknown_suffix, ModelLoadError, ["unknown model suffix", ".h5"]),
    "IR without .bin": (_ir_without_bin, ModelLoadError, ["ir.bin", "missing"]),
    "code-running pickle": (_evil_checkpoint, ModelLoadError, ["could run code"]),
    "garbage after a pickle header": (_pickle_header_then_garbage, ModelLoadError, ["not a readable PyTorch checkpoint"]),
    "external data ../../etc/passwd": (
        _external_data_escape,
        ModelLoadError,
        ["../../etc/passwd", "outside"],
    ),
    "external data absolute path": (_external_data_absolute, ModelLoadError, ["/etc/passwd", "outside"]),
    "external data symlink out": (_external_data_symlink, ModelLoadError, ["w.bin", "outside"]),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def bad(request, tmp_path, tiny_onnx):
    maker, error, words = CASES[request.param]
    return maker(tmp_path, tiny_onnx), error, words


def test_load_model_raises_a_clear_error(bad, tmp_path):
    import warnings

    from edgekit.errors import EdgekitWarning

    path, error, words = bad
    with pytest.raises(error) as info, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        load_model(path, arch="tinycnn")
    # a library's own warning ("Detected pickle protocol 90 ...") reaches the user's terminal as file:line
    assert not [w for w in seen if not issubclass(w.category, (EdgekitWarning, DeprecationWarning))], \
        [str(w.message)[:120] for w in seen]
    message = str(info.value)
    assert path.name in message
    for word in words:
        assert word in message
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("command", ["info", "convert"])
def test_cli_exits_2_with_one_line(bad, command, tmp_path, capsys):
    path, _, _ = bad
    extra = ["--to", "openvino", "--out", str(tmp_path / "out")] if command == "convert" else []
    assert main([command, str(path), "--arch", "tinycnn", *extra]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error:") and path.name in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "PWNED").exists()


def test_the_pickle_payload_is_live_so_the_test_above_means_something(tmp_path):
    import torch

    torch.save({"state_dict": _Payload(tmp_path / "RAN")}, path := tmp_path / "control.pt")
    torch.load(path, weights_only=False)  # the unsafe load edgekit never does
    assert (tmp_path / "RAN").exists()


def test_external_data_inside_the_folder_loads(tmp_path):
    onnx.save(_matmul_model(None), tmp_path / "tmp.onnx")
    proto = onnx.load(str(tmp_path / "tmp.onnx"))
    onnx.save_model(
        proto,
        path := tmp_path / "ok.onnx",
        save_as_external_data=True,
        location="ok.weights",
        size_threshold=0,
    )
    model = load_model(path)
    assert [p.name for p in model.files] == ["ok.onnx", "ok.weights"]
    assert model.params == 8 and model.flops == 2 * 2 * 4


def test_a_state_dict_without_arch_says_to_name_one(make_zoo, tmp_path):
    import torch

    torch.save(make_zoo("tinycnn").state_dict(), path := tmp_path / "w.pth")
    with pytest.raises(ModelLoadError, match="arch"):
        load_model(path)
    with pytest.raises(ModelLoadError, match="do not fit zoo architecture 'mobilenetv2_tiny'"):
        load_model(path, arch="mobilenetv2_tiny")


def test_unknown_hub_name_is_a_load_error():
    with pytest.raises(EdgekitError, match="no-such-model"):
        load_model("demo:no-such-model")


def test_a_real_process_prints_one_line_and_no_traceback(tmp_path):
    (path := tmp_path / "broken.onnx").write_bytes(b"\x08\x07\x12\x04")
    commands = [[sys.executable, "-m", "edgekit"]]
    script = shutil.which("edgekit", path=str(Path(sys.executable).parent))
    if script:
        commands.append([script])
    for prefix in commands:
        done = subprocess.run(
            [*prefix, "info", str(path)], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "broken.onnx" in done.stderr and "Traceback" not in done.stderr


def test_the_bin_half_of_an_openvino_ir_points_to_its_xml(tmp_path):
    (tmp_path / "net.xml").write_text("<net/>")
    (tmp_path / "net.bin").write_bytes(b"\0" * 16)
    with pytest.raises(ModelLoadError, match=r"weights of an OpenVINO IR; pass its net\.xml"):
        load_model(tmp_path / "net.bin")
