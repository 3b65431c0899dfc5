"""Model page: open a real model through a worker, show its facts, edit, convert, reject bad files."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from .conftest import open_model

pytestmark = pytest.mark.gui



def test_open_file_shows_inputs_outputs_and_hash(window, qtbot, tiny_onnx):
    page = window.show_page("ModelPage")
    open_model(page, qtbot, str(tiny_onnx.path))
    model = window.state.model
    assert model is not None and model.sha256 == tiny_onnx.sha256
    assert page.info.values["sha256"].text() == tiny_onnx.sha256
    assert page.info.values["Format"].text() == "onnx"
    assert page.io_table.rowCount() == len(model.inputs) + len(model.outputs)
    assert page.io_table.item(0, 1).text() == model.inputs[0].name
    assert "MFLOPs" in page.info.values["FLOPs (batch 1)"].text()
    assert page.recent.itemText(0) == str(tiny_onnx.path)
    assert page.recent.currentText() == str(tiny_onnx.path)  # shows what is open, not its placeholder
    assert window.model_label.text() == f"Model: {model.name}"


def test_a_pdf_dropped_as_a_model_is_an_error_and_the_app_recovers(window, qtbot, tmp_path, tiny_onnx):
    page = window.show_page("ModelPage")
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(pdf))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    page.dropEvent(event)
    with qtbot.waitSignal(page.job.signals.finished, timeout=60000):
        pass
    assert page.banner.kind == "error" and "paper.pdf" in page.banner.text()
    assert window.state.model is None
    open_model(page, qtbot, str(tiny_onnx.path))  # still works afterwards
    assert window.state.model is not None and page.banner.kind == "success"


def test_edit_preprocessing_and_labels(window, qtbot, tiny_onnx):
    page = window.show_page("ModelPage")
    window.state.set_model(tiny_onnx)
    page.pre_editor.height.setValue(40)
    page.pre_editor.mean.setText("0.5, 0.5, 0.5")
    page.labels_editor.text.setPlainText("\n".join(f"class {i}" for i in range(10)))
    page.apply_edits()
    model = window.state.model
    assert model.preprocess.size[0] == 40 and model.preprocess.mean == (0.5, 0.5, 0.5)
    assert model.labels[3] == "class 3"
    page.pre_editor.std.setText("one two")
    page.apply_edits()
    assert page.banner.kind == "error" and "Std" in page.banner.text()
    assert window.state.model is model


def test_convert_to_openvino_shows_the_numeric_check(window, qtbot, tiny_onnx, tmp_path):
    page = window.show_page("ModelPage")
    window.state.set_model(tiny_onnx)
    page.convert_to.setCurrentText("openvino")
    page.convert_out.setText(str(tmp_path / "ir"))
    page.convert()
    with qtbot.waitSignal(page.job.signals.finished, timeout=120000):
        pass
    assert "Numeric check passed" in page.convert_result.text(), page.banner.text()
    assert "(numeric check passed: max |diff|" in page.banner.text()  # in view, not only below the Convert row
    assert window.state.model.format == "openvino"
    assert (tmp_path / "ir" / "tiny.xml").is_file()
    # an IR converts to nothing here: the box says so instead of standing empty
    assert page.convert_to.count() == 0 and page.convert_to.placeholderText() == "nothing from openvino"
    window.state.set_model(tiny_onnx)
    page.convert_to.setCurrentText("openvino")
    page.convert()  # the same output again: OutputExists, shown, nothing overwritten
    with qtbot.waitSignal(page.job.signals.finished, timeout=120000):
        pass
    assert page.banner.kind == "error" and "exist" in page.banner.text()


@pytest.fixture(scope="module")
def tiny_yolox(tmp_path_factory):
    """A YOLOX-shaped head: input [1, 3, 96, 96], output [1, 189, 85] (8/16/32 grid cells x (4 box +
    1 objectness + 80 COCO classes)), as YOLOX-Nano's [1, 3549, 85] at 416."""
    torch = pytest.importorskip("torch")
    from .conftest import export_head

    class Head(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = torch.nn.ModuleList(torch.nn.Conv2d(3, 85, s, stride=s) for s in (8, 16, 32))

        def forward(self, x):
            return torch.cat([conv(x).flatten(2) for conv in self.convs], 2).transpose(1, 2)

    return export_head(Head(), 96, tmp_path_factory.mktemp("yolox") / "tinyyolox.onnx", "output")


def test_a_detector_shows_its_task_class_count_and_input_size(window, tiny_yolox, tiny_onnx):
    """A YOLOX head [1, N, 85] is a detector of 80 classes (not 85 classes), and with no card its
    preprocessing placeholder is the input's 96x96, not 224x224. What edgekit runs it on with no card
    (BGR 0..255, the COCO names) is shown and said to be assumed, as the CLI's note says: the page
    called the pixels "placeholders" and showed no labels, while the demo drew COCO names."""
    from edgekit.models import load_model

    page = window.show_page("ModelPage")
    model = load_model(tiny_yolox)
    assert model.preprocess is None
    window.state.set_model(model)
    assert page.info.values["Task"].text() == "detection"
    assert page.info.values["Classes"].text() == "80"
    assert (page.pre_editor.height.value(), page.pre_editor.width.value()) == (96, 96)
    assert page.detection_editor.task.text() == "detection"  # the same as the card above
    assert page.pre_editor.channel_order.currentText() == "BGR" and page.pre_editor.scale.value() == 1.0
    assert "edgekit runs it on pixels BGR 0..255 (the yolox convention)" in page.pre_editor.origin.text()
    labels = page.labels_editor.text.toPlainText().splitlines()  # the names its boxes are shown with
    assert len(labels) == 80 and labels[:2] == ["person", "bicycle"]
    assert "Assumed: the 80 COCO class names" in page.labels_editor.origin.text()
    page.labels_editor.text.setPlainText("\n".join(f"class {i}" for i in range(80)))  # 80 names fit its 80 classes
    page.apply_edits()
    assert page.banner.kind == "success", page.banner.text()
    assert page.info.values["Task"].text() == "detection" and page.info.values["Classes"].text() == "80"
    assert page.pre_editor.resize.currentData() == "letterbox"
    from edgekit.models import Preprocess

    # a card saved by an older `edgekit card --save --bgr` said "stretch", which a detector never does
    window.state.set_model(model.replace(preprocess=Preprocess(size=(96, 96), scale=1.0, channel_order="BGR",
                                                               resize="stretch")))
    assert page.pre_editor.resize.currentData() == "letterbox" and page.pre_editor.channel_order.currentText() == "BGR"
    window.state.set_model(tiny_onnx)  # a classifier with a card: its own task, classes and size
    assert page.info.values["Task"].text() == "classification" and page.info.values["Classes"].text() == "10"
    assert (page.pre_editor.height.value(), page.pre_editor.width.value()) == (32, 32)
    window.state.set_model(tiny_onnx.replace(preprocess=None, labels=None))  # no card: the input's size
    assert (page.pre_editor.height.value(), page.pre_editor.width.value()) == (32, 32)
    assert "placeholders" in page.pre_editor.origin.text()


def test_with_no_model_the_editors_show_defaults_not_zeros(window):
    """Before any model is open the greyed preprocessing editor read Size 1x1, Scale 0.000000."""
    page = window.show_page("ModelPage")
    editor = page.pre_editor
    assert (editor.height.value(), editor.width.value()) == (224, 224) and editor.scale.value() > 0
    assert "Open a model" in editor.origin.text() and not editor.isEnabled()


def test_the_data_fields_ask_a_detector_for_labelled_boxes(window, tiny_yolox, tiny_onnx):
    """Beside YOLOX, the Optimize and Deploy pages' data fields read "a folder (one sub-folder per class)";
    a detector is scored on a YOLO folder, a COCO .json or a VOC folder, as `edgekit plan --data` takes."""
    from edgekit.models import load_model

    optimize, deploy = window.show_page("OptimizePage"), window.show_page("DeployPage")
    window.state.set_model(load_model(tiny_yolox))
    for field in (optimize.form.data_folder, deploy.data.folder):
        assert "YOLO folder" in field.placeholderText() and "COCO .json" in field.placeholderText()
    window.state.set_model(tiny_onnx)
    for field in (optimize.form.data_folder, deploy.data.folder):
        assert "one sub-folder per class" in field.placeholderText()
