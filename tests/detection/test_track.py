"""The IoU tracker keeps ids across frames and holds a box that drops out briefly, so counts do not flicker."""

from __future__ import annotations

import pytest

from edgekit.detection import Detection
from edgekit.detection.track import IoUTracker


def _det(x, cls=0, score=0.9):
    return Detection((x, 10.0, x + 20.0, 30.0), "cat" if cls == 0 else "dog", score, cls)


def test_ids_follow_moving_objects_and_new_objects_get_new_ids():
    tracker = IoUTracker()
    first = tracker.update([_det(0), _det(100)])
    second = tracker.update([_det(3), _det(104), _det(200)])
    ids = {d.box[0]: d.track_id for d in second}
    assert ids[3] == next(d.track_id for d in first if d.box[0] == 0)
    assert ids[104] == next(d.track_id for d in first if d.box[0] == 100)
    assert ids[200] not in {d.track_id for d in first}


def test_a_box_missing_for_hold_frames_is_held_then_dropped():
    tracker = IoUTracker(hold=2)
    tracker.update([_det(0), _det(100)])
    counts = [len(tracker.update([_det(0)])) for _ in range(4)]
    assert counts == [2, 2, 1, 1]  # held for two frames at its last box, then gone


def test_classes_never_share_a_track_and_bad_settings_are_refused():
    tracker = IoUTracker()
    cat = tracker.update([_det(0, cls=0)])[0]
    dog = next(d for d in tracker.update([_det(0, cls=1)]) if d.class_id == 1)
    assert dog.track_id != cat.track_id
    assert Detection.from_dict(dog.to_dict()) == dog and "track_id" not in _det(0).to_dict()
    with pytest.raises(ValueError, match="IoUTracker"):
        IoUTracker(iou=0)
