"""The annotated-video recorder: plays back, atomic, never overwrites."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgekit.errors import EdgekitError, OutputExists
from edgekit.vision.recorder import VideoRecorder


def test_frames_of_any_size_become_one_playable_video(tmp_path):
    path = tmp_path / "out.mp4"
    with VideoRecorder(path, fps=10) as rec:
        for shape in ((241, 321, 3), (240, 320, 3), (1080, 1920, 3), (100, 50, 3)):
            rec.write(np.full(shape, 120, np.uint8))
    cap = cv2.VideoCapture(str(path))
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    assert len(frames) == 4 and frames[0].shape == (240, 320, 3)
    assert list(tmp_path.iterdir()) == [path]


def test_existing_file_is_kept_and_failures_leave_nothing(tmp_path):
    mine = tmp_path / "mine.mp4"
    mine.write_bytes(b"keep")
    with pytest.raises(OutputExists):
        VideoRecorder(mine)
    path = tmp_path / "new.avi"
    with pytest.raises(RuntimeError), VideoRecorder(path) as rec:
        rec.write(np.zeros((48, 64, 3), np.uint8))
        raise RuntimeError("crash while recording")
    assert mine.read_bytes() == b"keep" and sorted(p.name for p in tmp_path.iterdir()) == ["mine.mp4"]
    with pytest.raises(EdgekitError, match="extension"):
        VideoRecorder(tmp_path / "out.gif")
