"""Detection loose ends through the CLI: ``eval --conf/--iou/--max-det``, ``card`` with the detection fields,
``demo --track``, ``verify`` comparing boxes, and ``load_model`` taking ``task: detect`` from ONNX metadata."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import onnx
import pytest

from edgekit.models import load_model
from edgekit.types import Task

from ..conftest import bare_env
from .conftest import scene
from .test_evaluate import _squares_dataset


def edgekit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgekit", *args], capture_output=True, text=True, timeout=300,
                          check=False, env=bare_env(COLUMNS="120"))


def _with_metadata(src, dest, **props) -> str:
    """A copy of the exported head with ONNX ``metadata_props`` as an exporter writes them."""
    proto = onnx.load(str(src))
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(dest))
    return str(dest)


def test_load_model_reads_the_exporters_task(tiny_heads, tmp_path):
    tagged = _with_metadata(tiny_heads["ultralytics"], tmp_path / "yolo.onnx", task="detect",
                            names="{0: 'red', 1: 'green'}")
    assert load_model(tagged).task == Task.DETECTION  # no card: the file says so
    assert load_model(tiny_heads["ultralytics"]).task == Task.CLASSIFICATION  # nothing says so at load time
    assert load_model(tagged, task="classification").task == Task.CLASSIFICATION  # the caller wins
    (tmp_path / "yolo.json").write_text(json.dumps({"task": "classification"}))
    assert load_model(tagged).task == Task.CLASSIFICATION  # so does a card
    other = _with_metadata(tiny_heads["ultralytics"], tmp_path / "seg.onnx", task="classify")
    assert load_model(other).task == Task.CLASSIFICATION


def test_eval_threshold_flags_reach_the_decoder(tiny_heads, tmp_path):
    data = _squares_dataset(tmp_path / "squares")
    run = edgekit("eval", str(tiny_heads["ultralytics"]), "--data", str(data), "--json",
                  "--conf", "0.5", "--iou", "0.6", "--max-det", "1")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert (out["settings"]["conf"], out["settings"]["iou"], out["settings"]["max_det"]) == (0.5, 0.6, 1)
    assert out["metrics"]["n_dets"] == 6  # one box per image kept, of the two squares
    bad = edgekit("eval", str(tiny_heads["ultralytics"]), "--data", str(data), "--conf", "2")
    assert bad.returncode != 0 and "--conf" in bad.stderr


def test_eval_threshold_flags_on_a_classifier_are_refused(tmp_path):
    run = edgekit("eval", "demo:digits", "--data", "demo-test", "--conf", "0.5")
    assert run.returncode == 2
    assert "apply to detectors" in run.stderr and "classifier" in run.stderr


def test_card_shows_and_saves_the_detection_fields(tiny_heads, tmp_path):
    model = shutil.copy(tiny_heads["yolox"], tmp_path / "nano.onnx")  # the card is written beside it
    run = edgekit("card", str(model), "--conf", "0.4", "--iou", "0.55", "--save")
    assert run.returncode == 0, run.stderr
    assert "detection" in run.stdout and "yolox" in run.stdout and "(shapes)" in run.stdout
    assert "0.4  (flag)" in run.stdout and "0.55  (flag)" in run.stdout
    card = json.loads((tmp_path / "nano.json").read_text())
    assert card["task"] == "detection"
    assert card["detection"]["decoder"] == "yolox" and card["detection"]["conf"] == 0.4
    assert card["detection"]["pad"] == "topleft"
    from edgekit.detection.head import detector_spec

    loaded = load_model(model)  # every later command reads the saved card
    assert loaded.task == Task.DETECTION and detector_spec(loaded).config.iou == 0.55
    again = edgekit("card", str(model))
    assert again.returncode == 0 and "0.4  (card)" in again.stdout and "yolox  (card)" in again.stdout
    # pixels stated: only what the detector uses shows, its letterbox, not a classifier's "resize stretch" and crop
    pixels = edgekit("card", str(model), "--bgr", "--scale", "1", "--save", "--force")
    assert pixels.returncode == 0, pixels.stderr
    assert "BGR, x1  (card)" in pixels.stdout or "BGR, x1  (flag)" in pixels.stdout
    assert "Letterbox" in pixels.stdout and "stretch" not in pixels.stdout and "crop_ratio" not in pixels.stdout
    saved = json.loads((tmp_path / "nano.json").read_text())["preprocess"]
    assert saved["resize"] == "letterbox" and saved["channel_order"] == "BGR" and saved["scale"] == 1.0
    classifier = edgekit("card", "demo:digits", "--conf", "0.3")
    assert classifier.returncode == 2 and "apply to detectors" in classifier.stderr


def test_what_a_detector_runs_on_unstated_is_said_until_a_card_states_it(tiny_heads, tmp_path):
    """A card-less YOLOX runs on its decoder's convention (BGR, 0..255): eval, compress, plan and demo
    ran on it without a word; now one note says it, the card shows it, and a saved card ends it."""
    model = shutil.copy(tiny_heads["yolox"], tmp_path / "nano.onnx")
    data = _squares_dataset(tmp_path / "squares")
    run = edgekit("eval", str(model), "--data", str(data))
    assert run.returncode == 0, run.stderr
    assert "note: nano: nothing in the file or its card states pixels BGR 0..255 (the yolox convention)" in run.stderr
    card = edgekit("card", str(model))
    assert "assumed: the yolox convention" in card.stdout and "Preprocess" not in card.stdout
    assert edgekit("card", str(model), "--bgr", "--scale", "1", "--save").returncode == 0
    again = edgekit("eval", str(model), "--data", str(data))
    assert again.returncode == 0 and "note:" not in again.stderr, again.stderr
    assert "BGR, x1  (card)" in edgekit("card", str(model)).stdout


def test_demo_track_gives_boxes_ids(tiny_heads, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    image, _ = scene()
    for i in range(6):
        cv2.imwrite(str(frames / f"{i:02d}.png"), image)
    stats = {}
    for track in (False, True):
        out = tmp_path / f"stats_{track}.json"
        flags = ["--track"] if track else []
        run = edgekit("demo", str(tiny_heads["ultralytics"]), "--source", str(frames), "--seconds", "20",
                      "--backend", "onnxruntime", "--json", str(out), *flags)
        assert run.returncode == 0, run.stderr
        stats[track] = json.loads(out.read_text())["readouts"]["detections"]
    assert len(stats[True]) == len(stats[False]) == 2
    assert all(d.get("track_id") is None for d in stats[False])
    assert sorted(d["track_id"] for d in stats[True]) == [1, 2]  # the same two objects on every frame


def test_verify_compares_a_detectors_boxes(tiny_heads, tmp_path):
    from edgekit.deployment import Predictor, deploy
    from edgekit.deployment.verify import _box_agree
    from edgekit.detection.detector import prepare

    bundle = deploy(tiny_heads["ultralytics"], out=tmp_path / "bundle")
    run = edgekit("verify", str(bundle.path), "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    checks = {c["name"]: c for c in json.loads(run.stdout)["checks"]}
    assert "top-1 agreement with deploy time" not in checks
    row = checks["box agreement with deploy time (IoU>=0.5, same class)"]
    assert row["measured"] == 1.0 and row["note"].startswith("max output diff")
    with Predictor.open(bundle.path) as predictor:
        agree = _box_agree(predictor)
        tensor, _ = prepare(scene()[0], predictor.detector_spec)
        out = predictor.session.predict(tensor).reshape(1, -1)
        assert agree(out, out) == 1.0
        swapped = predictor.session.predict(tensor).copy()
        swapped[:, [4, 5]] = swapped[:, [5, 4]]  # the same boxes, each under the other class
        assert agree(swapped.reshape(1, -1), out) == 0.0
        moved = predictor.session.predict(tensor).copy()
        moved[:, 0] += 16  # every box two cells to the right: IoU 0 with its old place
        assert agree(moved.reshape(1, -1), out) == 0.0
    assert np.isfinite(row["promised"])


def test_deploy_with_detection_data_promises_map_and_verify_remeasures_it(tiny_heads, tmp_path):
    data = _squares_dataset(tmp_path / "squares")
    out = tmp_path / "bundle"
    run = edgekit("deploy", str(tiny_heads["ultralytics"]), "--out", str(out), "--data", str(data), "--samples", "4")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 images, mAP@0.5 1.0000" in run.stdout and "accuracy n/a" not in run.stdout  # a detector has no top-1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["validation"]["map50"] == pytest.approx(1.0) and manifest["validation"]["samples"] == 4
    verify = edgekit("verify", str(out), "--json")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    checks = {c["name"]: c for c in json.loads(verify.stdout)["checks"]}
    assert checks["sample mAP@0.5"]["measured"] == pytest.approx(1.0) and checks["sample mAP@0.5"]["ok"]
    assert checks["box agreement with deploy time (IoU>=0.5, same class)"]["measured"] == 1.0
    table = edgekit("verify", str(out))
    assert "box agreement" in table.stdout and "top-1 agreement" not in table.stdout
    assert "sample mAP@0.5" in table.stdout


def test_deploy_with_detection_data_from_a_coco_json(tiny_heads, tmp_path):
    image, boxes = scene()
    cv2.imwrite(str(tmp_path / "a.png"), image)
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": image.shape[1], "height": image.shape[0]}],
            "categories": [{"id": 1, "name": "0"}, {"id": 2, "name": "1"}],
            "annotations": [{"id": k + 1, "image_id": 1, "category_id": k + 1, "iscrowd": 0,
                             "bbox": [x1, y1, x2 - x1, y2 - y1], "area": float((x2 - x1) * (y2 - y1))}
                            for k, (x1, y1, x2, y2) in boxes.items()]}
    (tmp_path / "val.json").write_text(json.dumps(coco))
    from edgekit.deployment import deploy

    bundle = deploy(tiny_heads["yolox"], out=tmp_path / "b", data=str(tmp_path / "val.json"))
    assert bundle.manifest.validation["map50"] == pytest.approx(1.0) and bundle.manifest.validation["samples"] == 1


def test_converting_a_detector_says_why_top1_agreement_is_not_given(tiny_heads, tmp_path):
    """`edgekit convert yolox_nano.onnx --to openvino` showed `Top-1 agreement n/a` with no reason beside it."""
    run = edgekit("convert", str(tiny_heads["yolox"]), "--to", "openvino", "--out", str(tmp_path / "ir"))
    assert run.returncode == 0, run.stderr
    said = " ".join(run.stdout.replace("│", " ").split())
    assert "passed" in said and "n/a (outputs are not class scores: compared by the diffs above)" in said


def test_info_says_a_file_is_a_detector_and_which_head(tiny_heads, tmp_path):
    """``edgekit info`` of a card-less YOLOX showed its tensors and nothing of being a detector."""
    model = shutil.copy(tiny_heads["yolox"], tmp_path / "nano.onnx")
    run = edgekit("info", str(model))
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.replace("│", " ").split())
    assert "Task detection: yolox head (from its shapes)" in text and "some of it assumed" in text, text
    assert f"`edgekit card {model}` shows what it is run on" in text, text
    classifier = " ".join(edgekit("info", "demo:digits").stdout.replace("│", " ").split())
    assert "Task classification" in classifier
