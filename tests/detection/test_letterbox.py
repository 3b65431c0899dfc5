"""Letterbox puts the image where each exporter expects it and maps boxes back to original pixels."""

from __future__ import annotations

import numpy as np

from edgekit.detection.letterboxing import letterbox


def test_centred_letterbox_pads_both_sides_and_maps_boxes_back():
    image = np.full((480, 640, 3), 200, np.uint8)
    canvas, lb = letterbox(image, (320, 320), pad="center")
    assert canvas.shape == (320, 320, 3) and lb.ratio == 0.5 and (lb.pad_x, lb.pad_y) == (0, 40)
    assert (canvas[:40] == 114).all() and (canvas[280:] == 114).all() and (canvas[40:280] == 200).all()
    original = np.array([[100, 50, 300, 400]], np.float32)
    in_input = original * 0.5 + np.array([0, 40, 0, 40])
    np.testing.assert_allclose(lb.to_original(in_input), original)


def test_topleft_letterbox_pads_right_and_bottom_only_and_clips_boxes():
    image = np.full((100, 50, 3), 7, np.uint8)
    canvas, lb = letterbox(image, (64, 64), pad="topleft", pad_value=0)
    assert (canvas[:64, :32] == 7).all() and (canvas[:, 32:] == 0).all() and (lb.pad_x, lb.pad_y) == (0, 0)
    back = lb.to_original(np.array([[-5, 10, 60, 70]], np.float32))
    assert back.tolist() == [[0, 10 / 0.64, 50, 100]]
