"""Frames per second and CPU per frame of ``edgekit demo`` on the built-in demo streams: this code vs an older one.

What a new user sees first (the README's first command runs ``edgekit demo``):
the demo stream made in memory, a bundled model, readouts at the end. Each
run is ``edgekit demo MODEL --seconds S --json ...`` in a fresh process; the
JSON gives the frames inferred, the run's seconds and the CPU milliseconds per
frame by stage (capture = making the demo frame).

The "before" is another source tree of edgekit (a ``git worktree``), run with
the same interpreter and packages through ``PYTHONPATH``; runs alternate
(B A A B ...) so drift on a shared machine hits both alike. Medians of
``--repeats`` runs per side and model, ratio after/before; load average noted.

Usage:
    git worktree add /tmp/before HEAD~2
    python benchmarks/demo_run.py --before /tmp/before [--models demo:digits demo:digits-mnv2 demo:digits-det]
        [--seconds 6] [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def run_once(root: Path, model: str, seconds: float, timeout: float) -> dict:
    """One ``edgekit demo`` with ``root`` first on the path: FPS over the run, CPU ms/frame by stage."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="edgekit-demobench-") as tmp:
        out = Path(tmp) / "run.json"
        env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "80"}
        done = subprocess.run([sys.executable, "-m", "edgekit", "demo", model, "--seconds", str(seconds),
                               "--json", str(out)], env=env, cwd=tmp, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if done.returncode or not out.is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
            return {"rc": done.returncode or 1, "error": tail[0][:300], "load": load}
        data = json.loads(out.read_text(encoding="utf-8"))
    r = data["readouts"]
    cpu = r.get("cpu_ms") or {}
    return {"rc": 0, "load": load, "fps": r["frames_inferred"] / max(r["elapsed_s"], 1e-9),
            "cpu_ms": cpu.get("total", 0.0), "capture_ms": cpu.get("capture", 0.0),
            "beyond_ms": cpu.get("beyond_inference", 0.0), "inference_ms": cpu.get("inference", 0.0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="source root of the old edgekit (a git worktree)")
    ap.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[1], help="source root of the new")
    ap.add_argument("--models", nargs="+", default=["demo:digits", "demo:digits-mnv2", "demo:digits-det"])
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each demo run")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    runs: dict[str, dict[str, list[dict]]] = {m: {"before": [], "after": []} for m in args.models}
    for i in range(args.repeats):
        for model in args.models:
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            for side in order:
                r = run_once(args.before if side == "before" else args.after, model, args.seconds, args.timeout)
                runs[model][side].append(r)
                said = r.get("error") or f"{r['fps']:8.1f} FPS  {r['cpu_ms']:5.2f} ms CPU/frame"
                print(f"repeat {i + 1} {model:18} {side:6} load {r['load']:.2f}  {said}", file=sys.stderr, flush=True)
    keys = ("fps", "cpu_ms", "capture_ms", "beyond_ms", "load")
    summary: dict = {}
    for model, sides in runs.items():
        summary[model] = {}
        for side, rs in sides.items():
            ok = [r for r in rs if r["rc"] == 0]
            summary[model][side] = {k: statistics.median(r[k] for r in ok) for k in keys} if ok else None
    print(f"\nedgekit demo MODEL --seconds {args.seconds:g}: medians of {args.repeats} alternating runs "
          f"(load avg per run in the JSON)")
    print(f"{'model':18} {'side':7} {'FPS':>8} {'CPU ms/frame':>12} {'capture':>8} {'beyond inf':>10} {'load':>5}")
    for model in args.models:
        for side in ("before", "after"):
            s = summary[model][side]
            if s is None:
                print(f"{model:18} {side:7} failed: {runs[model][side][-1].get('error', '')}")
                continue
            print(f"{model:18} {side:7} {s['fps']:8.1f} {s['cpu_ms']:12.2f} {s['capture_ms']:8.2f} "
                  f"{s['beyond_ms']:10.2f} {s['load']:5.2f}")
        b, a = summary[model]["before"], summary[model]["after"]
        if a and b:
            summary[model]["fps_ratio"] = a["fps"] / b["fps"]
            summary[model]["cpu_ratio"] = a["cpu_ms"] / b["cpu_ms"]
            print(f"{model:18} {'ratio':7} {a['fps'] / b['fps']:8.2f} {a['cpu_ms'] / b['cpu_ms']:12.2f}")
    out = {"models": args.models, "seconds": args.seconds, "repeats": args.repeats, "runs": runs,
           "summary": summary, "before": str(args.before), "after": str(args.after)}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
