"""The same plan on ``local`` and on a loopback "device" over SSH, side by side, plus the remote loop's cost.

The device is this machine behind a real SSH server on 127.0.0.1 (the test
suite's asyncssh server, ``tests/devices/sshserver.py``), running the same
virtual environment's edgekit in its own home folder. The two plans should
agree within noise; the difference in wall time is the remote loop's overhead:
per candidate, building its bundle here, copying it (only what changed), and
starting edgekit there (SSH channel + Python + imports).

Prints a table and writes JSON (``--out``). Not a test: timings on a shared
machine are noisy.

Usage:
    python benchmarks/device_loop.py --model demo:digits --methods fp32,int8 --seconds 1 --out device_loop.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _start_device(tmp: Path):
    import asyncssh

    sys.path.insert(0, str(ROOT / "tests" / "devices"))
    from sshserver import LoopbackDevice

    key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = tmp / "id_ed25519"
    key.write_private_key(str(key_file))
    key_file.chmod(0o600)
    home = tmp / "device-home"
    home.mkdir()
    server = LoopbackDevice(home, "edge", key.convert_to_public()).start()
    from edgekit.devices.store import Device, add_device, config_dir

    add_device(Device("loop", "127.0.0.1", "edge", server.port, str(key_file), "", f"{sys.executable} -m edgekit",
                      str(home / "work")), force=True)
    (config_dir() / "known_hosts").write_text(server.known_hosts_line())
    return server


def _plan(model: str, target: str, methods: tuple[str, ...], seconds: float):
    from edgekit.planner import plan

    start = time.perf_counter()
    report = plan(model, target=target, methods=methods, seconds=seconds, cache=False)
    return report, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="demo:digits")
    parser.add_argument("--methods", default="fp32,int8")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    methods = tuple(m for m in args.methods.split(",") if m)
    with tempfile.TemporaryDirectory(prefix="edgekit-device-loop-") as tmp:
        tmp = Path(tmp)
        os.environ["EDGEKIT_CONFIG_DIR"] = str(tmp / "config")
        os.environ["EDGEKIT_CACHE"] = str(tmp / "cache")
        server = _start_device(tmp)
        try:
            local, local_s = _plan(args.model, "local", methods, args.seconds)
            device, device_s = _plan(args.model, "loop", methods, args.seconds)
        finally:
            server.stop()
    here = {c.key: c for c in local.candidates}
    rows = []
    print(f"{'candidate':32} {'local p50 ms':>13} {'loop p50 ms':>12} {'ratio':>6} {'local top-1':>11} "
          f"{'loop status':>11}")
    for c in device.candidates:
        h = here.get(c.key)
        ratio = c.p50_ms / h.p50_ms if c.p50_ms and h and h.p50_ms else None
        rows.append({"candidate": c.key, "local_p50_ms": h.p50_ms if h else None, "device_p50_ms": c.p50_ms,
                     "ratio": ratio, "local_status": h.status if h else None, "device_status": c.status,
                     "accuracy": c.accuracy})
        print(f"{c.key:32} {h.p50_ms if h and h.p50_ms else float('nan'):13.3f} {c.p50_ms or float('nan'):12.3f} "
              f"{ratio or float('nan'):6.2f} {100 * (c.accuracy or 0):10.2f}% {c.status:>11}")
    print(f"chosen: local {local.best_key}, loop {device.best_key}; wall: local {local_s:.1f} s, loop {device_s:.1f} s")
    overhead = device.hardware.get("overhead", [])
    print(f"\n{'candidate':32} {'build s':>8} {'transfer s':>10} {'bytes':>9} {'start-up s':>10} {'inside s':>9}")
    for o in overhead:
        print(f"{o['candidate']:32} {o['build_s']:8.2f} {o['transfer_s']:10.2f} {o['bytes_sent']:9d} "
              f"{o['startup_s']:10.2f} {o['remote_s']:9.2f}")
    result = {"model": args.model, "methods": list(methods), "seconds": args.seconds, "rows": rows,
              "chosen": {"local": local.best_key, "device": device.best_key},
              "wall_s": {"local": local_s, "device": device_s}, "overhead": overhead}
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
