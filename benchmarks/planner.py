"""Wall and CPU time of ``edgekit plan demo:digits-mnv2 --target local --no-cache``: this code vs an older one.

The "before" is another source tree of edgekit (a ``git worktree`` of the commit
before the change), run with the same interpreter and packages through
``PYTHONPATH``; the "after" is this checkout (or ``--after DIR``, e.g. a frozen
copy so that edits made meanwhile do not leak in). Runs alternate
(B A B A ...) so drift on a shared machine hits both alike; each run gets an
empty plan cache. Medians of ``--repeats`` (5 by default), ratio after/before;
the load average is printed with every run, and CPU time (user + system of the
child) is given beside wall time: on a machine shared with other work it is
the figure that moves least with the load.

Goals (issue 15): wall after/before <= 0.3, and under 60 s on a quiet 2-core machine.

Usage:
    git worktree add /tmp/before HEAD      # (or the commit before the change)
    python benchmarks/planner.py --before /tmp/before [--after DIR] [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARGS = ["plan", "demo:digits-mnv2", "--target", "local", "--no-cache"]


def run_once(root: Path, timeout: float) -> dict:
    """One plan with ``root`` first on the path; wall and CPU seconds, the load before it, its exit code."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="edgekit-planbench-") as cache:
        env = {**os.environ, "PYTHONPATH": str(root), "EDGEKIT_CACHE": cache}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "edgekit", *ARGS], env=env, cwd=cache, capture_output=True,
                              text=True, timeout=timeout, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    chose = next((line for line in done.stdout.splitlines() if "Chose " in line), "").strip(" -")
    return {"wall_s": wall, "cpu_s": cpu, "load": load, "rc": done.returncode, "chose": chose[:160],
            "error": done.stderr.strip().splitlines()[-1][:300] if done.returncode and done.stderr.strip() else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="source root of the old edgekit (a git worktree)")
    ap.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[1], help="source root of the new")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    for flag, root in (("--before", args.before), ("--after", args.after)):
        if not (root / "edgekit" / "__init__.py").is_file():  # else PYTHONPATH is ignored: both run this checkout
            ap.error(f"{flag} {root}: not an edgekit source tree (no edgekit/__init__.py there); "
                     f"make one with: git worktree add /tmp/before <commit>")
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for i in range(args.repeats):
        order = ("before", "after") if i % 2 == 0 else ("after", "before")  # alternate who goes first
        for name in order:
            r = run_once(args.before if name == "before" else args.after, args.timeout)
            runs[name].append(r)
            print(f"repeat {i + 1} {name:6}: wall {r['wall_s']:7.1f} s  cpu {r['cpu_s']:7.1f} s  "
                  f"load {r['load']:.2f}  rc {r['rc']} {r['error']}", file=sys.stderr, flush=True)
    summary = {}
    for name, rs in runs.items():
        ok = [r for r in rs if r["rc"] == 0] or rs
        summary[name] = {k: statistics.median(r[k] for r in ok) for k in ("wall_s", "cpu_s", "load")}
    wall_ratio = summary["after"]["wall_s"] / summary["before"]["wall_s"]
    cpu_ratio = summary["after"]["cpu_s"] / summary["before"]["cpu_s"]
    print(f"\nedgekit {' '.join(ARGS)}: medians of {args.repeats} alternating runs, 2 cores shared "
          f"(load avg per run in the JSON)")
    print(f"{'':8} {'wall s':>9} {'CPU s':>9} {'load':>6}")
    for name in ("before", "after"):
        s = summary[name]
        print(f"{name:8} {s['wall_s']:9.1f} {s['cpu_s']:9.1f} {s['load']:6.2f}")
    print(f"{'ratio':8} {wall_ratio:9.3f} {cpu_ratio:9.3f}   goal wall <= 0.3: "
          f"{'ok' if wall_ratio <= 0.3 else 'NO'}; after < 60 s: {'ok' if summary['after']['wall_s'] < 60 else 'NO'}")
    out = {"command": ARGS, "repeats": args.repeats, "runs": runs, "summary": summary,
           "ratio_wall": wall_ratio, "ratio_cpu": cpu_ratio, "before": str(args.before), "after": str(args.after)}
    print(json.dumps(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
