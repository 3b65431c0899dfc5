"""Every method writes a NEW file and leaves the input byte-identical; outputs run and agree."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from edgekit._io import sha256_file
from edgekit.compress import quantize_dynamic_int8, quantize_int8, quantize_openvino, to_fp16
from edgekit.errors import ConversionError, OutputExists
from edgekit.types import Format, Precision


def _run(path, feed):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)[0]


@pytest.fixture
def fresh(tmp_path, tiny):
    """A private copy of the tiny model so each test can check its bytes."""
    import shutil

    from edgekit.models import load_model

    for f in tiny.path.parent.glob("tiny.*"):
        shutil.copy(f, tmp_path / f.name)
    return load_model(tmp_path / "tiny.onnx")


def test_fp16_is_a_new_file_with_fp32_io_and_close_outputs(fresh, calib):
    before = sha256_file(fresh.path)
    half = to_fp16(fresh)
    assert half.path != fresh.path and half.path.name == "tiny.fp16.onnx"
    assert sha256_file(fresh.path) == before
    assert half.precision is Precision.FP16 and half.input.dtype == "float32"
    assert half.size_bytes < 0.7 * fresh.size_bytes
    assert half.preprocess == fresh.preprocess and half.labels == fresh.labels
    feed = calib[0]
    np.testing.assert_allclose(_run(half.path, feed), _run(fresh.path, feed), atol=1e-2)


def test_openvino_fp16_weights(fresh):
    ir = to_fp16(fresh, fmt="openvino")
    assert ir.format is Format.OPENVINO and {p.suffix for p in ir.files} == {".xml", ".bin"}


def test_int8_static_is_new_and_refuses_to_quantize_twice(fresh, calib):
    before = sha256_file(fresh.path)
    q = quantize_int8(fresh, calib, method="entropy")
    assert sha256_file(fresh.path) == before and q.path.name == "tiny.int8.onnx"
    assert q.precision is Precision.INT8 and q.metadata["compression"]["method"] == "entropy"
    assert q.metadata["compression"]["parent_sha256"] == fresh.sha256
    out = _run(q.path, calib[0])
    assert out.shape == (1, 4) and np.isfinite(out).all()
    with pytest.raises(ConversionError, match="already quantized"):
        quantize_int8(q, calib)
    with pytest.raises(ConversionError, match="give the FP32 model it was quantized from"):
        to_fp16(q)  # an INT8 model halved: the error says where to start instead
    with pytest.raises(ConversionError, match="FP16 already"):
        to_fp16(to_fp16(fresh))


def test_int8_dynamic_and_nncf(fresh, calib):
    before = sha256_file(fresh.path)
    dyn = quantize_dynamic_int8(fresh)
    ov = quantize_openvino(fresh, calib)
    assert dyn.precision is Precision.INT8_DYNAMIC and ov.format is Format.OPENVINO
    assert sha256_file(fresh.path) == before


def test_existing_output_is_kept_unless_forced_and_input_is_never_the_output(fresh, calib, tmp_path):
    first = quantize_dynamic_int8(fresh, tmp_path / "q.onnx")
    stamp = sha256_file(first.path)
    with pytest.raises(OutputExists):
        quantize_dynamic_int8(fresh, tmp_path / "q.onnx")
    assert sha256_file(first.path) == stamp
    quantize_dynamic_int8(fresh, tmp_path / "q.onnx", force=True)
    with pytest.raises(ConversionError, match="input model itself"):
        to_fp16(fresh, fresh.path)


def test_an_interrupted_write_leaves_no_folder_it_made(tmp_path):
    """Ctrl-C during `compress --out ir/` (a folder that did not exist) left an empty ir/ behind; the
    folders made for an output go again when nothing landed in them, and stay when it did."""
    import pytest

    from edgekit.models._output import staging_dir

    dest = tmp_path / "ir" / "int8" / "model.xml"
    with pytest.raises(KeyboardInterrupt), staging_dir(dest) as stage:
        (stage / "model.xml").write_text("half")
        raise KeyboardInterrupt
    assert not (tmp_path / "ir").exists() and list(tmp_path.iterdir()) == []
    with staging_dir(dest) as stage:
        (stage / "model.xml").write_text("done")
        (stage / "model.xml").replace(dest)
    assert dest.read_text() == "done"
