"""Resized image to model input: OpenCV's one-call blob (edgekit before) vs a split into planes and
one scale-and-offset per plane (:func:`edgekit.models.preprocess.to_planes`), with the split
making new planes each call or (``reused``, what the live pipeline does now) writing into three
planes kept from call to call.

Both turn a resized uint8 BGR image into float32 ``(C, H, W)`` planes with the colour swap, scale,
mean and std applied; every model input edgekit makes goes through this step once per image (the
live pipeline once per frame, beside inference). Printed side by side in one run: CPU time of one
call each way (thread CPU, one OpenCV thread, median over ``--repeats`` interleaved rounds of
``--calls`` calls), their ratio, the paired per-round difference and in how many rounds the new way
was cheaper, and the largest difference between their numbers.

Usage:
    python benchmarks/planes.py [--repeats 9] [--calls 200] [--json planes.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from edgekit.models.preprocess import Preprocess, to_planes

IMAGENET = Preprocess(size=(224, 224), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
CASES = [  # (name, size, (scale, mean) per channel, swap blue and red)
    ("224 demo digits", 224, Preprocess(mean=(0.5,) * 3, std=(0.25,) * 3)._fused, True),
    ("224 ImageNet", 224, IMAGENET._fused, True),
    ("416 YOLOX", 416, ((1.0,) * 3, (0.0,) * 3), False),
    ("640 YOLOv8", 640, ((1 / 255,) * 3, (0.0,) * 3), True),
]


@functools.cache
def blob_params(fused: tuple, swap: bool) -> cv2.dnn.Image2BlobParams:
    """OpenCV's settings, made once per case (edgekit cached them the same way)."""
    scale, mean = fused
    params = cv2.dnn.Image2BlobParams()
    params.scalefactor, params.mean, params.swapRB = (*scale, 0.0), (*mean, 0.0), swap
    return params


def blob(image: np.ndarray, fused: tuple, swap: bool, out: np.ndarray) -> None:
    """What edgekit did: ``cv2.dnn.blobFromImageWithParams`` into the reused blob."""
    cv2.dnn.blobFromImageWithParams(image, out, blob_params(fused, swap))


def planes(image: np.ndarray, fused: tuple, swap: bool, out: np.ndarray) -> None:
    to_planes(image, fused, swap, out[0])


def reused(image: np.ndarray, fused: tuple, swap: bool, out: np.ndarray,
           _kept: dict = {}) -> None:  # noqa: B006 - the cache is the point: planes kept across calls
    kept = _kept.setdefault(image.shape, [np.empty(image.shape[:2], np.uint8) for _ in range(3)])
    to_planes(image, fused, swap, out[0], kept)


def cpu_ms(fn, image: np.ndarray, fused: tuple, swap: bool, out: np.ndarray, calls: int) -> float:
    t0 = time.thread_time()
    for _ in range(calls):
        fn(image, fused, swap, out)
    return (time.thread_time() - t0) / calls * 1e3


def measure(repeats: int, calls: int) -> list[dict]:
    from edgekit.data.demo_stream import DemoStream

    rows = []
    for name, size, fused, swap in CASES:
        image = np.ascontiguousarray(DemoStream(seed=0, size=(size, size)).frame(100)[0])
        out_old, out_new, out_kept = (np.empty((1, 3, size, size), np.float32) for _ in range(3))
        blob(image, fused, swap, out_old)
        planes(image, fused, swap, out_new)
        reused(image, fused, swap, out_kept)
        old, new, kept = [], [], []
        for i in range(repeats):  # interleaved, rotating which goes first
            ways = [(old, blob, out_old), (new, planes, out_new), (kept, reused, out_kept)]
            for times, fn, out in ways[i % 3:] + ways[: i % 3]:
                times.append(cpu_ms(fn, image, fused, swap, out, calls))
        deltas = [n - o for o, n in zip(old, new, strict=True)]
        rows.append({"case": name, "blob_ms": statistics.median(old), "planes_ms": statistics.median(new),
                     "ratio": statistics.median(new) / statistics.median(old),
                     "paired_delta_ms": statistics.median(deltas), "planes_cheaper_rounds": sum(d < 0 for d in deltas),
                     "reused_ms": statistics.median(kept),
                     "reused_ratio": statistics.median([k / n for k, n in zip(kept, new, strict=True)]),
                     "rounds": repeats, "max_abs_diff": float(np.abs(out_new - out_old).max()),
                     "reused_same": bool(np.array_equal(out_kept, out_new))})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--json", type=Path, default=Path("planes.json"))
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # the live loop's preprocessing runs beside inference: one core's cost
    rows = measure(args.repeats, args.calls)
    print(f"resized image -> float32 planes, one thread, median of {args.repeats} interleaved rounds x"
          f" {args.calls} calls (load {os.getloadavg()[0]:.1f})")
    print(f"{'case':<16} {'blob ms':>8} {'planes ms':>10} {'ratio':>6} {'paired d':>9} {'cheaper':>8} {'max diff':>9}"
          f" {'reused ms':>10} {'/planes':>8} {'same':>5}")
    for r in rows:
        print(f"{r['case']:<16} {r['blob_ms']:>8.3f} {r['planes_ms']:>10.3f} {r['ratio']:>6.2f}"
              f" {r['paired_delta_ms']:>+9.3f} {r['planes_cheaper_rounds']:>4}/{r['rounds']:<3} {r['max_abs_diff']:>9.1e}"
              f" {r['reused_ms']:>10.3f} {r['reused_ratio']:>8.2f} {'yes' if r['reused_same'] else 'NO':>5}")
    print("reused: the split writes into three planes kept across calls (the live pipeline's BlobWriter);"
          " /planes: paired median ratio to a split that makes new planes; same: bit for bit")
    tmp = args.json.with_suffix(args.json.suffix + ".tmp")
    tmp.write_text(json.dumps({"rows": rows, "load": os.getloadavg()[0]}, indent=2))
    os.replace(tmp, args.json)
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
