"""An already-INT8 file asked for INT8: refused first (before --data or preprocessing flags are asked
for), naming what makes it INT8 -- the QDQ nodes or QLinear/Integer ops found in it."""

from __future__ import annotations

import pytest

from edgekit.cli import main
from edgekit.compress import quantize_dynamic_int8, quantize_int8


@pytest.fixture(scope="module")
def qdq(tiny, calib, tmp_path_factory):
    """The tiny model quantized to INT8 QDQ, with no card beside it (a third-party file: nothing says
    how to preprocess it)."""
    import onnx

    model = quantize_int8(tiny, calib, tmp_path_factory.mktemp("qdq") / "third.onnx")
    model.path.with_suffix(".json").unlink()  # its card
    proto = onnx.load(str(model.path))
    del proto.metadata_props[:]  # no preprocessing or labels in the file either
    onnx.save(proto, str(model.path))
    return model


def test_int8_of_an_int8_file_says_so_before_asking_for_data_or_flags(qdq, tmp_path, capsys):
    from edgekit.errors import DataError
    from edgekit.models import load_model
    from edgekit.models.card_options import apply_card_options

    with pytest.raises(DataError, match="nothing says how to turn an image"):  # it really has no preprocessing
        apply_card_options(load_model(qdq.path), need_preprocess=True)
    for extra in ([], ["--format", "openvino"], ["--mean", "0.5,0.5,0.5", "--std", "0.5,0.5,0.5"]):
        out = tmp_path / ("q.xml" if "openvino" in extra else "q.onnx")
        assert main(["compress", str(qdq.path), "--method", "int8", "--out", str(out), *extra]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert "already quantized to int8 (a QDQ graph:" in err, err
        assert "QuantizeLinear/DequantizeLinear nodes)" in err and "e.g." not in err
        assert "--data" not in err and "nothing says how to turn an image" not in err
        assert ("NNCF INT8" if "openvino" in extra else "static INT8") in err
        assert not out.exists()


def test_calibration_hint_names_a_csv_manifest_too(tiny, tmp_path, capsys):
    assert main(["compress", str(tiny.path), "--method", "int8", "--out", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--data DIR" in err and "CSV" in err.upper() and "path,label" in err


def test_what_makes_a_file_int8_is_named(tiny, calib, qdq, tmp_path):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    from edgekit.compress._common import quantized_as

    assert quantized_as(tiny) is None
    n = quantized_as(qdq)
    assert n.startswith("a QDQ graph: ") and int(n.split()[3]) > 0
    assert quantized_as(quantize_dynamic_int8(tiny, tmp_path / "dyn.onnx")).startswith("dynamic quantization: ")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(calib[:8])

        def get_next(self):
            return next(self.items, None)

    quantize_static(str(tiny.path), str(tmp_path / "qop.onnx"), Reader(), quant_format=QuantFormat.QOperator)
    from edgekit.models import load_model

    qop = quantized_as(load_model(tmp_path / "qop.onnx"))
    assert qop.startswith("a QOperator graph: ") and "QLinearConv" in qop
