"""A --source file that is no video says what --source takes, not to re-encode it."""

from __future__ import annotations

import pytest

from edgekit.errors import SourceError
from edgekit.vision import VideoSource, open_source


@pytest.mark.parametrize("name", ["model.onnx", "target.yaml", "weights.pt"])
def test_a_non_video_file_lists_the_source_choices(tmp_path, name):
    path = tmp_path / name
    path.write_text("path,label,wnid,name\nimages/a.jpg,0,n01440764,tench\n")
    with pytest.raises(SourceError) as info:
        open_source(str(path)).open()
    message = str(info.value)
    assert "is not a video" in message and name in message and info.value.path == path
    assert "camera index" in message and "video file" in message and "folder" in message
    assert "ffmpeg" not in message


@pytest.mark.parametrize("name", ["imagenet500.csv", "notes.txt"])
def test_a_list_whose_images_are_missing_names_the_row_not_a_video_problem(tmp_path, name):
    """A .csv/.txt source is a path,label list (labelled frames): its error is about its rows."""
    path = tmp_path / name
    path.write_text("path,label,wnid,name\nimages/a.jpg,0,n01440764,tench\n")
    with pytest.raises(SourceError, match="line 2: images/a.jpg") as info:
        open_source(str(path)).open()
    assert "is not a video" not in str(info.value) and "ffmpeg" not in str(info.value)


def test_a_broken_file_with_a_video_suffix_still_gets_the_ffmpeg_advice(tmp_path):
    path = tmp_path / "clip.mov"
    path.write_text("path,label\n")
    with pytest.raises(SourceError, match="cannot be decoded.*ffmpeg"):
        VideoSource(path).open()
