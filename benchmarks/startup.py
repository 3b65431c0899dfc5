"""Start-up cost of the CLI and the SDK, against ``python -c "import onnxruntime"``.

Process CPU time (user + system of the child, from ``getrusage``): unlike wall
time it barely moves with the load other processes put on a shared machine.
Commands are run interleaved (A B C A B C ...), ``--repeats`` times each (7 by
default); the table gives medians and the ratio of medians to the reference.

Goals (issue 15): ``edgekit --help`` <= 1.2x and ``import edgekit`` <= 0.3x the
reference; ``edgekit bench -b onnxruntime`` must not import OpenVINO.

Usage:
    python benchmarks/startup.py [--repeats 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys

PY = sys.executable
REFERENCE = "python -c 'import onnxruntime'"
CASES = {
    REFERENCE: [PY, "-c", "import onnxruntime"],
    "python -c 'import edgekit'": [PY, "-c", "import edgekit"],
    "edgekit --help": [PY, "-m", "edgekit", "--help"],
    "edgekit bench --help": [PY, "-m", "edgekit", "bench", "--help"],
}
GOALS = {"python -c 'import edgekit'": 0.3, "edgekit --help": 1.2}
NO_OPENVINO = (
    "import sys; from edgekit.hardware import profile_hardware; p = profile_hardware(parts=('cpu', 'onnxruntime'));"
    "print('openvino' in sys.modules)"
)


def cpu_seconds(cmd: list[str]) -> float:
    """CPU time (user + sys) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env={**os.environ, "COLUMNS": "100"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    load = os.getloadavg()
    samples: dict[str, list[float]] = {k: [] for k in CASES}
    for name, cmd in CASES.items():  # one untimed round: disk cache and .pyc files warm
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    for _ in range(args.repeats):
        for name, cmd in CASES.items():
            samples[name].append(cpu_seconds(cmd))
    ref = statistics.median(samples[REFERENCE])
    rows = []
    for name, values in samples.items():
        med = statistics.median(values)
        goal = GOALS.get(name)
        rows.append({"command": name, "cpu_ms_median": round(1e3 * med, 1),
                     "cpu_ms_min": round(1e3 * min(values), 1), "cpu_ms_max": round(1e3 * max(values), 1),
                     "ratio": round(med / ref, 3), "goal": goal, "met": None if goal is None else med / ref <= goal})
    probe = subprocess.run([PY, "-c", NO_OPENVINO], capture_output=True, text=True, check=False)
    ov = probe.stdout.strip() or probe.stderr.strip().splitlines()[-1]
    end_load = os.getloadavg()
    print(f"start-up CPU time, medians of {args.repeats} interleaved runs; "
          f"load avg {load[0]:.2f} at start, {end_load[0]:.2f} at end (2 cores shared)")
    print(f"{'command':34} {'CPU ms':>8} {'min':>8} {'max':>8} {'x ref':>7} {'goal':>6}")
    for r in rows:
        goal = "" if r["goal"] is None else f"<={r['goal']}" + (" ok" if r["met"] else " NO")
        print(f"{r['command']:34} {r['cpu_ms_median']:8.1f} {r['cpu_ms_min']:8.1f} {r['cpu_ms_max']:8.1f} "
              f"{r['ratio']:7.2f} {goal:>6}")
    print(f"profile_hardware(parts=('cpu', 'onnxruntime')) imports openvino: {ov}")
    out = {"load_avg_start": load, "load_avg_end": end_load, "repeats": args.repeats, "rows": rows,
           "profile_onnxruntime_imports_openvino": ov}
    print(json.dumps(out))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
