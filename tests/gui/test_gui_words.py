"""The SDK's sentences name CLI options; the app shows the name of its own control instead."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


@pytest.mark.parametrize(("sentence", "page", "expected"), [
    ("b.zip already exists; choose another output or pass --force to replace it", "DeployPage",
     "b.zip already exists; choose another output or tick “Replace an existing bundle at that path” to replace it"),
    ("b.onnx already exists; choose another output or pass --force to replace it", "ModelPage",
     "b.onnx already exists; choose another output or delete the existing one first"),
    ("no validation data for tiny: pass data=DIR (--data DIR), a folder with one sub-folder per class",
     "OptimizePage", ("no validation data for tiny: choose your images under “Validation data” (Folder… or "
                      "List…), a folder with one sub-folder per class")),
    ("cls/ is not detection data; point --data at a YOLO folder (images/ + labels/)", "DeployPage",
     "cls/ is not detection data; choose under “Validation sample from” a YOLO folder (images/ + labels/)"),
    ("too noisy to rank: rerun with more seconds per candidate (--seconds)", "OptimizePage",
     "too noisy to rank: rerun with more seconds per candidate (“Benchmark time”)"),
    (("b holds files edgekit did not write (notes.txt), so it will not be replaced; move them out of it, or choose "
      "another output (--out)"), "DeployPage",
     ("b holds files edgekit did not write (notes.txt), so it will not be replaced; move them out of it, or choose "
      "another bundle path")),
])
def test_cli_option_names_become_the_pages_control_names(sentence, page, expected):
    from edgekit_gui.errors import for_gui

    assert for_gui(sentence, page) == expected


def test_an_sdk_error_in_a_pages_banner_is_in_that_pages_words(window):
    from edgekit.errors import OutputExists

    page = window.show_page("DeployPage")
    page.banner.show_error(OutputExists("/tmp/b.zip already exists; choose another output or pass --force to replace it"))
    assert "--force" not in page.banner.text() and page.force.text() in page.banner.text()
