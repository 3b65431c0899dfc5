"""FP32 vs INT8 per backend, with the speed-up and its interval: is INT8 faster on *this* CPU?

Models: the standard MobileNetV2-1.0 at 224x224 (``edgekit.zoo`` ``mobilenetv2``, written in
PyTorch after Sandler et al. 2018, exported to ONNX; untrained weights: latency does not depend
on them) and ``demo:digits-mnv2`` (the same architecture at width 0.5).

Variants per model:
- onnxruntime: FP32 ONNX, static INT8 QDQ (onnxruntime quantizer), dynamic INT8;
- OpenVINO: FP32, NNCF INT8 IR, and the onnxruntime INT8 QDQ ONNX run by OpenVINO.

Each repeat measures every variant of one backend interleaved with its FP32
(``edgekit.evaluation.benchmark.bench_items``, latency mode, ``--seconds`` each);
the speed-up is FP32 p50 / INT8 p50 (median over ``--repeats``, 5 by default) and
its interval runs from the smallest to the largest per-repeat ratio (for 5
repeats, a ~94 % interval of the median). A speed-up whose interval holds 1.0 is
printed as a tie. The load average is printed with every repeat.

Usage:
    python benchmarks/int8.py [--models mobilenetv2-1.0 digits-mnv2] [--repeats 5] [--seconds 2]
                              [--work DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VARIANTS = {  # backend -> (label, artifact key); "fp32" first
    "onnxruntime": [("fp32", "fp32"), ("int8 QDQ (ORT)", "ort_int8"), ("int8 dynamic", "ort_dyn")],
    "openvino": [("fp32", "fp32"), ("int8 NNCF IR", "nncf"), ("int8 QDQ ONNX (ORT-made)", "ort_int8")],
}


def source(name: str, work: Path):
    """(FP32 ONNX model, calibration feeds) for ``name``."""
    from edgekit.data import calibration_set, demo_digits
    from edgekit.models import load_model
    from edgekit.models.from_zoo import zoo_onnx_model

    if name == "digits-mnv2":
        model = load_model("demo:digits-mnv2")
        return model, calibration_set(demo_digits("train", 224), model, n=100)
    model = zoo_onnx_model("mobilenetv2", work, input_size=(224, 224), force=True)
    rng = np.random.default_rng(0)  # untrained weights: varied natural-image-like inputs are enough
    spec = model.inputs[0]
    return model, [{spec.name: rng.standard_normal(spec.concrete_shape()).astype(np.float32)} for _ in range(100)]


def artifacts(name: str, work: Path) -> dict:
    """Build (or reuse from ``work``) every variant's file; time each build."""
    from edgekit.compress.int8 import quantize_dynamic_int8, quantize_int8, quantize_openvino
    from edgekit.models import load_model

    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    fp32, feeds = source(name, folder)
    out, built = {"fp32": fp32}, {}
    makers = {
        "ort_int8": (folder / "ort.int8.onnx", lambda p: quantize_int8(fp32, feeds, p, force=True)),
        "ort_dyn": (folder / "ort.dyn.onnx", lambda p: quantize_dynamic_int8(fp32, p, force=True)),
        "nncf": (folder / "nncf.int8.xml", lambda p: quantize_openvino(fp32, feeds, p, force=True)),
    }
    for key, (path, make) in makers.items():
        if path.is_file():
            out[key] = load_model(path)
            continue
        start = time.perf_counter()
        out[key] = make(path)
        built[key] = time.perf_counter() - start
        print(f"built {name} {key} in {built[key]:.1f} s", file=sys.stderr, flush=True)
    return {"models": out, "build_s": built}


def measure(arts: dict, repeats: int, seconds: float) -> dict:
    """p50 per (backend, variant) per repeat, interleaved within a backend."""
    from edgekit.evaluation.benchmark import BenchSettings, bench_items

    settings = BenchSettings(seconds=seconds, warmup_seconds=min(2.0, seconds))
    p50: dict = {}
    for rep in range(repeats):
        for backend, variants in VARIANTS.items():
            load = os.getloadavg()[0]
            items = [(arts["models"][key], backend, "cpu", str(arts["models"][key].precision)) for _, key in variants]
            for (label, _), r in zip(variants, bench_items(items, settings)):
                value = r.latency_ms.get("p50") if r.ok else None
                p50.setdefault((backend, label), []).append((value, load))
            print(f"repeat {rep + 1} {backend}: " + ", ".join(
                f"{label} {p50[(backend, label)][-1][0] or float('nan'):.2f} ms" for label, _ in variants)
                + f"  (load {load:.2f})", file=sys.stderr, flush=True)
    return p50


def table(name: str, p50: dict, build_s: dict) -> list[dict]:
    rows = []
    for backend, variants in VARIANTS.items():
        base = [v for v, _ in p50[(backend, "fp32")]]
        for label, key in variants:
            mine = [v for v, _ in p50[(backend, label)]]
            ok = [(b, m) for b, m in zip(base, mine) if b and m]
            if not ok:
                rows.append({"model": name, "backend": backend, "variant": label, "p50_ms": None})
                continue
            ratios = sorted(b / m for b, m in ok)
            med_m = statistics.median(m for _, m in ok)
            speed = statistics.median(b for b, _ in ok) / med_m
            lo, hi = ratios[0], ratios[-1]
            verdict = "-" if key == "fp32" else ("tie (within noise)" if lo <= 1.0 <= hi else
                                                ("INT8 faster" if lo > 1.0 else "INT8 slower"))
            rows.append({"model": name, "backend": backend, "variant": label, "p50_ms": med_m, "speedup": speed,
                         "interval": [lo, hi], "verdict": verdict, "build_s": build_s.get(key),
                         "loads": [ld for _, ld in p50[(backend, label)]]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["mobilenetv2-1.0", "digits-mnv2"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--work", type=Path, help="keep built models here (reused by the next run)")
    ap.add_argument("--backends", nargs="+", default=list(VARIANTS), help="measure only these backends")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="edgekit-int8-"))
    if args.work is None:  # a private folder of built models: gone with the run (it was left behind)
        atexit.register(shutil.rmtree, work, True)
    for name in set(VARIANTS) - set(args.backends):
        VARIANTS.pop(name)
    rows = []
    for name in args.models:
        arts = artifacts(name, work)
        rows += table(name, measure(arts, args.repeats, args.seconds), arts["build_s"])
    print(f"\nFP32 vs INT8, latency p50 (batch 1), median of {args.repeats} repeats x {args.seconds:g} s, "
          f"interleaved per backend; load avg now {os.getloadavg()[0]:.2f} (per repeat in the JSON)")
    print(f"{'model':16} {'backend':12} {'variant':26} {'p50 ms':>8} {'speed-up':>9} {'interval':>13}  verdict")
    for r in rows:
        if r.get("p50_ms") is None:
            print(f"{r['model']:16} {r['backend']:12} {r['variant']:26} {'failed':>8}")
            continue
        interval = "" if r["variant"] == "fp32" else f"{r['interval'][0]:.2f}..{r['interval'][1]:.2f}"
        speed = "" if r["variant"] == "fp32" else f"{r['speedup']:.2f}x"
        print(f"{r['model']:16} {r['backend']:12} {r['variant']:26} {r['p50_ms']:8.2f} {speed:>9} {interval:>13}  "
              f"{r['verdict']}")
    print(json.dumps(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
