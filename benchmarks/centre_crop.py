"""Centre crop: resizing the whole frame then cutting (edgekit before) vs resizing only the span the
cut reads (:func:`edgekit.models.preprocess.resized_centre`, now).

Two questions, side by side in one run:

1. **Speed.** CPU time of one call each way (thread CPU, median over ``--repeats`` interleaved rounds
   of ``--calls`` calls) for camera-sized frames into 224x224 models at the two crop ratios edgekit's
   models use, their ratio, the paired per-round difference, and how far apart the pixels are.
2. **Does moving the samples up to 1/8 source px change accuracy?** With ``../shared/realdata`` there:
   the real INT8 ShuffleNet on the 500 ImageNet photos, top-1 with the whole resize, with the span
   resize, and with the whole resize of each photo shifted by 1/16, 1/8 and 1/4 px (a translation no
   one can see), and how many of the 500 predictions each changes against the whole resize. That is
   the scale of "noise" against which the span's difference is to be read. Skipped (said so) without
   the data.

Usage:
    python benchmarks/centre_crop.py [--repeats 9] [--calls 40] [--no-accuracy] [--json centre_crop.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from edgekit.models.preprocess import CropGeometry, Preprocess, resize_to, resized_centre

FRAMES = [(480, 640), (720, 1280), (375, 500)]
CROPS = [0.875, 1.0]  # ImageNet's Resize(256)+CenterCrop(224); the demo digits' whole short side
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
IMAGENET = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225), "resize": "center_crop"}
SHIFTS = [1 / 16, 1 / 8, 1 / 4]


def whole(image: np.ndarray, crop: CropGeometry) -> np.ndarray:
    """What edgekit did: resize all of it, then cut the centre."""
    (nh, nw), (top, left), (h, w) = crop.resized, crop.at, crop.size
    return resize_to(image, (nw, nh))[top : top + h, left : left + w]


def frame(shape: tuple[int, int]) -> np.ndarray:
    """A demo-stream frame of ``shape`` (the live demo's own picture)."""
    from edgekit.data.demo_stream import DemoStream

    return DemoStream(seed=0, size=shape).frame(100)[0]


def cpu_ms(fn, image: np.ndarray, crop: CropGeometry, calls: int) -> float:
    t0 = time.thread_time()
    for _ in range(calls):
        fn(image, crop)
    return (time.thread_time() - t0) / calls * 1e3


def speed(repeats: int, calls: int) -> list[dict]:
    rows = []
    for shape in FRAMES:
        image = frame(shape)
        for ratio in CROPS:
            crop = Preprocess(size=(224, 224), resize="center_crop", crop_ratio=ratio).crop_geometry(shape)
            diff = np.abs(resized_centre(image, crop).astype(np.int16) - whole(image, crop))
            old, new = [], []
            for i in range(repeats):  # interleaved, alternating which goes first
                pair = (("old", whole), ("new", resized_centre)) if i % 2 == 0 else (("new", resized_centre), ("old", whole))
                for name, fn in pair:
                    (old if name == "old" else new).append(cpu_ms(fn, image, crop, calls))
            deltas = [n - o for o, n in zip(old, new, strict=True)]
            rows.append({"frame": f"{shape[1]}x{shape[0]}", "crop_ratio": ratio,
                         "whole_ms": statistics.median(old), "span_ms": statistics.median(new),
                         "ratio": statistics.median(new) / statistics.median(old),
                         "paired_delta_ms": statistics.median(deltas),
                         "span_cheaper_rounds": sum(d < 0 for d in deltas), "rounds": repeats,
                         "pixels_mean_abs": float(diff.mean()), "pixels_max_abs": int(diff.max())})
    return rows


def accuracy() -> dict | None:
    """Top-1 of the real INT8 ShuffleNet per way of resizing, or None without the shared data."""
    model, table = REALDATA / "models" / "shufflenet-v2-12-qdq.onnx", REALDATA / "labels" / "imagenet500.csv"
    if not (model.is_file() and table.is_file()):
        return None
    import onnxruntime as ort

    from edgekit.models import preprocess

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    with table.open(newline="") as f:
        rows = list(csv.DictReader(f))
    images = [cv2.imread(str(REALDATA / row["path"])) for row in rows]
    labels = np.array([int(row["label"]) for row in rows])
    pre = Preprocess(size=(224, 224), **IMAGENET)

    def predict(cut, shift: float = 0.0) -> np.ndarray:
        preprocess.resized_centre, saved = cut, preprocess.resized_centre
        try:
            out = []
            for image in images:
                if shift:
                    moved = np.float32([[1, 0, shift], [0, 1, shift]])
                    image = cv2.warpAffine(image, moved, image.shape[1::-1], flags=cv2.INTER_LINEAR,
                                           borderMode=cv2.BORDER_REPLICATE)
                out.append(int(session.run(None, {name: pre(image)})[0].argmax()))
            return np.array(out)
        finally:
            preprocess.resized_centre = saved

    reference = predict(whole)
    ways = {"whole resize, then crop": reference, "span resize (now)": predict(resized_centre)}
    for shift in SHIFTS:
        ways[f"whole, photo moved {shift:.4g} px"] = predict(whole, shift)
    right = reference == labels
    return {"model": model.name, "photos": len(rows), "rows": [
        {"way": way, "top1": float((p == labels).mean()), "changed": int((p != reference).sum()),
         "right_to_wrong": int((right & (p != labels)).sum()), "wrong_to_right": int((~right & (p == labels)).sum())}
        for way, p in ways.items()]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--no-accuracy", action="store_true", help="skip the ShuffleNet accuracy part")
    parser.add_argument("--json", type=Path, default=Path("centre_crop.json"))
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # the live loop's preprocessing runs beside inference: one core's cost
    rows = speed(args.repeats, args.calls)
    print(f"centre crop into 224x224, one thread, median of {args.repeats} interleaved rounds x {args.calls} calls"
          f" (load {os.getloadavg()[0]:.1f})")
    print(f"{'frame':>9} {'crop':>5} {'whole ms':>9} {'span ms':>8} {'ratio':>6} {'paired d':>9} {'cheaper':>8}"
          f" {'px mean':>8} {'px max':>6}")
    for r in rows:
        print(f"{r['frame']:>9} {r['crop_ratio']:>5} {r['whole_ms']:>9.3f} {r['span_ms']:>8.3f} {r['ratio']:>6.2f}"
              f" {r['paired_delta_ms']:>+9.3f} {r['span_cheaper_rounds']:>4}/{r['rounds']:<3}"
              f" {r['pixels_mean_abs']:>8.2f} {r['pixels_max_abs']:>6}")
    acc = None if args.no_accuracy else accuracy()
    if acc is None:
        print("\naccuracy: skipped" + ("" if args.no_accuracy else f" ({REALDATA} not found: the real INT8 ShuffleNet"
                                                                  " and ImageNet photos live there)"))
    else:
        print(f"\n{acc['model']} on {acc['photos']} ImageNet photos (changed: predictions unlike the whole resize's)")
        print(f"{'way':<30} {'top-1':>7} {'changed':>8} {'right->wrong':>13} {'wrong->right':>13}")
        for r in acc["rows"]:
            print(f"{r['way']:<30} {r['top1']:>7.1%} {r['changed']:>8} {r['right_to_wrong']:>13} {r['wrong_to_right']:>13}")
    tmp = args.json.with_suffix(args.json.suffix + ".tmp")
    tmp.write_text(json.dumps({"speed": rows, "accuracy": acc, "load": os.getloadavg()[0]}, indent=2))
    os.replace(tmp, args.json)
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
