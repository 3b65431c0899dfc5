"""Does the live pipeline keep up with the model? End-to-end FPS vs inference-only FPS, and
CPU per frame beyond inference.

For each model, on the same pre-rendered demo-stream frames (in memory, so
the stream's own rendering is not what is measured; 640x480 by default):

- inference-only: the session's ``predict`` in a loop over the frames,
  preprocessed beforehand - the most this session can do here;
- bare loop: the same frames taken, prepared (one resize, one blob pass, reused
  buffers) and predicted in a plain loop with no pipeline - the least any live
  loop costs on this machine; the pipeline's own overhead is its CPU per frame
  beyond inference minus the bare loop's;
- end-to-end: :class:`edgekit.vision.LivePipeline` from source to readouts
  (capture, preprocessing, inference, top-k, readouts), every frame used (no
  dropping), with a display thread pulling annotated frames at
  ``--display-hz`` (the overlay is drawn only for the frames it takes, as
  in the app).

The two are timed in alternating rounds (interleaved: one pipeline, paused
while the inference-only loop runs, so a round's two windows are a fraction of
a second apart) so drift on a shared machine hits both alike; medians over
the rounds are reported: FPS of each
way and their ratio (goal >= 0.9 for demo:digits-mnv2), and CPU ms per frame
beyond inference = the pipeline's CPU per frame (all threads, psutil) minus
the inference-only loop's (goal <= 0.5 ms for 224x224 models at 640x480).
The pipeline's own per-stage CPU figures (``Readouts.cpu_ms``, thread CPU
time per stage) are printed beside, with the 1-minute load average before
each round.

It also prints CPU milliseconds per frame by thread (psutil): on a shared
machine wall-clock FPS swings with the neighbours' load, CPU per frame does
not, and it shows what the pipeline adds (capture + preprocessing, drawing,
glue) next to what inference costs. The ratio can only reach ~1 when that
extra work fits on cores the runtime leaves free.

The live session is compiled as ``edgekit demo`` compiles it
(:func:`edgekit.vision.config.compile_live_session`), which may choose one-thread runs side
by side (``info.workers`` > 1, measured against one run on every core); inference-only then
runs that many calls at once too, so the ratio compares like with like. ``--all-cores``
adds a row per model with one run on every core (the live session before), so the
end-to-end FPS of the two forms can be compared.

``--never-spin`` adds a row per model whose session's threads never spin-wait
(onnxruntime ``allow_spinning=0``, what the live pipeline used before): its
ratio is higher because its inference is slower, which leaves the pipeline's
own work idle cores; compare the end-to-end FPS of the two rows.

When a bundled demo model is missing (not trained yet), ``--stand-in`` uses
the same architecture at the same input size with untrained weights: speed
depends on the architecture, not on the weights.

Usage (the real run, on a quiet machine; ~40 s per model):
    python benchmarks/pipeline.py --rounds 15 --seconds 1 --all-cores --out pipeline.json
A smoke check that it runs end to end (numbers not meaningful):
    python benchmarks/pipeline.py --quick
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


def load_avg() -> float | None:
    import os

    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def callers(session, seconds: float, make_step) -> tuple[float, float]:
    """``(FPS, CPU ms per frame over all threads)`` of as many threads at once as the session was
    compiled to serve (``info.workers``), each calling ``step(n)`` for frames ``i, i + workers, ...``
    for ``seconds``; ``make_step()`` is called on each thread first (its own buffers)."""
    import threading

    workers = max(1, getattr(session.info, "workers", 1) or 1)
    counts, own_cpu, own_ids = [0] * workers, [0.0] * workers, [0] * workers

    def loop(i: int, start: float) -> None:
        own_ids[i] = threading.get_native_id()
        step, n, c0 = make_step(), i, time.thread_time()
        while time.perf_counter() - start < seconds:
            step(n)
            counts[i] += 1
            n += workers
        own_cpu[i] = time.thread_time() - c0  # a loop thread is gone before the CPU is read again

    before, start = thread_cpu(), time.perf_counter()
    threads = [threading.Thread(target=loop, args=(i, start)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    count = sum(counts)
    fps = count / (time.perf_counter() - start)
    # the runtime's own threads; not the loop threads, counted above: one just joined may still be listed
    # (it has not quite exited), and would count twice ("2.8 of 2 cores busy")
    after = {tid: used for tid, used in thread_cpu().items() if tid not in own_ids}
    pool = cpu_per_frame(before, after, count, {}).get("total", 0.0)
    return fps, pool + sum(own_cpu) * 1e3 / max(count, 1)


def inference_only(session, batches: list[np.ndarray], seconds: float) -> tuple[float, float]:
    """``(FPS, CPU ms per frame over all threads)`` of bare ``predict`` calls over preprocessed frames,
    from as many threads at once as the session was compiled to serve (``info.workers``): the
    most this session can do here, whichever form ``compile_live_session`` chose."""
    for b in batches[:10]:
        session.predict(b)
    return callers(session, seconds, lambda: lambda n: session.predict(batches[n % len(batches)]))


def bare_loop(session, images: list[np.ndarray], seconds: float) -> tuple[float, float]:
    """``(FPS, CPU ms per frame)`` of the least any live loop must do per frame, with no pipeline:
    take the next in-memory frame, prepare it (:class:`edgekit.vision._blob.BlobWriter`: one
    ``cv2.resize`` into a reused buffer, its planes scaled into a reused blob) and
    ``predict``, from as many threads as :func:`inference_only` uses. No queues, meters, top-k,
    readouts or drawing.

    Why: the yardstick for what the pipeline itself costs. Its CPU per frame beyond inference-only
    is what preparing these pixels costs on this machine (cold frames, caches shared with
    inference), which no scheduling of the pipeline can remove; the pipeline's beyond-inference
    minus this is the pipeline's own overhead."""
    from edgekit.vision._blob import BlobWriter

    writer = BlobWriter(session.model.preprocess)

    def make_step():
        blob = writer.pool.acquire()
        return lambda n: session.predict(writer.write(images[n % len(images)], blob))

    return callers(session, seconds, make_step)


def display(pipe, hz: float, stop) -> None:
    """A display: take the newest annotated frame ``hz`` times a second (drawn when taken)."""
    period = 1.0 / hz
    for _annotated, _readouts in pipe.results(timeout=None):
        if stop.wait(period):
            return


def interleaved(session, images: list[np.ndarray], labels: list[str], batches: list[np.ndarray],
                args) -> tuple[list[dict], dict]:
    """Per round: inference-only FPS with the pipeline paused, then end-to-end FPS with it running.

    One pipeline serves every round (paused, not rebuilt), so a round costs two short
    timed windows a fraction of a second apart: on a shared VM whose speed drifts by
    tens of per cent within a minute, each round's ratio compares two nearly
    simultaneous measurements, and the median over many rounds is steady. Returns
    the rounds and the pipeline's summary."""
    import threading

    from edgekit.vision import ArraySource, LivePipeline

    stop = threading.Event()
    rounds: list[dict] = []
    with LivePipeline(ArraySource(images, labels, loop=True), session, drop=False) as pipe:
        shower = threading.Thread(target=display, args=(pipe, args.display_hz, stop), name="edgekit-display",
                                  daemon=True)
        if args.display_hz > 0:
            shower.start()
        time.sleep(1.0)  # warm-up: threads started, buffers allocated, caches filled
        names = {t.native_id: t.name for t in threading.enumerate()}
        names[threading.main_thread().native_id] = "main (idle)"
        for _ in range(args.rounds):
            pipe.pause()
            time.sleep(0.05)  # the frame in flight finishes; the pipeline's threads wait idle
            load1 = load_avg()
            i_fps, i_cpu = inference_only(session, batches, args.seconds)
            b_fps, b_cpu = bare_loop(session, images, args.seconds)
            pipe.resume()
            time.sleep(0.05)  # the slots refill
            n0, c0, t0 = pipe.readouts.frames_displayed, thread_cpu(), time.perf_counter()
            time.sleep(args.seconds)
            n1, c1, t1 = pipe.readouts.frames_displayed, thread_cpu(), time.perf_counter()
            e_fps, e_cpu = (n1 - n0) / (t1 - t0), cpu_per_frame(c0, c1, n1 - n0, names)
            rounds.append({"load_avg_1m": load1, "inference_only_fps": i_fps, "end_to_end_fps": e_fps,
                           "inference_only_cores": i_fps * i_cpu / 1e3,
                           "ratio": e_fps / i_fps, "inference_only_cpu_ms": i_cpu, "pipeline_cpu_ms": e_cpu,
                           "beyond_inference_cpu_ms": e_cpu.get("total", 0.0) - i_cpu,
                           "bare_loop_fps": b_fps, "bare_ratio": b_fps / i_fps, "bare_beyond_cpu_ms": b_cpu - i_cpu})
        where = by_library(session, images, batches, pipe, args.by_library) if args.by_library else None
        summary = pipe.summary()
        stop.set()
    return rounds, summary, where


def by_library(session, images: list[np.ndarray], batches: list[np.ndarray], pipe, seconds: float) -> dict:
    """CPU ms per frame by library (``perf`` samples, see ``cpu_by_library.py``) for one window of
    each way, one after the other: inference-only and the bare loop with the pipeline paused, then
    the pipeline running. Why: FPS ratios on this VM drift by more than the effects looked for; what
    each library costs per frame says where the pipeline's CPU beyond inference goes."""
    from cpu_by_library import Sampled

    ways = {}
    pipe.pause()
    time.sleep(0.05)
    for name, run, data in (("infer-only", inference_only, batches), ("bare loop", bare_loop, images)):
        with Sampled() as s:
            fps, _ = run(session, data, seconds)
        ways[name] = (s, round(fps * seconds))
    pipe.resume()
    time.sleep(0.05)
    with Sampled() as s:
        n0 = pipe.readouts.frames_displayed
        time.sleep(seconds)
        n1 = pipe.readouts.frames_displayed
    ways["pipeline"] = (s, n1 - n0)
    return {name: {"ms_per_frame": s.ms_per_frame(frames), "samples": s.samples, "frames": frames}
            for name, (s, frames) in ways.items()}


def measure(name: str, args, tmp: Path, form: str = "live") -> dict:
    from edgekit.vision.config import compile_live_session

    model, note = load(name, tmp, args.stand_in)
    if form == "never spin":  # threads that sleep between operators (the live pipeline's session before)
        from edgekit.backends import compile_session
        from edgekit.backends.onnxruntime import OrtOptions

        session = compile_session(model, "onnxruntime", options=OrtOptions(spin=False))
    elif form == "all cores":  # one run on every core (the live session before side-by-side workers)
        session = compile_live_session(model, args.backend, workers=False)
    else:  # as `edgekit demo` compiles it
        session = compile_live_session(model, args.backend)
    chosen = [n for n in session.info.notes if n.startswith("live workers:")]
    note = "; ".join(x for x in (note, *chosen) if x)
    images, labels = frames(args.frames, tuple(args.frame_size))
    batches = [session.model.preprocess.batch([img]) for img in images]
    rounds, last, where = interleaved(session, images, labels, batches, args)
    session.close()
    med = {key: statistics.median(r[key] for r in rounds)
           for key in ("inference_only_fps", "end_to_end_fps", "ratio", "inference_only_cpu_ms", "beyond_inference_cpu_ms",
                       "bare_loop_fps", "bare_ratio", "bare_beyond_cpu_ms", "inference_only_cores")}
    stage_cpu = dict(last.get("cpu_ms_per_frame", {}))  # thread CPU per stage over the pipeline's whole run
    latency = {k: v["p50_ms"] for k, v in last["readouts"]["latency"].items()}
    return {"model": name, "session": form, "note": note,
            "backend": session.info.backend, "precision": session.info.precision,
            "threads": session.info.threads, "workers": session.info.workers,
            "input": list(session.model.preprocess.size), **med,
            "pipeline_cpu_ms": statistics.median(r["pipeline_cpu_ms"].get("total", 0.0) for r in rounds),
            "stage_cpu_ms": stage_cpu, "stage_p50_ms": latency, "rounds": rounds,
            "frames_drawn": last.get("frames_drawn"), "load_avg_1m": [r["load_avg_1m"] for r in rounds],
            "accuracy": (last["readouts"].get("accuracy") or {}).get("accuracy"), "by_library": where}


def cpu_budget(row: dict, cpus: int | None = None, goal: float = 0.9) -> str:
    """What the measured CPU per frame allows: when inference alone keeps every core busy, every
    millisecond the pipeline adds per frame must come out of inference, so the ratio can reach at
    most ``inference CPU / (inference CPU + beyond inference)`` even with perfect packing."""
    import os

    cpus = cpus or os.cpu_count() or 1
    infer, extra = row["inference_only_cpu_ms"], max(row["beyond_inference_cpu_ms"], 0.0)
    # cores inference-only keeps busy: per round, then the median (FPS and CPU per frame move against each
    # other between rounds - a runtime's threads spin longer when slow - so their medians' product overstates)
    busy = row["inference_only_cores"]
    if busy < 0.9 * cpus:
        return f"inference-only keeps {busy:.2f} of {cpus} cores busy: the pipeline's work can use the rest"
    return (f"inference-only keeps {busy:.2f} of {cpus} cores busy; with {extra:.2f} ms/frame beyond inference the "
            f"ratio can reach at most {infer / (infer + extra):.2f}; {goal} needs <= {infer / goal - infer:.2f} ms")


def table(rows: list[dict]) -> str:
    """Side by side per model: medians over the interleaved rounds, goals, per-stage CPU."""
    head = (f"{'model':18} {'session':10} {'backend':12} {'runs':>6} {'input':>7} {'infer-only FPS':>14} {'pipeline FPS':>12} {'ratio':>6} "
            f"{'CPU ms/frame: infer-only':>24} {'pipeline':>9} {'beyond inference':>16}")
    lines = [head, "-" * len(head)]
    for r in rows:
        size = "x".join(str(v) for v in r["input"])
        runs = f"{r['workers']}x{r['threads']}"  # calls side by side x threads each
        lines.append(f"{r['model']:18} {r['session']:10} {r['backend']:12} {runs:>6} {size:>7} {r['inference_only_fps']:14.1f} "
                     f"{r['end_to_end_fps']:12.1f} {r['ratio']:6.2f} {r['inference_only_cpu_ms']:24.2f} "
                     f"{r['pipeline_cpu_ms']:9.2f} {r['beyond_inference_cpu_ms']:16.2f}")
        if r["note"]:
            lines.append(f"  ({r['note'][:300]})")
    lines += ["runs: calls side by side x threads per call (see edgekit/vision/_workers.py)"]
    lines += ["", "goals: ratio >= 0.9 (demo:digits-mnv2); beyond inference <= 0.5 ms/frame (224x224 models)"]
    for r in rows:
        ratio_ok = r["ratio"] >= 0.9 if r["model"] == "demo:digits-mnv2" else None
        cpu_ok = r["beyond_inference_cpu_ms"] <= 0.5 if tuple(r["input"]) == (224, 224) else None
        verdict = ", ".join(f"{what} {'met' if ok else 'MISSED'}" for what, ok in (("ratio", ratio_ok), ("cpu", cpu_ok))
                            if ok is not None)
        lines.append(f"  {r['model']:18} {r['session']:10} {verdict or 'no goal for this model'}")
    lines += ["", "CPU budget (why a ratio is what it is):"]
    lines += [f"  {r['model']:18} {r['session']:10} {cpu_budget(r)}" for r in rows]
    lines += ["", "bare loop (take frame, BlobWriter, predict; no pipeline): the least a live loop costs here",
              (f"  {'model':18} {'session':10} {'bare FPS':>9} {'bare ratio':>10} {'bare beyond':>11} "
               f"{'pipeline beyond':>15} {'pipeline own':>12}")]
    lines += [f"  {r['model']:18} {r['session']:10} {r['bare_loop_fps']:9.1f} {r['bare_ratio']:10.2f} "
              f"{r['bare_beyond_cpu_ms']:11.2f} {r['beyond_inference_cpu_ms']:15.2f} "
              f"{r['beyond_inference_cpu_ms'] - r['bare_beyond_cpu_ms']:12.2f}" for r in rows]
    lines += ["  (beyond: CPU ms/frame over inference-only; pipeline own = pipeline beyond - bare beyond: queues,",
              "   meters, top-k, readouts, drawing)"]
    lines += ["", "pipeline's own CPU ms per frame by stage (thread CPU time, over all rounds):"]
    for r in rows:
        c = r["stage_cpu_ms"]
        parts = " ".join(f"{k} {c.get(k, 0.0):.3f}" for k in
                         ("capture", "preprocess", "inference", "postprocess", "draw", "output", "total"))
        lines.append(f"  {r['model']:18} {r['session']:10} {parts}  (overlays drawn: {r['frames_drawn']})")
    lines += ["", "per round (interleaved): load1m  infer-only FPS  pipeline FPS  ratio  beyond-inference ms  bare ratio"]
    for r in rows:
        for i, rr in enumerate(r["rounds"]):
            lines.append(f"  {r['model']:18} {r['session']:10} #{i + 1} {rr['load_avg_1m'] or 0:6.2f} {rr['inference_only_fps']:14.1f} "
                         f"{rr['end_to_end_fps']:13.1f} {rr['ratio']:6.2f} {rr['beyond_inference_cpu_ms']:10.2f} "
                         f"{rr['bare_ratio']:10.2f}")
    for r in rows:
        if r.get("by_library"):
            from cpu_by_library import table as library_table

            ways = r["by_library"]
            counts = ", ".join(f"{k} {v['frames']} frames / {v['samples']} samples" for k, v in ways.items())
            lines += ["", f"CPU ms per frame by library ({r['model']}, {r['session']}; perf, one window each way: {counts}):",
                      library_table({k: v["ms_per_frame"] for k, v in ways.items()}, "infer-only")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["demo:digits", "demo:digits-mnv2"])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--seconds", type=float, default=1.0, help="timed seconds per way per round")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds; medians are reported")
    parser.add_argument("--display-hz", type=float, default=30.0, help="rate the display thread takes frames (0: none)")
    parser.add_argument("--quick", action="store_true", help="smoke check: 2 rounds of 1 s (numbers not meaningful)")
    parser.add_argument("--frames", type=int, default=120, help="distinct demo frames, replayed in a loop")
    parser.add_argument("--frame-size", type=int, nargs=2, default=(480, 640), metavar=("H", "W"))
    parser.add_argument("--stand-in", action="store_true", help="untrained same-architecture model when a demo model is missing")
    parser.add_argument("--never-spin", action="store_true",
                        help="also measure each model with a session whose threads never spin (onnxruntime)")
    parser.add_argument("--all-cores", action="store_true",
                        help="also measure each model as one run on every core (the live session before "
                             "side-by-side workers), to compare end-to-end FPS")
    parser.add_argument("--by-library", type=float, default=0.0, metavar="SECONDS",
                        help="after the rounds, sample each way for SECONDS with Linux perf and print CPU ms per "
                             "frame by library (onnxruntime, OpenCV, Python, ...); needs perf")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here")
    args = parser.parse_args(argv)
    if args.by_library:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from cpu_by_library import available

        if (why := available()) is not None:
            parser.error(f"--by-library: {why}")
    if args.quick:
        args.rounds, args.seconds, args.frames = 2, 0.5, 30
    with tempfile.TemporaryDirectory(prefix="edgekit-pipeline-bench-") as tmp:
        forms = ["live"] + ["all cores"] * args.all_cores + ["never spin"] * args.never_spin
        rows = [measure(name, args, Path(tmp), form) for name in args.models for form in forms]
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
