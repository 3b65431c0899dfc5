"""Overlay readability at small and large frames; readouts as data; running metrics."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.vision._meters import Confusion, RateMeter
from edgekit.vision.overlay import draw_overlay
from edgekit.vision.readouts import (
    ABReadout,
    AccuracyReadout,
    PredictorReadout,
    Rate,
    Readouts,
    StageLatency,
)


def sample_readouts() -> Readouts:
    acc = AccuracyReadout(200, 190, 0.95, 0.91, 0.97, 0.94, 0.95, 0.945)
    pred = PredictorReadout("demo:digits", "openvino", "cpu", "int8", Rate(812.5, 790.1), StageLatency(1.2, 1.9, 300), 900, acc)
    ab = ABReadout(PredictorReadout("fp32", "onnxruntime", "cpu", "fp32"), 5, 180, 177, 177 / 180, 3, "7")
    return Readouts(seq=41, elapsed_s=3.2, source="demo", frame_size=(320, 240), display_fps=Rate(233.4, 230.0),
                    latency={"inference": StageLatency(1.2, 1.9, 300), "end_to_end": StageLatency(8.0, 12.0, 300)},
                    topk=(("7", 0.93), ("1", 0.04)), truth="7", accuracy=acc, predictor=pred, ab=ab, dropped=12)


def text_box(height: int, width: int) -> tuple[int, int, int, float]:
    """Draw on a flat grey frame; return rows and cols spanned by text, the
    tallest run of text rows in px (one line), and the fraction of the frame drawn over."""
    frame = np.full((height, width, 3), 90, np.uint8)
    out = draw_overlay(frame, sample_readouts())
    assert out.shape == frame.shape and np.array_equal(frame, np.full_like(frame, 90))  # not drawn in place
    bright = (out.max(axis=2) > 150)  # the text itself (the panel behind it is darkened)
    rows = np.flatnonzero(bright.any(axis=1))
    cols = np.flatnonzero(bright.any(axis=0))
    runs, run = [], 0
    for has in bright.any(axis=1):
        run = run + 1 if has else 0
        runs.append(run)
    covered = float((out != frame).any(axis=2).mean())
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1, max(runs), covered


@pytest.mark.parametrize("height,width", [(240, 320), (1080, 1920)])
def test_overlay_text_is_readable_and_fits(height, width):
    rows, cols, tallest_line, covered = text_box(height, width)
    assert cols <= width and rows <= height
    assert tallest_line >= 9  # a line of text is at least ~9 px tall: readable on a small frame
    assert tallest_line / height >= 0.025  # and it grows with the frame instead of shrinking to a speck
    assert covered <= 0.4  # leaves most of the picture visible


def test_overlay_scales_with_frame_size():
    small, large = text_box(240, 320), text_box(1080, 1920)
    assert large[2] > 2 * small[2]


def test_overlay_accepts_gray_bgra_and_tiny_frames():
    r = sample_readouts()
    assert draw_overlay(np.zeros((240, 320), np.uint8), r).shape == (240, 320, 3)
    assert draw_overlay(np.zeros((240, 320, 4), np.uint8), r).shape == (240, 320, 3)
    assert draw_overlay(np.zeros((32, 32, 3), np.uint8), r).shape == (240, 240, 3)


def test_readouts_round_trip_through_dict_and_json():
    import json

    r = sample_readouts()
    again = Readouts.from_dict(json.loads(json.dumps(r.to_dict())))
    assert again == r
    assert "acc 95.0%" in r.line() and "agree 98.3%" in r.line()
    assert r.predictor.badge == "openvino CPU int8"
    assert "every 5th" in r.ab.note
    assert r.bottleneck == "model (inference)"  # 1.2 ms inference; no capture/render recorded


def test_the_ab_note_never_says_every_frame_of_frames_it_skipped():
    from dataclasses import replace

    ab = replace(sample_readouts().ab, every=1, compared=16, skipped=24)
    assert ab.note == ("reference ran on 16 of the 40 frames due (every frame; the others came while it was "
                       "still busy)")
    assert replace(ab, skipped=0).note == "reference ran on every frame (16 compared)"


def test_running_confusion_matches_compute_metrics():
    from edgekit.evaluation.metrics import compute_metrics

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 6, 300), rng.integers(0, 5, 300)
    conf = Confusion(5)
    for t, p in zip(y_true, y_pred):
        conf.add(int(t), int(p))
    got, want = conf.summary(), compute_metrics(y_true, y_pred, classes=[str(i) for i in range(6)])
    assert got["accuracy"] == pytest.approx(want.accuracy)
    assert (got["low"], got["high"]) == pytest.approx(want.accuracy_ci)
    assert got["precision"] == pytest.approx(want.macro_precision)
    assert got["recall"] == pytest.approx(want.macro_recall)
    assert got["f1"] == pytest.approx(want.macro_f1)


def test_rate_meter_ema_and_window_from_given_times():
    meter = RateMeter(window_s=1.0)
    for i in range(50):
        meter.tick(i * 0.02)  # 50 FPS
    assert meter.ema() == pytest.approx(50.0)
    assert meter.windowed(now=0.98) == pytest.approx(50.0)
    assert meter.windowed(now=5.0) == 0.0  # nothing in the last second


def test_the_terminal_line_counts_objects_in_english():
    from edgekit.detection.types import Detection

    box = Detection(box=(1.0, 2.0, 30.0, 40.0), score=0.9, class_id=0, label="person")
    base = sample_readouts()
    lines = {n: Readouts(**{**base.__dict__, "detections": (box,) * n}).line() for n in (0, 1, 2)}
    assert "| 0 objects" in lines[0] and "| 1 object" in lines[1] and "1 objects" not in lines[1]
    assert "| 2 objects" in lines[2]


def _detector_readouts(n_boxes: int = 3, dropped: int = 0) -> Readouts:
    """What ``edgekit demo yolov8n.onnx --source bottle-detection.mp4`` showed: its line ran to 93 columns."""
    from edgekit.detection.types import Detection
    from edgekit.vision.readouts import MapReadout

    box = Detection(box=(1.0, 2.0, 30.0, 40.0), score=0.9, class_id=39, label="bottle")
    return Readouts(seq=100, elapsed_s=8.0, source="bottle-detection.mp4", frame_size=(640, 360),
                    display_fps=Rate(11.6, 11.6), inference_fps=Rate(11.5, 11.5),
                    latency={"inference": StageLatency(79.3, 91.0, 100), "end_to_end": StageLatency(237.8, 268.5, 100)},
                    detections=(box,) * n_boxes, dropped=dropped,
                    det_map=MapReadout(frames=100, boxes=300, map50=0.612, map=0.41))


def test_the_terminal_line_fits_80_columns_keeping_what_a_demo_is_watched_for():
    r = _detector_readouts()
    assert len(r.line()) > 80  # as it was: wrapped onto two rows of an 80-column terminal
    line = r.line(80)
    assert len(line) <= 80, line
    assert line.startswith("11.6 FPS shown") and "infer p50 79.3 ms" in line
    assert "3 objects" in line and "mAP@.5 61.2% n=100" in line
    assert "dropped" not in line  # a zero drop count is the first thing given up
    assert r.line(200) == r.line()  # room enough: the padded line, figures in fixed columns
    busy = _detector_readouts(dropped=278)
    assert "drop" in busy.line(80) and "278" in busy.line(80)  # a drop count that is not 0 stays longer


def test_a_classifiers_line_gives_up_intervals_before_its_accuracy():
    line = sample_readouts().line(80)
    assert len(line) <= 80, line
    assert "top-1 7 93%" in line and "acc 95.0%" in line and "233.4 FPS shown" in line


@pytest.mark.parametrize("width", [1, 10, 24, 40, 60, 79, 80, 120])
def test_the_terminal_line_never_runs_past_the_width(width):
    for r in (sample_readouts(), _detector_readouts(), _detector_readouts(dropped=5)):
        line = r.line(width)
        assert len(line) <= width, (width, line)
        assert line.strip().startswith(r.line(10_000).strip()[:min(width - 1, 4)])  # the FPS comes first, always


@pytest.mark.parametrize("height,width", [(612, 340), (480, 200)])
def test_the_headline_stays_inside_a_narrow_portrait_frame(height, width):
    """Seen on the Live page with COCO photos: "4 person, 1 dining table" ran off a portrait frame's
    right edge, as the text size is fitted to the other lines."""
    import dataclasses

    from edgekit.detection.types import Detection

    found = tuple(Detection((5.0, height - 60.0, 40.0, height - 10.0), label, 0.9, i)
                  for i, label in enumerate(["person"] * 4 + ["dining table", "cake"]))
    readouts = dataclasses.replace(sample_readouts(), topk=(), truth=None, accuracy=None, ab=None, detections=found)
    frame = np.full((height, width, 3), 90, np.uint8)
    out = draw_overlay(frame, readouts)
    top = out[: height // 8].max(axis=2) > 150  # the headline's band (the boxes are at the bottom)
    assert top[:, -3:].sum() == 0  # no letter cut by the right edge
    assert top[:, : width // 2].any()  # and the headline is there, still large enough to see
