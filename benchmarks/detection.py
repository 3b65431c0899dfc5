"""Detection post-processing cost, and live FPS with boxes against a hand-written loop.

For each real detector in ``DATA/detection/models`` (``--data``; by default ``../shared/realdata``
beside the checkout; skipped when absent):

1. Per frame of ``coco64`` (letterbox + inference + decode + NMS), the median time of
   each step at the demo threshold (conf 0.25) and at the mAP threshold (conf 0.001,
   the decoder's evaluation settings), with NMS by OpenCV (``cv2.dnn.NMSBoxesBatched``),
   by the numpy loop, and ``auto`` (what edgekit uses). Goal: decode + NMS <= 10 % of inference.
2. ``--live``: frames of a video through ``LivePipeline`` (every frame, boxes drawn) vs a
   minimal hand-written OpenCV + onnxruntime loop doing the same work in one thread
   (read, letterbox, run, decode, NMS, draw). Goal: edgekit >= 1.0x the hand loop. The session
   is compiled as ``edgekit demo`` compiles it (``compile_live_session``); the hand loop uses
   onnxruntime's defaults. The two alternate ``--repeats`` times (interleaved, so drift on a
   shared machine hits both alike); medians and the median of the per-pair ratios are reported.

Prints a table and writes JSON (``--out``). Not a test: timings on a shared machine are
noisy; quote numbers measured on a quiet one.

Usage:
    python benchmarks/detection.py --images 16 --live 300 --repeats 5 --out detection.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
MODELS = ("yolox_nano.onnx", "yolov8n_int8_op11.onnx")


def _ms(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, (time.perf_counter() - t0) * 1e3


def per_frame(path: Path, images: list[np.ndarray]) -> dict:
    """Median ms of letterbox, inference and decode + NMS per way, over ``images``."""
    from edgekit.detection import Detector
    from edgekit.detection.detector import postprocess, prepare
    from edgekit.detection.evaluate import EVAL_SETTINGS

    detector = Detector.open(path)
    spec = detector.spec
    eval_cfg = spec.config.replace(**EVAL_SETTINGS[spec.config.decoder])
    rows: dict[str, list[float]] = {}
    candidates = {"demo": [], "eval": []}
    detector.run(prepare(images[0], spec)[0])  # warm-up
    for image in images:
        (tensor, box), pre_ms = _ms(prepare, image, spec)
        outputs, inf_ms = _ms(detector.run, tensor)
        one = [o[0] for o in outputs]
        rows.setdefault("letterbox", []).append(pre_ms)
        rows.setdefault("inference", []).append(inf_ms)
        for label, cfg in (("demo", spec.config), ("eval", eval_cfg)):
            for method in ("opencv", "numpy", "auto"):
                found, ms = _ms(postprocess, one, spec, box, cfg, nms_method=method)
                rows.setdefault(f"decode+nms {label} {method}", []).append(ms)
            candidates[label].append(len(found))
    detector.close()
    medians = {k: statistics.median(v) for k, v in rows.items()}
    medians["boxes kept demo (median)"] = statistics.median(candidates["demo"])
    medians["boxes kept eval (median)"] = statistics.median(candidates["eval"])
    return medians


def edgekit_live(path: Path, video: Path, frames: int) -> float:
    """FPS of ``LivePipeline`` over the first ``frames`` frames of ``video`` (no drops, boxes drawn)."""
    from edgekit.models import load_model
    from edgekit.vision import LivePipeline
    from edgekit.vision.config import compile_live_session
    from edgekit.vision.sources.generated import ArraySource

    images = _frames(video, frames)
    session = compile_live_session(load_model(path), "onnxruntime")  # as `edgekit demo` compiles it
    done = []
    t0 = time.perf_counter()
    with LivePipeline(ArraySource(images), session, drop=False, on_result=lambda im, r: done.append(1)) as pipe:
        pipe.wait(600)
    fps = len(done) / (time.perf_counter() - t0)
    session.close()
    return fps


def hand_loop(path: Path, video: Path, frames: int) -> float:
    """What a user writes without edgekit: one thread, onnxruntime, OpenCV letterbox/NMS/draw."""
    import onnxruntime as ort

    images = _frames(video, frames)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    size = inp.shape[2]
    yolox = "yolox" in path.name
    grid = _yolox_grid(size) if yolox else None
    t0 = time.perf_counter()
    for image in images:
        h, w = image.shape[:2]
        r = min(size / h, size / w)
        nh, nw = int(h * r), int(w * r)
        canvas = np.full((size, size, 3), 114, np.uint8)
        top, left = (0, 0) if yolox else ((size - nh) // 2, (size - nw) // 2)
        canvas[top:top + nh, left:left + nw] = cv2.resize(image, (nw, nh))
        blob = cv2.dnn.blobFromImage(canvas, 1.0 if yolox else 1 / 255, swapRB=not yolox)
        out = sess.run(None, {inp.name: blob})[0][0]
        if yolox:
            xy = (out[:, :2] + grid[0]) * grid[1]
            wh = np.exp(out[:, 2:4]) * grid[1]
            cls = out[:, 5:] * out[:, 4:5]
        else:
            out = out.T
            xy, wh, cls = out[:, :2], out[:, 2:4], out[:, 4:]
        ids = cls.argmax(1)
        scores = cls[np.arange(len(cls)), ids]
        keep = scores > 0.25
        xywh = np.concatenate([xy[keep] - wh[keep] / 2, wh[keep]], 1)
        kept = cv2.dnn.NMSBoxesBatched(xywh.astype(np.float64), scores[keep], ids[keep].astype(np.int32), 0.25, 0.45)
        for i in np.asarray(kept).reshape(-1):
            x, y, bw, bh = ((xywh[i] - [left, top, 0, 0]) / r).astype(int)
            cv2.rectangle(image, (x, y), (x + bw, y + bh), (0, 200, 255), 2)
            cv2.putText(image, f"{ids[keep][i]} {scores[keep][i]:.2f}", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                        (0, 200, 255), 1)
    return len(images) / (time.perf_counter() - t0)


def _yolox_grid(size: int):
    grids, strides = [], []
    for s in (8, 16, 32):
        n = size // s
        yv, xv = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        grids.append(np.stack([xv, yv], 2).reshape(-1, 2))
        strides.append(np.full((n * n, 1), s))
    return np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)


def _frames(video: Path, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    out = []
    while len(out) < n:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REAL,
                        help=f"the realdata folder (default: {REAL}, beside the checkout)")
    parser.add_argument("--images", type=int, default=16, help="coco64 images timed per model")
    parser.add_argument("--live", type=int, default=0, help="video frames for the live comparison (0: skip)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved live runs of each way; medians")
    parser.add_argument("--video", type=Path, default=None,
                        help="video for --live (default: DATA/video/bottle-detection.mp4)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="files under DATA/detection/models")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here")
    args = parser.parse_args()
    real = args.data
    args.video = args.video or real / "video" / "bottle-detection.mp4"
    paths = sorted((real / "detection" / "coco64" / "images").glob("*.jpg"))[: args.images]
    if not paths:
        raise SystemExit(f"no images under {real / 'detection' / 'coco64'}: the real data is absent (--data DIR)")
    images = [cv2.imread(str(p)) for p in paths]
    results: dict[str, dict] = {}
    live_pairs: dict[str, list[dict]] = {}
    for name in args.models:
        path = real / "detection" / "models" / name
        if not path.exists():
            print(f"skip {name}: absent")
            continue
        row = per_frame(path, images)
        for way in ("opencv", "numpy", "auto"):
            for label in ("demo", "eval"):
                row[f"post/inference {label} {way}"] = row[f"decode+nms {label} {way}"] / row["inference"]
        if args.live and args.video.exists():
            pairs = [(edgekit_live(path, args.video, args.live), hand_loop(path, args.video, args.live))
                     for _ in range(args.repeats)]  # interleaved: one of each per repeat
            row["live fps edgekit"] = statistics.median(e for e, _ in pairs)
            row["live fps hand loop"] = statistics.median(h for _, h in pairs)
            row["live edgekit/hand"] = statistics.median(e / h for e, h in pairs)
            row["live repeats"] = len(pairs)
            live_pairs[name] = [{"edgekit_fps": e, "hand_fps": h, "ratio": e / h} for e, h in pairs]
        results[name] = row
    for name, pairs in live_pairs.items():
        print(f"{name}: live FPS per repeat (edgekit / hand loop): "
              + ", ".join(f"{p['edgekit_fps']:.1f}/{p['hand_fps']:.1f}" for p in pairs))
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    print(f"{'per frame (median ms, ratios)':38}" + "".join(f"{n[:22]:>24}" for n in results))
    for key in keys:
        print(f"{key:38}" + "".join(f"{r.get(key, float('nan')):24.3f}" for r in results.values()))
    if args.out:
        args.out.write_text(json.dumps({"images": len(images), "results": results, "live_pairs": live_pairs,
                                        "load_avg_1m": os.getloadavg()[0]}, indent=2))
        print(f"saved {args.out}")


if __name__ == "__main__":
    main()
