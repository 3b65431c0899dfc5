"""How evenly the demo streams deliver frames when paced like a camera: this code vs an older one.

At 30 FPS a frame is due every 33.3 ms. A frame that takes long to make (a new
digit's scene, a new detection sheet) comes late, and the gap before it grows:
over ~40 ms a display at 30 Hz shows the previous frame twice (a visible hitch).
Each run opens the source (``demo`` and ``demo-det``) at ``--fps`` in a fresh
process, reads ``--frames`` frames and reports the gaps between them: median,
p99, max and how many exceed 1.2 periods. Runs alternate before/after.

Usage:
    git worktree add /tmp/before HEAD~3
    python benchmarks/demo_pacing.py --before /tmp/before [--frames 300] [--fps 30] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

READ = """
import json, sys, time
from edgekit.vision.sources import open_source
src = open_source(sys.argv[1], fps=float(sys.argv[2]))
src.open()
stamps = []
for _ in range(int(sys.argv[3])):
    src.read()
    stamps.append(time.monotonic())
src.close()
print(json.dumps([(b - a) * 1e3 for a, b in zip(stamps, stamps[1:])]))
"""


def run_once(root: Path, source: str, fps: float, frames: int) -> dict:
    """Gaps (ms) between ``frames`` frames of ``source`` paced at ``fps``, with ``root`` first on the path
    (and as the working directory: ``python -c`` puts the working directory before ``PYTHONPATH``)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-c", READ, source, str(fps), str(frames)], env=env, cwd=root,
                          capture_output=True, text=True, timeout=600, check=True)
    gaps = sorted(json.loads(done.stdout.strip().splitlines()[-1]))
    late = 1.2 * 1e3 / fps
    return {"median_ms": statistics.median(gaps), "p99_ms": gaps[int(0.99 * (len(gaps) - 1))],
            "max_ms": gaps[-1], "late": sum(g > late for g in gaps), "gaps": len(gaps), "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="source root of the old edgekit (a git worktree)")
    ap.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[1], help="source root of the new")
    ap.add_argument("--sources", nargs="+", default=["demo", "demo-det"])
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    runs = {s: {"before": [], "after": []} for s in args.sources}
    for i in range(args.repeats):
        for source in args.sources:
            for side in (("before", "after") if i % 2 == 0 else ("after", "before")):
                r = run_once(args.before if side == "before" else args.after, source, args.fps, args.frames)
                runs[source][side].append(r)
                print(f"repeat {i + 1} {source:9} {side:6} max {r['max_ms']:6.1f} ms  late {r['late']}",
                      file=sys.stderr, flush=True)
    late_ms = 1.2 * 1e3 / args.fps
    print(f"\n{args.frames} frames at {args.fps:g} FPS, {args.repeats} runs per side (medians; 'late': gaps over "
          f"{late_ms:.0f} ms, summed over runs)")
    print(f"{'source':9} {'side':7} {'median ms':>9} {'p99 ms':>7} {'max ms':>7} {'late':>5}")
    summary: dict = {}
    for source in args.sources:
        for side in ("before", "after"):
            rs = runs[source][side]
            s = {k: statistics.median(r[k] for r in rs) for k in ("median_ms", "p99_ms", "max_ms", "load")}
            s["late"] = sum(r["late"] for r in rs)
            summary.setdefault(source, {})[side] = s
            print(f"{source:9} {side:7} {s['median_ms']:9.1f} {s['p99_ms']:7.1f} {s['max_ms']:7.1f} {s['late']:5d}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary, "fps": args.fps, "frames": args.frames},
                                        indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
