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
        from edgekit.backends._zoo import zoo_onnx_model
        from edgekit.zoo.train_demo import preprocess_for

        model = zoo_onnx_model(arch, tmp / name.replace(":", "_"), input_size=(size, size), num_classes=10, **kwargs)
        model = model.replace(preprocess=preprocess_for(size), labels=tuple(str(i) for i in range(10)))
        return model, f"stand-in: untrained {arch} {size}x{size} ({exc})"


def frames(n: int, size: tuple[int, int]) -> tuple[list[np.ndarray], list[str]]:
    from edgekit.data.demo_stream import DemoStream

    stream = DemoStream(seed=0, length=n, size=size)
    pairs = [stream.frame(i) for i in range(n)]
    return [p[0] for p in pairs], [stream.classes[p[1]] for p in pairs]


def inference_only(session, batches: list[np.ndarray], seconds: float) -> float:
    """Frames per second of bare ``predict`` calls over the preprocessed frames."""
    for b in batches[:10]:
        session.predict(b)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        session.predict(batches[count % len(batches)])
        count += 1
    return count / (time.perf_counter() - start)


def end_to_end(session, images: list[np.ndarray], labels: list[str], seconds: float) -> tuple[float, dict]:
    """Annotated frames per second out of the pipeline (after a short warm-up)."""
    from edgekit.vision import ArraySource, LivePipeline

    with LivePipeline(ArraySource(images, labels, loop=True), session, drop=False) as pipe:
        time.sleep(min(1.0, seconds / 4))
        n0, t0 = pipe.readouts.frames_displayed, time.perf_counter()
        time.sleep(seconds)
        n1, t1 = pipe.readouts.frames_displayed, time.perf_counter()
        summary = pipe.summary()
    return (n1 - n0) / (t1 - t0), summary


def measure(name: str, args, tmp: Path) -> dict:
    from edgekit.backends import compile_session

    model, note = load(name, tmp, args.stand_in)
    session = compile_session(model, args.backend)
    images, labels = frames(args.frames, tuple(args.frame_size))
    batches = [session.model.preprocess.batch([img]) for img in images]
    infer, e2e, last = [], [], {}
    for _ in range(args.rounds):
        infer.append(inference_only(session, batches, args.seconds))
        fps, last = end_to_end(session, images, labels, args.seconds)
        e2e.append(fps)
    session.close()
    i_med, e_med = statistics.median(infer), statistics.median(e2e)
    latency = {k: v["p50_ms"] for k, v in last["readouts"]["latency"].items()}
    return {"model": name, "note": note, "backend": session.info.backend, "precision": session.info.precision,
            "threads": session.info.threads, "inference_only_fps": i_med, "end_to_end_fps": e_med,
            "ratio": e_med / i_med, "rounds": {"inference_only": infer, "end_to_end": e2e},
            "stage_p50_ms": latency, "accuracy": (last["readouts"].get("accuracy") or {}).get("accuracy")}


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
    data = {"machine": {"python": sys.version.split()[0], "platform": platform.platform()},
            "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "results": rows}
    if args.out:
        from edgekit._io import write_text_atomic

        write_text_atomic(args.out, json.dumps(data, indent=2) + "\n", force=True)
        print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
