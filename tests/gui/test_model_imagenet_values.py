"""The Model page's preprocessing editor speaks the CLI's words and fills in ImageNet's values on request.

Found in a real window with ShuffleNet (ONNX Model Zoo): the user typed six numbers off the model's page
to do what ``--assume-defaults`` does on the command line, and picked "center_crop" where every CLI
help and README line says "shorter-crop"; and an edit of any field put back the default crop ratio and rounded 1/255 to 0.003922.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from edgekit.models import Preprocess

from .conftest import open_model

pytestmark = pytest.mark.gui



def test_imagenets_values_fill_the_fields_and_apply_as_the_cli_assumes_them(window, qtbot, tmp_path, tiny_onnx):
    source = tmp_path / "bare.onnx"  # nothing beside it says how to preprocess
    source.write_bytes(tiny_onnx.path.read_bytes())
    page = window.show_page("ModelPage")
    open_model(page, qtbot, str(source))
    editor = page.pre_editor
    assert [editor.resize.itemText(i) for i in range(editor.resize.count())] == ["stretch", "shorter-crop", "letterbox"]
    size = (editor.height.value(), editor.width.value())
    qtbot.mouseClick(editor.imagenet, Qt.MouseButton.LeftButton)
    assert editor.resize.currentText() == "shorter-crop" and editor.mean.text() == "0.485 0.456 0.406"
    assert "not applied yet" in editor.origin.text()
    assert window.state.model.preprocess is None  # nothing changes until applied
    page.apply_edits()
    pre = window.state.model.preprocess
    assert pre == Preprocess(size=size, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), scale=1 / 255,
                             channel_order="RGB", resize="center_crop", crop_ratio=0.875)


def test_an_edit_keeps_the_cards_crop_ratio_and_exact_scale(window, qtbot, tiny_onnx):
    page = window.show_page("ModelPage")
    window.state.set_model(tiny_onnx.replace(preprocess=Preprocess(size=(32, 32), resize="center_crop",
                                                                   crop_ratio=0.95)))
    assert page.pre_editor.resize.currentText() == "shorter-crop"
    page.pre_editor.height.setValue(40)
    page.apply_edits()
    pre = window.state.model.preprocess
    assert pre.size == (40, 32) and pre.resize == "center_crop" and pre.crop_ratio == 0.95
    assert pre.scale == 1 / 255  # not the box's 0.003922
