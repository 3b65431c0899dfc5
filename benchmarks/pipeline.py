"""Does the live pipeline keep up with the model? End-to-end FPS vs inference-only FPS.

For each model, on the same pre-rendered demo-stream frames (in memory, so
the stream's own rendering is not what is measured):

- inference-only: the session's ``predict`` in a loop over the frames,
  preprocessed beforehand - the most this session can do here;
- end-to-end: :class:`edgekit.vision.LivePipeline` from source to annotated
  frame (capture, preprocessing, inference, top-k, readouts and overlay
  drawing; no display), every frame used (no dropping).

The two are timed in alternating rounds so drift on a shared machine hits
both alike; the median per way is reported with the ratio (goal >= 0.9),
the pipeline's stage latencies, and written as JSON.

It also prints CPU milliseconds per frame by thread (psutil): on a shared
machine wall-clock FPS swings with the neighbours' load, CPU per frame does
not, and it shows what the pipeline adds (capture + preprocessing, drawing,
glue) next to what inference costs. The ratio can only reach ~1 when that
extra work fits on cores the runtime leaves free.

When a bundled demo model is missing (not trained yet), ``--stand-in`` uses
the same architecture at the same input size with untrained weights: speed
depends on the architecture, not on the weights.

Usage:
    python benchmarks/pipeline.py --seconds 4 --rounds 3 --out pipeline.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STAND_INS = {"demo:digits": ("digitcnn", 64, {}), "demo:digits-mnv2": ("mobilenetv2", 224, {"width_mult": 0.5})}


def load(name: str, tmp: Path, stand_in: bool):
    """``(Model, note)``: the named model, or its architecture untrained when allowed and missing."""
    from edgekit.errors import ModelLoadError
    from edgekit.models import load_model

    try:
        return load_model(name), ""
    except ModelLoadError as exc:
        if not stand_in or name not in STAND_INS:
            raise
        arch, size, kwargs = STAND_INS[name]
        from edgekit.data.digits import demo_preprocess
        from edgekit.models.from_zoo import zoo_onnx_model

        model = zoo_onnx_model(arch, tmp / name.replace(":", "_"), input_size=(size, size), num_classes=10, **kwargs)
        model = model.replace(preprocess=demo_preprocess(size), labels=tuple(str(i) for i in range(10)))
        return model, f"stand-in: untrained {arch} {size}x{size} ({exc})"


def frames(n: int, size: tuple[int, int]) -> tuple[list[np.ndarray], list[str]]:
    from edgekit.data.demo_stream import DemoStream

    stream = DemoStream(seed=0, length=n, size=size)
    pairs = [stream.frame(i) for i in range(n)]
    return [p[0] for p in pairs], [stream.classes[p[1]] for p in pairs]


def thread_cpu() -> dict[int, float]:
    """CPU seconds used so far by each thread of this process (needs psutil; else empty).

    Why: on a shared machine wall-clock FPS swings with the neighbours' load;
    CPU time per frame does not, and it shows where the pipeline's work goes.
    """
    try:
        import psutil
    except ImportError:
        return {}
    return {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}


def cpu_per_frame(before: dict[int, float], after: dict[int, float], frames: int, names: dict[int, str]) -> dict:
    """Milliseconds of CPU per frame, by pipeline thread (the runtime's own pool counted as ``runtime``)."""
    out: dict[str, float] = {}
    for tid, used in after.items():
        role = names.get(tid, "runtime pool").removeprefix("edgekit-").removesuffix("_loop")
        out[role] = out.get(role, 0.0) + (used - before.get(tid, 0.0)) * 1e3 / max(frames, 1)
    out["total"] = sum(out.values())
    return {k: round(v, 3) for k, v in out.items() if v >= 0.001}


def inference_only(session, batches: list[np.ndarray], seconds: float) -> tuple[float, float]:
    """``(FPS, CPU ms per frame over all threads)`` of bare ``predict`` calls over preprocessed frames."""
    for b in batches[:10]:
        session.predict(b)
    count, before, start = 0, thread_cpu(), time.perf_counter()
    while time.perf_counter() - start < seconds:
        session.predict(batches[count % len(batches)])
        count += 1
    fps = count / (time.perf_counter() - start)
    return fps, cpu_per_frame(before, thread_cpu(), count, {}).get("total", 0.0)


def end_to_end(session, images: list[np.ndarray], labels: list[str], seconds: float) -> tuple[float, dict, dict]:
    """``(FPS, summary, CPU ms per frame by thread)``: annotated frames out of the pipeline, after a warm-up."""
    import threading

    from edgekit.vision import ArraySource, LivePipeline

    with LivePipeline(ArraySource(images, labels, loop=True), session, drop=False) as pipe:
        time.sleep(min(1.0, seconds / 4))
        names = {t.native_id: t.name for t in threading.enumerate()}
        n0, c0, t0 = pipe.readouts.frames_displayed, thread_cpu(), time.perf_counter()
        time.sleep(seconds)
        n1, c1, t1 = pipe.readouts.frames_displayed, thread_cpu(), time.perf_counter()
        summary = pipe.summary()
    names[threading.main_thread().native_id] = "main (idle)"
    return (n1 - n0) / (t1 - t0), summary, cpu_per_frame(c0, c1, n1 - n0, names)


def measure(name: str, args, tmp: Path) -> dict:
    from edgekit.vision.config import compile_live_session

    model, note = load(name, tmp, args.stand_in)
    session = compile_live_session(model, args.backend)
    images, labels = frames(args.frames, tuple(args.frame_size))
    batches = [session.model.preprocess.batch([img]) for img in images]
    infer, e2e, last, infer_cpu, e2e_cpu = [], [], {}, [], {}
    for _ in range(args.rounds):
        fps, cpu = inference_only(session, batches, args.seconds)
        infer.append(fps)
        infer_cpu.append(cpu)
        fps, last, e2e_cpu = end_to_end(session, images, labels, args.seconds)
        e2e.append(fps)
    session.close()
    i_med, e_med = statistics.median(infer), statistics.median(e2e)
    latency = {k: v["p50_ms"] for k, v in last["readouts"]["latency"].items()}
    return {"model": name, "note": note, "backend": session.info.backend, "precision": session.info.precision,
            "threads": session.info.threads, "inference_only_fps": i_med, "end_to_end_fps": e_med,
            "ratio": e_med / i_med, "rounds": {"inference_only": infer, "end_to_end": e2e},
            "stage_p50_ms": latency, "accuracy": (last["readouts"].get("accuracy") or {}).get("accuracy"),
            "cpu_ms_per_frame": {"inference_only": statistics.median(infer_cpu) if infer_cpu else None,
                                 "pipeline_last_round": e2e_cpu}}


def table(rows: list[dict]) -> str:
    head = f"{'model':18} {'backend':12} {'infer-only FPS':>14} {'end-to-end FPS':>14} {'ratio':>6}   stage p50 ms (cap/pre/inf/post/render/e2e)"
    lines = [head, "-" * len(head)]
    for r in rows:
        s = r["stage_p50_ms"]
        stages = "/".join(f"{s.get(k, 0):.2f}" for k in ("capture", "preprocess", "inference", "postprocess", "render", "end_to_end"))
        lines.append(f"{r['model']:18} {r['backend']:12} {r['inference_only_fps']:14.1f} {r['end_to_end_fps']:14.1f} "
                     f"{r['ratio']:6.2f}   {stages}")
        if r["note"]:
            lines.append(f"  ({r['note'][:120]})")
    lines.append("")
    lines.append("CPU ms per frame (all cores; steadier than FPS on a shared machine):")
    for r in rows:
        cpu = r["cpu_ms_per_frame"]
        parts = ", ".join(f"{k} {v:.2f}" for k, v in cpu["pipeline_last_round"].items())
        lines.append(f"  {r['model']:18} inference-only {cpu['inference_only'] or 0:.2f} | pipeline: {parts}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["demo:digits", "demo:digits-mnv2"])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--seconds", type=float, default=4.0, help="timed seconds per way per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=120, help="distinct demo frames, replayed in a loop")
    parser.add_argument("--frame-size", type=int, nargs=2, default=(240, 320), metavar=("H", "W"))
    parser.add_argument("--stand-in", action="store_true", help="untrained same-architecture model when a demo model is missing")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edgekit-pipeline-bench-") as tmp:
        rows = [measure(name, args, Path(tmp)) for name in args.models]
    print(table(rows))
    import os

    data = {"machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
                        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None},
            "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "results": rows}
    if args.out:
        from edgekit._io import write_text_atomic

        write_text_atomic(args.out, json.dumps(data, indent=2) + "\n", force=True)
        print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
