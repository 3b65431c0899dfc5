"""The Model page keeps what the user typed: preprocessing and labels come back when the model is reopened."""

from __future__ import annotations

import pytest

from .conftest import open_model

pytestmark = pytest.mark.gui



def test_preprocessing_and_labels_are_restored_when_the_model_is_reopened(window, qtbot, tmp_path, tiny_onnx):
    source = tmp_path / "bare.onnx"  # a copy with no card beside it: nothing says how to preprocess
    source.write_bytes(tiny_onnx.path.read_bytes())
    page = window.show_page("ModelPage")
    open_model(page, qtbot, str(source))
    assert window.state.model.preprocess is None
    assert "Not known" in page.pre_editor.origin.text()  # the placeholders say they are placeholders
    page.pre_editor.height.setValue(48)
    page.pre_editor.width.setValue(48)
    page.pre_editor.mean.setText("0.485 0.456 0.406")
    labels = tmp_path / "names.txt"
    labels.write_text("\n".join(f"thing {i}" for i in range(10)))
    assert page.labels_editor.load_file(str(labels))  # "Load labels…" reads the file
    page.apply_edits()
    window.state.set_model(None)
    open_model(page, qtbot, page.recent.itemText(0))  # reopened from Recent
    model = window.state.model
    assert model.preprocess.size == (48, 48) and model.preprocess.mean == (0.485, 0.456, 0.406)
    assert model.labels[9] == "thing 9"
    assert "saved in the app" in page.pre_editor.origin.text()
    assert page.labels_editor.origin.text() == "10 from: saved in the app"


def test_a_bad_labels_file_is_a_banner_and_keeps_the_text(window, qtbot, tmp_path, tiny_onnx):
    page = window.show_page("ModelPage")
    window.state.set_model(tiny_onnx)
    page.labels_editor.text.setPlainText("kept")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    assert not page.labels_editor.load_file(str(empty))
    assert page.banner.kind == "error" and "empty.txt" in page.banner.text()
    assert page.labels_editor.text.toPlainText() == "kept"
