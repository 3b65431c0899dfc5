"""Resources under hostile inputs (issue 16): the server under slow clients and a
memory-amplifying body, and ``eval`` on a PNG that declares 25000x25000 pixels.

Run it against this checkout and against another source tree (e.g. the last commit,
``git archive HEAD | tar -x -C /tmp/before``) to compare side by side::

    python benchmarks/hostile_inputs.py --bundle digits-bundle                      # this checkout
    python benchmarks/hostile_inputs.py --bundle digits-bundle --source /tmp/before # another tree

Prints a table and writes JSON (``--json out.json``). Figures:

- health p50/max latency and status codes of ``/v2/health/ready`` while ``--slow``
  connections that never finish their headers are held, and again 12 s later;
- the server's peak RSS (VmHWM) after one 30 MiB JSON body of 1-element lists, and the status;
- the peak RSS of ``edgekit eval`` on a folder holding one 25000x25000 PNG bomb, and its exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(source: Path | None) -> dict:
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


def http(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, float]:
    start = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    except OSError:
        status = -1
    return status, (time.perf_counter() - start) * 1e3


def health(port: int, n: int = 20) -> dict:
    results = [http(port, b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") for _ in range(n)]
    times = sorted(t for _, t in results)
    return {"codes": sorted({c for c, _ in results}), "p50_ms": round(times[len(times) // 2], 1),
            "max_ms": round(times[-1], 1)}


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def server_case(bundle: Path, source: Path | None, slow: int, body_mib: int) -> dict:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "edgekit", "serve", str(bundle.resolve()), "--port", str(port)],
                            env=env_for(source), cwd=source or Path.cwd(),  # `-m` puts the cwd first on sys.path
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            if http(port, b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n", 1.0)[0] == 200:
                break
            time.sleep(0.1)
        out = {"idle": health(port)}
        held = []
        for _ in range(slow):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"POST /v2/models/x/infer HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
            held.append(s)
        time.sleep(0.5)
        out["slow_held"] = health(port)
        time.sleep(12)
        out["slow_held_12s_later"] = health(port)
        for s in held:
            s.close()
        rss_before = vm_hwm_mb(proc.pid)
        n = (body_mib << 20) // 4
        head = b'{"inputs":[{"name":"input","shape":[%d,1],"datatype":"FP32","data":[' % n
        body = head + b",".join([b"[0]"] * n) + b"]}]}"
        import httpx

        start = time.perf_counter()
        reply = httpx.post(f"http://127.0.0.1:{port}/v2/models/{_model(bundle)}/infer", content=body, timeout=120)
        status, ms = reply.status_code, (time.perf_counter() - start) * 1e3
        out["body_30mib"] = {"status": status, "ms": round(ms), "rss_before_mb": round(rss_before),
                             "peak_rss_mb": round(vm_hwm_mb(proc.pid))}
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    out["tracebacks_in_log"] = err.decode(errors="replace").count("Traceback")
    return out


def _model(bundle: Path) -> str:
    import re

    name = json.loads((bundle / "manifest.json").read_text())["name"]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:64]


def png_bomb(path: Path, side: int = 25000) -> Path:
    """A tiny valid PNG whose header declares ``side`` x ``side`` grey pixels (all zero)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    raw = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return path


def png_case(source: Path | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data" / "0"
        folder.mkdir(parents=True)
        png_bomb(folder / "bomb.png")
        (folder.parent / "1").mkdir()
        png_bomb(folder.parent / "1" / "bomb2.png", 64)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "edgekit", "eval", "demo:digits", "--data", str(folder.parent)],
                              check=False, env=env_for(source), cwd=source or Path.cwd(), capture_output=True,
                              timeout=300)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    last = (proc.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
    return {"rc": proc.returncode, "s": round(time.perf_counter() - start, 1),
            "peak_rss_mb": round(max(peak, before) / 1024), "last_line": last[:160]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--source", type=Path, default=None, help="source tree to put first on PYTHONPATH")
    ap.add_argument("--slow", type=int, default=300)
    ap.add_argument("--body-mib", type=int, default=30)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--skip-png", action="store_true")
    args = ap.parse_args()
    result = {"source": str(args.source or "this checkout"), "server": server_case(args.bundle, args.source,
                                                                                  args.slow, args.body_mib)}
    if not args.skip_png:
        result["png_bomb"] = png_case(args.source)
    s = result["server"]
    rows = [("health idle", s["idle"]), (f"health, {args.slow} slow conns held", s["slow_held"]),
            ("health, 12 s later", s["slow_held_12s_later"]), (f"{args.body_mib} MiB JSON body", s["body_30mib"])]
    if "png_bomb" in result:
        rows.append(("eval on 25000x25000 PNG", result["png_bomb"]))
    print(f"source: {result['source']}")
    for name, value in rows:
        print(f"  {name:<36} {json.dumps(value)}")
    print(f"  {'tracebacks in server log':<36} {s['tracebacks_in_log']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
