"""``evaluate_detection`` and ``edgekit eval`` on a detector: mAP equal to pycocotools on the same boxes."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from edgekit.cli import main
from edgekit.detection.coco import pycocotools_stats
from edgekit.detection.evaluate import evaluate_detection

from .conftest import real, scene


def _squares_dataset(root, n=6):
    """Scenes of the tiny heads' world: a red (class 0) and a green (class 1) square per image,
    labelled in YOLO txt; the last image's green square is left unlabelled (a false positive)."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    image, boxes = scene()
    h, w = image.shape[:2]
    for i in range(n):
        cv2.imwrite(str(root / "images" / f"{i}.png"), image)
        lines = []
        for cls, (x1, y1, x2, y2) in boxes.items():
            if i == n - 1 and cls == 1:
                continue
            lines.append(f"{cls} {(x1 + x2) / 2 / w} {(y1 + y2) / 2 / h} {(x2 - x1) / w} {(y2 - y1) / h}")
        (root / "labels" / f"{i}.txt").write_text("\n".join(lines))
    return root


def test_exported_detector_scores_like_pycocotools(tiny_heads, tmp_path):
    data = _squares_dataset(tmp_path / "squares")
    result = evaluate_detection(tiny_heads["ultralytics"], data, bootstrap=20)
    m = result.metrics
    assert m.map50 == pytest.approx(1.0) and m.n_images == 6 and m.n_gt == 11 and m.n_dets == 12
    assert m.precision == pytest.approx(11 / 12) and m.recall == 1.0
    assert result.settings["conf"] == 0.001 and result.settings["multi_label"]
    reference = pycocotools_stats(result.truths, result.predictions, ["0", "1"])
    np.testing.assert_allclose(m.stats, reference, atol=1e-4)
    assert json.loads(json.dumps(result.to_dict()))["metrics"]["map50"] == pytest.approx(1.0)


def test_cli_eval_dispatches_a_detector_to_map(tiny_heads, tmp_path, capsys):
    data = _squares_dataset(tmp_path / "squares")
    assert main(["eval", str(tiny_heads["yolox"]), "--data", str(data), "--json", "--cross-check"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["task"] == "detection" and out["settings"]["decoder"] == "yolox"
    np.testing.assert_allclose(out["metrics"]["stats"], out["pycocotools_stats"], atol=1e-4)
    assert main(["eval", str(tiny_heads["yolox"]), "--data", str(data)]) == 0
    text = capsys.readouterr().out
    assert "mAP@0.5 1.000" in text and "AP@0.5:0.95" in text


@pytest.mark.slow
@pytest.mark.parametrize("name, limit, reference", [("yolox_nano.onnx", None, (0.504, 0.334)),
                                                     ("yolov8n_int8_op11.onnx", 12, (0.594, 0.438))])
def test_real_detectors_on_coco64_equal_pycocotools(name, limit, reference):
    result = evaluate_detection(real("models", name), real("coco64"), limit=limit, bootstrap=0)
    stats = np.asarray(result.metrics.stats)
    np.testing.assert_allclose(stats, pycocotools_stats(result.truths, result.predictions,
                                                        [str(i) for i in range(80)]), atol=1e-4)
    if limit is None:  # README: coco128 (these 64 and 64 others): YOLOX-Nano 0.504 / 0.334
        assert abs(result.metrics.map50 - reference[0]) < 0.15 and abs(result.metrics.map - reference[1]) < 0.15
    assert result.metrics.map50 > 0.4
