"""Characters that ``str.isdigit()`` calls digits but ``int()`` refuses ("¹", "²": superscripts): where edgekit
turns text into a number, such text is text, never a ValueError from deep inside."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from edgekit.errors import SourceError

SUPERSCRIPT_TWO = "\u00b2"


def test_a_superscript_source_is_no_camera_index_but_one_clear_error():
    from edgekit.vision.sources import open_source

    with pytest.raises(SourceError, match="not a camera index"):
        open_source(SUPERSCRIPT_TWO)


def test_a_labels_csv_whose_index_column_holds_a_superscript_still_reads(tmp_path):
    from edgekit.models.card_options import read_labels

    labels = tmp_path / "labels.csv"
    labels.write_text(f"1,dog\n{SUPERSCRIPT_TWO},bird\n0,cat\n", encoding="utf-8")
    assert list(read_labels(labels)) == ["bird", "cat", "dog"]  # a row with no number sorts first, as before


def test_a_manifest_label_that_is_a_superscript_is_a_class_name(tmp_path):
    import cv2
    import numpy as np

    from edgekit.data import ManifestDataset

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "m.csv").write_text(f"a.png,{SUPERSCRIPT_TWO}\nb.png,10\n", encoding="utf-8")
    assert set(ManifestDataset(tmp_path / "m.csv").classes) == {SUPERSCRIPT_TWO, "10"}


@pytest.mark.parametrize("argv", [["--help"], ["backends"]])
def test_a_columns_variable_that_is_no_number_is_ignored(argv):
    """rich itself read COLUMNS with int() after isdigit(): every command died before printing."""
    env = {**os.environ, "COLUMNS": SUPERSCRIPT_TWO, "LINES": "x"}
    done = subprocess.run([sys.executable, "-m", "edgekit", *argv], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-1500:]
    assert "Traceback" not in done.stderr
