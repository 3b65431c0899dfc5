"""Shrinking a frame to a model's size: OpenCV's INTER_AREA (edgekit before) vs ``resize_to`` (now).

For a strong downscale (factor below 0.4: a 640x480 frame into the 64x64 demo-digits model, a
1080p or 4K frame into a 224 model) edgekit used ``cv2.resize(..., INTER_AREA)``, whose general
non-integer path is slow. :func:`edgekit.models.preprocess.resize_to` halves the frame (exact 2x2
means) until 0.4 or more is left and resizes the rest linearly. For each (frame, model size) this
prints the CPU time of one call each way (thread CPU, median over ``--repeats`` interleaved rounds
of ``--calls`` calls), their ratio, and how far apart the pixels are (mean |difference| in grey
levels, on a real video frame when ``../shared/realdata`` is there, else a demo-stream frame).
Speed only: the pixels of both are checked against each other, not timed in tests.

Usage:
    python benchmarks/shrink.py [--repeats 7] [--calls 30] [--json shrink.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from edgekit.models.preprocess import resize_to

CASES = [((480, 640), (64, 85)), ((480, 640), (96, 128)), ((720, 1280), (224, 398)), ((1080, 1920), (224, 398)),
         ((2160, 3840), (224, 398))]  # (frame h, w) -> (h, w) before the centre crop; all factors < 0.4
VIDEO = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "video" / "bottle-detection.mp4"


def photo() -> tuple[np.ndarray, str]:
    """A real frame (the bottle video's 100th) or, without the shared data, a demo-stream frame."""
    if VIDEO.is_file():
        cap = cv2.VideoCapture(str(VIDEO))
        cap.set(cv2.CAP_PROP_POS_FRAMES, 100)
        ok, frame = cap.read()
        cap.release()
        if ok:
            return frame, f"{VIDEO.name} frame 100"
    from edgekit.data.demo_stream import DemoStream

    return DemoStream(seed=0, size=(480, 640)).frame(100)[0], "demo stream frame 100"


def area(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """What edgekit did below a factor of 0.4."""
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def cpu_ms(fn, frame: np.ndarray, size: tuple[int, int], calls: int) -> float:
    t0 = time.thread_time()
    for _ in range(calls):
        fn(frame, size)
    return (time.thread_time() - t0) / calls * 1e3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7, help="interleaved rounds; medians are reported")
    ap.add_argument("--calls", type=int, default=30, help="calls per way per round")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    base, origin = photo()
    rows = []
    for (h, w), (oh, ow) in CASES:
        frame = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
        times: dict = {area: [], resize_to: []}
        for i in range(args.repeats):
            for fn in ((area, resize_to) if i % 2 == 0 else (resize_to, area)):
                times[fn].append(cpu_ms(fn, frame, (ow, oh), args.calls))
        diff = np.abs(resize_to(frame, (ow, oh)).astype(np.float32) - area(frame, (ow, oh)).astype(np.float32)).mean()
        a, o = statistics.median(times[area]), statistics.median(times[resize_to])
        rows.append({"frame": f"{w}x{h}", "to": f"{ow}x{oh}", "factor": round(oh / h, 3), "area_ms": a, "ours_ms": o,
                     "ratio": o / a, "area_spread": [min(times[area]), max(times[area])],
                     "ours_spread": [min(times[resize_to]), max(times[resize_to])], "mean_abs_diff": float(diff)})
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"CPU ms per call (thread time, median of {args.repeats} interleaved rounds of {args.calls} calls); "
          f"pixels: {origin}; load {load}")
    print(f"{'frame':>10} {'to':>8} {'factor':>6} {'INTER_AREA':>10} {'resize_to':>9} {'ratio':>6} {'|diff|':>6}")
    for r in rows:
        print(f"{r['frame']:>10} {r['to']:>8} {r['factor']:6.3f} {r['area_ms']:10.3f} {r['ours_ms']:9.3f} "
              f"{r['ratio']:6.2f} {r['mean_abs_diff']:6.2f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "pixels": origin, "load": load, "repeats": args.repeats,
                                         "calls": args.calls}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
