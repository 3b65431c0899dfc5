"""How much does edgekit add on top of the runtimes it drives?

Measures the median latency (p50) of a MobileNetV2 at 224x224 (zoo
``mobilenetv2``, exported to ONNX), interleaved over several repeats so drift
on a shared machine hits all ways alike:

- edgekit ``Session.run`` vs the bare runtime call (``InferenceSession.run``,
  ``InferRequest.infer``), same file, threads and input, timed in alternating
  bursts in one process: the purest measure of edgekit's per-call overhead;
- edgekit's ``bench`` on onnxruntime  vs  a bare ``InferenceSession.run`` loop
  alone in the process (same threads);
- edgekit's ``bench`` on OpenVINO     vs  OpenVINO's own ``benchmark_app`` (same
  file, CPU, ``-hint latency -nireq 1``, ``-infer_precision f32`` as edgekit
  sets it, ``-data_shape`` so the model stays as dynamic as edgekit runs it);
- throughput (images/s, goal edgekit/tool >= 0.95): edgekit's throughput mode on
  OpenVINO vs ``benchmark_app -hint throughput`` and vs a bare ``AsyncInferQueue``
  kept full; on onnxruntime vs a bare loop over one pre-built batch of 8
  (``--only-throughput`` runs just these rows).

Prints ratios edgekit/tool (target <= 1.05), the medians and run counts as a
table, and writes JSON (``--out``). Not a test: timings on a shared machine
are noisy; run it on a quiet one for numbers to quote.

Usage:
    python benchmarks/overhead.py --seconds 5 --repeats 3 --out overhead.json
    python benchmarks/overhead.py --only-throughput --seconds 1 --repeats 15

On a shared 2-core VM throughput drifts by +-20 % within a minute: many short
paired repeats (the second line) give a steadier median ratio than a few long ones.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edgekit.backends._common import physical_cores
from edgekit.backends.onnxruntime import OrtOptions
from edgekit.backends.openvino import OpenVINOOptions
from edgekit.evaluation.benchmark import BenchSettings, bench, bench_manifest
from edgekit.evaluation.stats import median_ci
from edgekit.hardware import profile_hardware
from edgekit.models.from_zoo import zoo_onnx_model


def edgekit_p50(model, backend: str, options, seconds: float) -> tuple[float, int]:
    """edgekit's own measurement: ``edgekit.evaluation.benchmark`` on one backend."""
    settings = BenchSettings(seconds=seconds, warmup_seconds=min(2.0, seconds), ci_target=0.005)
    (result,) = bench(model, [backend], ["cpu"], settings=settings, options={backend: options})
    if not result.ok:
        raise SystemExit(f"edgekit {backend} failed: {result.reason}")
    return result.latency_ms["p50"], result.runs


def bare_ort_p50(path: Path, feed: dict, threads: int, seconds: float) -> tuple[float, int]:
    """A bare onnxruntime loop alone in the process: warm up until settled, then time ``seconds``."""
    import onnxruntime as ort

    from edgekit.evaluation import stats

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    warm: list[float] = []
    start = time.perf_counter()
    while not stats.settled(warm) and time.perf_counter() - start < min(2.0, seconds):
        t0 = time.perf_counter()
        sess.run(names, feed)
        warm.append((time.perf_counter() - t0) * 1e3)
    timed: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        sess.run(names, feed)
        timed.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(timed)), len(timed)


def interleaved_p50(calls: dict, seconds: float, slice_s: float = 0.1) -> dict[str, tuple[float, int]]:
    """p50 of several callables timed in alternating bursts of ``slice_s`` (the first
    call of a burst is not timed: it pays for the other runtime's spinning threads)."""
    warm = {k: [] for k in calls}
    for _ in range(30):
        for name, call in calls.items():
            t0 = time.perf_counter()
            call()
            warm[name].append((time.perf_counter() - t0) * 1e3)
    burst = {k: max(2, int(slice_s * 1e3 / max(1e-3, float(np.median(v[-10:]))))) for k, v in warm.items()}
    timed: dict[str, list[float]] = {k: [] for k in calls}
    end = time.perf_counter() + seconds * len(calls)
    while time.perf_counter() < end:
        for name, call in calls.items():
            for i in range(burst[name]):
                t0 = time.perf_counter()
                call()
                if i:
                    timed[name].append((time.perf_counter() - t0) * 1e3)
    return {k: (float(np.median(v)), len(v)) for k, v in timed.items()}


def in_process_pairs(model, feed: dict, threads: int, seconds: float) -> dict[str, tuple[float, int]]:
    """edgekit sessions vs the bare runtimes' own loops, interleaved in one process."""
    import onnxruntime as ort

    from edgekit.backends import compile_session

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    bare = ort.InferenceSession(str(model.path), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in bare.get_outputs()]
    mine = compile_session(model, "onnxruntime", options=OrtOptions(threads=threads))
    x = next(iter(feed.values()))
    ort_pair = interleaved_p50(
        {
            "edgekit onnxruntime (run)": lambda: mine.run(x),
            "bare InferenceSession.run": lambda: bare.run(names, feed),
        },
        seconds,
    )
    ov_mine = compile_session(model, "openvino", options=OpenVINOOptions(hint="latency"))
    compiled = ov_mine._compiled
    request = compiled.create_infer_request()
    ov_pair = interleaved_p50(
        {
            "edgekit openvino (run)": lambda: ov_mine.run(x),
            "bare InferRequest.infer": lambda: request.infer({0: x}, share_inputs=True),
        },
        seconds,
    )
    return {**ort_pair, **ov_pair}


def benchmark_app_p50(
    path: Path, input_name: str, shape: tuple[int, ...], seconds: float
) -> tuple[float, int]:
    """OpenVINO's ``benchmark_app``: its reported median latency and iteration count."""
    tool = shutil.which("benchmark_app") or str(Path(sys.executable).with_name("benchmark_app"))
    with tempfile.TemporaryDirectory(prefix="edgekit-bapp-") as folder:
        cmd = [
            tool,
            "-m",
            str(path),
            "-d",
            "CPU",
            "-hint",
            "latency",
            "-nireq",
            "1",
            "-t",
            str(int(max(1, seconds))),
            "-infer_precision",
            "f32",
            "-data_shape",
            f"{input_name}[{','.join(map(str, shape))}]",
            "-report_type",
            "no_counters",
            "-report_folder",
            folder,
            "-json_stats",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120 + seconds, check=False)
        report = Path(folder) / "benchmark_report.json"
        if done.returncode != 0 or not report.is_file():
            raise SystemExit(
                f"benchmark_app failed ({done.returncode}): {done.stdout[-800:]} {done.stderr[-800:]}"
            )
        results = json.loads(report.read_text())["execution_results"]
    return float(results["latency (ms)"]), int(results["total number of iterations"])


# ---- throughput (issue 15): images/s, higher is better; goal edgekit/tool >= 0.95 -----------------


def edgekit_fps(model, backend: str, options, seconds: float) -> tuple[float, int]:
    """edgekit's throughput mode (``bench --mode throughput``): images/s and timed calls."""
    settings = BenchSettings(mode="throughput", seconds=seconds, warmup_seconds=min(2.0, seconds), ci_target=0.005)
    (result,) = bench(model, [backend], ["cpu"], settings=settings, options={backend: options})
    if not result.ok:
        raise SystemExit(f"edgekit {backend} throughput failed: {result.reason}")
    return result.throughput_fps, result.runs


def bare_async_fps(path: Path, feed: dict, seconds: float) -> tuple[float, int]:
    """A bare OpenVINO ``AsyncInferQueue`` (hint throughput, its optimal number of requests) kept full."""
    import openvino as ov
    import openvino.properties.hint as hints

    core = ov.Core()
    compiled = core.compile_model(str(path), "CPU", {hints.performance_mode: hints.PerformanceMode.THROUGHPUT,
                                                     hints.inference_precision: ov.Type.f32})
    n = compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
    queue = ov.AsyncInferQueue(compiled, n)
    x = next(iter(feed.values()))
    warm_end = time.perf_counter() + min(2.0, seconds)
    while time.perf_counter() < warm_end:
        queue.start_async({0: x}, share_inputs=True)
    queue.wait_all()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        queue.start_async({0: x}, share_inputs=True)
        done += 1
    queue.wait_all()
    return done / (time.perf_counter() - start), done


def benchmark_app_fps(path: Path, input_name: str, shape: tuple[int, ...], seconds: float) -> tuple[float, int]:
    """``benchmark_app -hint throughput``: its reported throughput (FPS) and iterations."""
    tool = shutil.which("benchmark_app") or str(Path(sys.executable).with_name("benchmark_app"))
    with tempfile.TemporaryDirectory(prefix="edgekit-bapp-") as folder:
        cmd = [tool, "-m", str(path), "-d", "CPU", "-hint", "throughput", "-t", str(int(max(1, seconds))),
               "-infer_precision", "f32", "-data_shape", f"{input_name}[{','.join(map(str, shape))}]",
               "-report_type", "no_counters", "-report_folder", folder, "-json_stats"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120 + seconds, check=False)
        report = Path(folder) / "benchmark_report.json"
        if done.returncode != 0 or not report.is_file():
            raise SystemExit(f"benchmark_app failed ({done.returncode}): {done.stdout[-800:]} {done.stderr[-800:]}")
        results = json.loads(report.read_text())["execution_results"]
    return float(results["throughput"]), int(results["total number of iterations"])


def bare_ort_batched_fps(path: Path, feed: dict, threads: int, batch: int, seconds: float) -> tuple[float, int]:
    """A bare onnxruntime loop over one pre-built batch of ``batch`` images: images/s."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    big = {k: np.repeat(v, batch, axis=0) for k, v in feed.items()}
    warm_end = time.perf_counter() + min(2.0, seconds)
    while time.perf_counter() < warm_end:
        sess.run(names, big)
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        sess.run(names, big)
        calls += 1
    return calls * batch / (time.perf_counter() - start), calls


THROUGHPUT_PAIRS = {
    "openvino throughput, edgekit vs benchmark_app -hint throughput": ("edgekit openvino img/s", "benchmark_app img/s"),
    "openvino throughput, edgekit vs bare AsyncInferQueue": ("edgekit openvino img/s", "bare AsyncInferQueue img/s"),
    "onnxruntime throughput, edgekit vs bare batched loop": ("edgekit onnxruntime img/s", "bare ORT batch-8 img/s"),
}


def throughput_jobs(model, feed: dict, threads: int, seconds: float) -> dict:
    """The throughput measurements, by name (each returns ``(images/s, runs)``)."""
    from edgekit.backends.onnxruntime import BATCH_REQUESTS

    spec = model.inputs[0]
    return {
        "edgekit openvino img/s": lambda: edgekit_fps(model, "openvino", OpenVINOOptions(hint="throughput"), seconds),
        "benchmark_app img/s": lambda: benchmark_app_fps(model.path, spec.name, spec.concrete_shape(), seconds),
        "bare AsyncInferQueue img/s": lambda: bare_async_fps(model.path, feed, seconds),
        "edgekit onnxruntime img/s": lambda: edgekit_fps(model, "onnxruntime", OrtOptions(threads=threads), seconds),
        "bare ORT batch-8 img/s": lambda: bare_ort_batched_fps(model.path, feed, threads, BATCH_REQUESTS, seconds),
    }


def summarize_throughput(samples: dict) -> dict:
    """Median images/s per way and edgekit/tool ratios (higher is better; goal >= 0.95)."""
    out = {}
    for key, (mine, tool) in THROUGHPUT_PAIRS.items():
        if mine not in samples or tool not in samples:
            continue
        a, b = statistics.median(v for v, _ in samples[mine]), statistics.median(v for v, _ in samples[tool])
        per_repeat = [x[0] / y[0] for x, y in zip(samples[mine], samples[tool])]
        # the goal is judged on the paired ratio: both ways run back to back within a repeat, so each
        # repeat's ratio cancels the drift between repeats (load moving on a shared machine) that the
        # ratio of the two medians keeps; both are printed
        _, low, high = median_ci(per_repeat)
        out[key] = {"ratio": a / b, "paired_ratio": statistics.median(per_repeat), "per_repeat": per_repeat,
                    "paired_interval": (low, high), "edgekit_fps": a, "tool_fps": b, "edgekit": mine, "tool": tool}
    return out


def print_throughput(summary: dict, load: tuple) -> None:
    print(f"\nthroughput (images/s, median of repeats; load avg at start {load[0]:.2f})")
    print("ratio = median of the per-repeat (paired) ratios, with its ~95% interval (order statistics);")
    print("of medians = median edgekit / median tool. The goal is judged on the paired median; a miss whose")
    print("interval reaches 0.95 is marked (within noise): more repeats, or a quieter machine, decide it")
    print(f"{'comparison':62} {'edgekit':>8} {'tool':>8} {'paired':>6} {'interval':>11} {'of medians':>10}  goal")
    for key, r in summary.items():
        low, high = r["paired_interval"]
        goal = ">=0.95 " + ("ok" if r["paired_ratio"] >= 0.95 else "NO" + (" (within noise)" if high >= 0.95 else ""))
        span = f"{low:.2f}..{high:.2f}" if math.isfinite(low) and math.isfinite(high) else "n/a"
        print(f"{key:62} {r['edgekit_fps']:8.1f} {r['tool_fps']:8.1f} {r['paired_ratio']:6.3f} {span:>11} "
              f"{r['ratio']:10.3f}  {goal}")
        print(f"{'':62}   per repeat: {' '.join(f'{x:.2f}' for x in r['per_repeat'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="timed seconds per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats")
    parser.add_argument("--size", type=int, default=224, help="input height = width")
    parser.add_argument(
        "--threads", type=int, default=None, help="onnxruntime intra-op threads (default: physical cores)"
    )
    parser.add_argument("--out", type=Path, default=None, help="write JSON here")
    parser.add_argument("--only-throughput", action="store_true", help="only the throughput rows")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    threads = args.threads or physical_cores()
    with tempfile.TemporaryDirectory(prefix="edgekit-overhead-") as tmp:
        model = zoo_onnx_model("mobilenetv2", tmp, input_size=(args.size, args.size))
        spec = model.inputs[0]
        shape = spec.concrete_shape()
        feed = {spec.name: np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
        jobs = {
            "edgekit onnxruntime": lambda: edgekit_p50(
                model, "onnxruntime", OrtOptions(threads=threads), args.seconds
            ),
            "bare ORT loop": lambda: bare_ort_p50(model.path, feed, threads, args.seconds),
            "edgekit openvino": lambda: edgekit_p50(
                model, "openvino", OpenVINOOptions(hint="latency"), args.seconds
            ),
            "benchmark_app": lambda: benchmark_app_p50(model.path, spec.name, shape, args.seconds),
        }
        jobs = {} if args.only_throughput else jobs
        jobs.update(throughput_jobs(model, feed, threads, args.seconds))
        samples: dict[str, list[tuple[float, int]]] = {}
        names = list(jobs)
        for rep in range(args.repeats):
            for name, value in ({} if args.only_throughput else
                                in_process_pairs(model, feed, threads, args.seconds)).items():
                samples.setdefault(name, []).append(value)
            order = names[rep % len(names) :] + names[: rep % len(names)]  # rotate who goes first
            for name in order:
                samples.setdefault(name, []).append(jobs[name]())
            print(
                f"repeat {rep + 1}/{args.repeats}: "
                + ", ".join(f"{k} {v[-1][0]:.3f}" for k, v in samples.items()),
                file=sys.stderr,
            )
    summary = {} if args.only_throughput else summarize(samples)
    if summary:
        print_table(summary, threads, args)
    throughput = summarize_throughput(samples)
    print_throughput(throughput, load)
    print(json.dumps({"load_avg_start": load, "load_avg_end": os.getloadavg(),
                      "throughput": throughput, "latency": summary}, default=str))
    if args.out:
        data = {
            "manifest": bench_manifest(None, profile_hardware()),
            "threads": threads,
            "model": f"mobilenetv2 {args.size}x{args.size}",
            "seconds": args.seconds,
            "repeats": args.repeats,
            "samples": samples,
            "summary": summary,
            "throughput": throughput,
            "load_avg": load,
        }
        args.out.write_text(json.dumps(data, indent=2, default=str) + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def summarize(samples: dict[str, list[tuple[float, int]]]) -> dict:
    """Median of the repeats' p50s per way, and the two ratios (per repeat and overall)."""
    med = {k: statistics.median(p for p, _ in v) for k, v in samples.items()}
    runs = {k: sum(n for _, n in v) for k, v in samples.items()}
    pairs = {
        "onnxruntime, in-process interleaved": ("edgekit onnxruntime (run)", "bare InferenceSession.run"),
        "openvino, in-process interleaved": ("edgekit openvino (run)", "bare InferRequest.infer"),
        "onnxruntime, edgekit.bench vs bare loop": ("edgekit onnxruntime", "bare ORT loop"),
        "openvino, edgekit.bench vs benchmark_app": ("edgekit openvino", "benchmark_app"),
    }
    ratios = {}
    for key, (mine, tool) in pairs.items():
        per_repeat = [a[0] / b[0] for a, b in zip(samples[mine], samples[tool])]
        ratios[key] = {
            "ratio": med[mine] / med[tool],
            "per_repeat": per_repeat,
            "edgekit": mine,
            "edgekit_p50_ms": med[mine],
            "tool_p50_ms": med[tool],
            "edgekit_runs": runs[mine],
            "tool_runs": runs[tool],
            "tool": tool,
        }
    return ratios


def print_table(summary: dict, threads: int, args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"edgekit overhead: mobilenetv2 {args.size}x{args.size}, {threads} threads, "
        f"{args.repeats} interleaved repeats x {args.seconds:g} s",
        title_justify="left",
    )
    for col in (
        "comparison",
        "edgekit p50 ms",
        "tool",
        "tool p50 ms",
        "ratio",
        "per repeat",
        "runs (edgekit/tool)",
        "target",
    ):
        table.add_column(col, justify="right" if "ms" in col or col == "ratio" else "left")
    for key, r in summary.items():
        verdict = "[green]<= 1.05[/]" if r["ratio"] <= 1.05 else "[red]> 1.05[/]"
        table.add_row(
            key,
            f"{r['edgekit_p50_ms']:.3f}",
            r["tool"],
            f"{r['tool_p50_ms']:.3f}",
            f"{r['ratio']:.3f}",
            " ".join(f"{x:.3f}" for x in r["per_repeat"]),
            f"{r['edgekit_runs']}/{r['tool_runs']}",
            verdict,
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    sys.exit(main())
