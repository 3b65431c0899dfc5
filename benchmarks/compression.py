"""What does compression buy on this machine? FP32 vs FP16 vs INT8 (both backends) vs pruned.

For ``demo:digits-mnv2`` (MobileNetV2 x0.5, 224x224) it builds every variant
with :mod:`edgekit.compress`, then measures

- latency p50 of all variants **interleaved** (edgekit's bench loop), and the
  speed-up over FP32 *of the same backend* (pruned: vs onnxruntime FP32);
- model size on disk;
- top-1 on the 539 held-out real handwritten digits with its 95 % Wilson
  interval, and the drop vs FP32 in points;
- PyTorch eager FP32 as the reference every speed-up in the issue is quoted against.

Prints a table and writes JSON (``--out``). Not a test: timings on a shared
machine are noisy; re-run on a quiet machine for numbers to quote.

Usage:
    python benchmarks/compression.py --seconds 5 --out compression.json
    python benchmarks/compression.py --model path/to/model.onnx --data DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from edgekit.data import ImageFolder, calibration_set, demo_digits, stratified_split
from edgekit.evaluation import evaluate
from edgekit.models import load_model
from edgekit.planner.build import torch_twin
from edgekit.planner.measure import bench_interleaved


def build_variants(model, calib, train, work: Path, prune_ratio: float, epochs: int) -> list[tuple]:
    """``(label, model, backend, precision, baseline label)`` for every variant that builds here."""
    from edgekit.compress import prune_channels, quantize_int8, quantize_openvino, to_fp16

    rows = [("onnxruntime fp32", model, "onnxruntime", "fp32", None),
            ("openvino fp32", model, "openvino", "fp32", None)]
    makers = [
        ("onnxruntime fp16", lambda: to_fp16(model, work, force=True), "onnxruntime", "fp16", "onnxruntime fp32"),
        ("onnxruntime int8 (static QDQ)", lambda: quantize_int8(model, calib, work / "ort", force=True),
         "onnxruntime", "int8", "onnxruntime fp32"),
        ("openvino fp16 weights", lambda: to_fp16(model, work / "ov", fmt="openvino", force=True),
         "openvino", "fp32", "openvino fp32"),
        ("openvino int8 (NNCF)", lambda: quantize_openvino(model, calib, work / "ov", force=True),
         "openvino", "int8", "openvino fp32"),
    ]
    twin = torch_twin(model)
    if twin is not None:
        rows.append(("torch eager fp32", twin, "torch", "fp32", None))
        label = f"pruned {prune_ratio:.0%} ({epochs} ep fine-tune) onnxruntime fp32"
        makers.append((label, lambda: prune_channels(twin, prune_ratio, work / "pruned.onnx", force=True,
                                                     train_data=train if epochs else None, epochs=epochs).model,
                       "onnxruntime", "fp32", "onnxruntime fp32"))
    for label, make, backend, precision, base in makers:
        start = time.perf_counter()
        try:
            rows.append((label, make(), backend, precision, base))
            print(f"built {label} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - reported in the table, the rest still runs
            print(f"could not build {label}: {exc}", file=sys.stderr)
    return rows


def measure(rows: list[tuple], val, seconds: float) -> list[dict]:
    results = bench_interleaved([(m, b, "cpu", p) for _, m, b, p, _ in rows], seconds)
    out = []
    for (label, m, backend, precision, base), r in zip(rows, results):
        ev = evaluate(m, val, backend, device="cpu", precision=precision)
        out.append({"variant": label, "backend": backend, "precision": precision, "baseline": base,
                    "p50_ms": r.latency_ms.get("p50") if r.ok else None, "status": r.status, "reason": r.reason,
                    "size_mb": round(m.size_bytes / 2**20, 3) if m.path else None,
                    "top1": ev.metrics.accuracy, "top1_ci": list(ev.metrics.accuracy_ci), "n": ev.metrics.n})
    by = {r["variant"]: r for r in out}
    ref = by["onnxruntime fp32"]["top1"]
    eager = by.get("torch eager fp32", {}).get("p50_ms")
    for r in out:
        base = by.get(r["baseline"] or r["variant"])
        r["speedup_vs_fp32_same_backend"] = (base["p50_ms"] / r["p50_ms"]) if r["p50_ms"] and base["p50_ms"] else None
        r["speedup_vs_torch_eager"] = (eager / r["p50_ms"]) if eager and r["p50_ms"] else None
        r["drop_points"] = 100 * (ref - r["top1"])
    return out


def show(rows: list[dict]) -> None:
    head = f"{'variant':44} {'p50 ms':>8} {'x FP32':>7} {'x eager':>8} {'MB':>7} {'top-1 % (95% CI)':>22} {'drop pt':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        p50 = f"{r['p50_ms']:.3f}" if r["p50_ms"] else r["status"]
        sp = f"{r['speedup_vs_fp32_same_backend']:.2f}" if r["speedup_vs_fp32_same_backend"] else "-"
        se = f"{r['speedup_vs_torch_eager']:.1f}" if r["speedup_vs_torch_eager"] else "-"
        lo, hi = r["top1_ci"]
        acc = f"{100 * r['top1']:.2f} ({100 * lo:.1f}-{100 * hi:.1f})"
        print(f"{r['variant']:44} {p50:>8} {sp:>7} {se:>8} {r['size_mb'] or 0:>7.2f} {acc:>22} {r['drop_points']:>+8.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="demo:digits-mnv2")
    ap.add_argument("--data", help="labelled image folder (default: the demo digits)")
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per variant")
    ap.add_argument("--calibration", type=int, default=300)
    ap.add_argument("--prune-ratio", type=float, default=0.3)
    ap.add_argument("--finetune-epochs", type=int, default=1)
    ap.add_argument("--out", default="compression.json")
    args = ap.parse_args(argv)
    model = load_model(args.model)
    if args.data:
        train, val = stratified_split(ImageFolder(args.data), 0.5, seed=0)
    else:
        size = model.preprocess.size[0]  # render the digits at the model's input size
        train, val = demo_digits("train", size), demo_digits("test", size)
    calib = calibration_set(train, model, n=min(args.calibration, len(train)))
    with tempfile.TemporaryDirectory(prefix="edgekit-bench-") as work:
        rows = build_variants(model, calib, train, Path(work), args.prune_ratio, args.finetune_epochs)
        results = measure(rows, val, args.seconds)
    show(results)
    from edgekit.hardware import profile_hardware

    profile = profile_hardware()
    Path(args.out).write_text(json.dumps({"model": args.model, "machine": profile.summary(),
                                          "versions": profile.versions, "seconds": args.seconds,
                                          "results": results}, indent=2), encoding="utf-8")
    print(f"\nwrote {args.out}  ({profile.summary()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
