"""Every available backend x precision on one model, against PyTorch eager.

The model (zoo ``mobilenetv2`` at 224x224 by default, exported to ONNX) is
measured as stored in fp32 on every backend's CPU and GPU path (torch eager CPU
is the baseline), with OpenVINO's fp16/bf16 execution precisions and torch
CUDA autocast, and as an fp16 copy and an INT8 (QDQ) copy made by
``edgekit.compress`` when that is installed.
Combinations this machine cannot run are rows with the reason. Prints the
speedup over eager as a table and writes JSON (``--out``).

The INT8 copy is calibrated on seeded random inputs: fine for speed, not for
accuracy claims.

Usage:
    python benchmarks/backends.py --seconds 3 --out backends.json
    python benchmarks/backends.py --model path/to/model.onnx
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from edgekit.backends.parity import random_inputs
from edgekit.evaluation.benchmark import BenchResult, BenchSettings, bench, bench_manifest
from edgekit.hardware import profile_hardware

# (backend, device) pairs worth a row: each backend's CPU and its GPU path
DEVICES = (
    ("torch", "cpu"),
    ("onnxruntime", "cpu"),
    ("openvino", "cpu"),
    ("torch", "cuda"),
    ("onnxruntime", "cuda"),
    ("openvino", "gpu"),
)


def variants(model, folder: Path) -> list[tuple[str, object, list[tuple[str, str, str]]]]:
    """(label, model, combos) to measure; a copy that cannot be made is reported, not fatal."""
    fp32 = [(b, d, "fp32") for b, d in DEVICES]
    fp32 += [("openvino", d, p) for d in ("cpu", "gpu") for p in ("fp16", "bf16")]  # execution precision
    fp32 += [("torch", "cuda", p) for p in ("fp16", "bf16")]  # autocast
    rows = [("fp32 model", model, fp32)]
    try:
        from edgekit.compress import quantize_int8, to_fp16
    except ImportError as exc:
        print(f"edgekit.compress not available ({exc}): no fp16/int8 copies", file=sys.stderr)
        return rows
    onnx_model = model.replace(module=None)
    try:
        half = to_fp16(onnx_model, folder / "fp16.onnx")
        combos = [("onnxruntime", d, "fp16") for d in ("cpu", "cuda")] + [
            ("openvino", d, "fp32") for d in ("cpu", "gpu")
        ]
        rows.append(("fp16 copy", half, combos))
    except Exception as exc:  # noqa: BLE001 - a benchmark reports what it could not make
        print(f"fp16 copy failed: {exc}", file=sys.stderr)
    try:
        calib = random_inputs(onnx_model, 32, seed=1)
        quant = quantize_int8(onnx_model, calib, folder / "int8.onnx")
        rows.append(
            (
                "int8 copy",
                quant,
                [("onnxruntime", "cpu", "int8"), ("openvino", "cpu", "int8"), ("openvino", "gpu", "int8")],
            )
        )
    except Exception as exc:  # noqa: BLE001
        print(f"int8 copy failed: {exc}", file=sys.stderr)
    return rows


def load(args: argparse.Namespace, folder: Path):
    if args.model:
        from edgekit.models import load_model

        return load_model(args.model)
    from edgekit.models.from_zoo import zoo_onnx_model

    return zoo_onnx_model(args.zoo, folder, input_size=(args.size, args.size))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoo", default="mobilenetv2", help="zoo architecture (default mobilenetv2)")
    parser.add_argument("--model", default=None, help="a model file instead of a zoo architecture")
    parser.add_argument("--size", type=int, default=224, help="input height = width for zoo models")
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per combination")
    parser.add_argument("--out", type=Path, default=None, help="write JSON here")
    args = parser.parse_args(argv)
    settings = BenchSettings(seconds=args.seconds, warmup_seconds=min(2.0, args.seconds))
    results: list[tuple[str, BenchResult]] = []
    with tempfile.TemporaryDirectory(prefix="edgekit-backends-") as tmp:
        model = load(args, Path(tmp))
        for label, variant, combos in variants(model, Path(tmp)):
            print(f"measuring {label} ...", file=sys.stderr)
            for r in bench(variant, settings=settings, combos=combos):
                results.append((label, r))
    eager = next((r.p50_ms for _, r in results if r.ok and r.backend == "torch" and r.device == "cpu"), None)
    print_table(model.name, results, eager)
    if args.out:
        data = {
            "manifest": bench_manifest(settings, profile_hardware()),
            "model": model.name,
            "eager_p50_ms": eager,
            "results": [
                {"variant": label, "speedup_vs_eager": _speedup(r, eager), **r.to_dict()}
                for label, r in results
            ],
        }
        args.out.write_text(json.dumps(data, indent=2, default=str) + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _speedup(r: BenchResult, eager: float | None) -> float | None:
    return eager / r.p50_ms if r.ok and eager and r.p50_ms else None


def print_table(name: str, results: list[tuple[str, BenchResult]], eager: float | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{name}: backends x precisions vs PyTorch eager (CPU)", title_justify="left")
    for col in (
        "model",
        "backend",
        "device",
        "precision",
        "p50 ms",
        "p90 ms",
        "img/s",
        "runs",
        "speedup vs eager",
        "note",
    ):
        table.add_column(
            col,
            justify="right" if col in ("p50 ms", "p90 ms", "img/s", "runs", "speedup vs eager") else "left",
        )
    for label, r in results:
        if not r.ok:
            table.add_row(
                label, r.backend, r.device, r.precision, "-", "-", "-", "-", "-", f"[yellow]{r.reason}[/]"
            )
            continue
        speed = _speedup(r, eager)
        table.add_row(
            label,
            r.backend,
            r.device,
            r.precision,
            f"{r.p50_ms:.3f}",
            f"{r.latency_ms['p90']:.3f}",
            f"{r.throughput_fps:.1f}",
            str(r.runs),
            "-" if speed is None else f"{speed:.2f}x",
            "; ".join(r.info.get("notes", ()))[:80],
        )
    Console(width=180).print(table)


if __name__ == "__main__":
    sys.exit(main())
