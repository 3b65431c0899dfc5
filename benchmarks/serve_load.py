"""Load test of ``edgekit serve``: N concurrent clients on loopback, bounded in count and time.

Two phases, each against a fresh ``edgekit serve`` on 127.0.0.1:

1. **below the queue limit**: ``--clients`` (<= ``--max-queue``) clients send
   requests back to back until ``--requests`` are done or ``--seconds`` pass.
   Expected: zero failed requests. Reports throughput and p50/p99 latency.
2. **above the queue limit**: ``--overload-clients`` clients all fire at once
   at a server started with ``--overload-queue``; the excess must get 503
   (with ``Retry-After``) quickly, the rest 200, and nothing else.

With ``--engines edgekit,kserve,triton`` it instead runs phase 1's bounded load against each
engine in turn - ``edgekit serve``, ``edgekit serve --engine kserve`` (KServe's ModelServer) and a
real ``tritonserver`` over the python-backend export (skipped, with the reason, when it cannot
run here) - and prints them side by side: req/s, p50/p99, errors and the peak RSS of the
server's whole process tree (Triton's python stub included).

Each request is one digit image as the binary-tensor infer request that
``tritonclient`` sends (JSON header + raw FP32), from the held-out demo digits.
Prints a table and writes JSON (``--out``). Timings on a shared machine are
noisy; run it on a quiet one for numbers to quote.

Usage:
    python benchmarks/serve_load.py --model demo:digits --clients 8 --requests 2000 --seconds 20 --out serve_load.json
    python benchmarks/serve_load.py --engines edgekit,kserve,triton --clients 4 --requests 1000 --seconds 15
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HOST = "127.0.0.1"  # loopback only, always


def make_bundle(args: argparse.Namespace, work: Path) -> Path:
    """Use ``--bundle`` as given, or deploy ``--model`` into ``work``."""
    if args.bundle:
        return Path(args.bundle)
    from edgekit.deployment import deploy

    data = None
    if args.model.startswith("demo:digits"):
        from edgekit.data import demo_digits

        data = demo_digits("test")
    return deploy(args.model, out=work / "bundle", data=data, samples=32).path


def request_bodies(bundle: Path, n: int = 16) -> tuple[str, list[tuple[bytes, dict]]]:
    """Binary-extension infer requests for the bundle's packaged sample images."""
    from edgekit.deployment import Bundle

    opened = Bundle.open(bundle)
    inputs, name = opened.sample()["inputs"][:n], opened.manifest.inputs[0]["name"]
    bodies = []
    for row in inputs:
        x = np.ascontiguousarray(row[None], dtype=np.float32)
        head = json.dumps({"inputs": [{"name": name, "shape": list(x.shape), "datatype": "FP32",
                                       "parameters": {"binary_data_size": x.nbytes}}],
                           "outputs": [{"name": opened.manifest.outputs[0]["name"], "parameters": {"binary_data": True}}]}).encode()
        bodies.append((head + x.tobytes(), {"Inference-Header-Content-Length": str(len(head)),
                                            "Content-Type": "application/octet-stream"}))
    return opened.manifest.serve_name, bodies


class Server:
    """``edgekit serve`` in a subprocess on a free loopback port."""

    def __init__(self, bundle: Path, max_queue: int, workers: int) -> None:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            self.port = sock.getsockname()[1]
        cmd = [sys.executable, "-m", "edgekit", "serve", str(bundle), "--host", HOST, "--port", str(self.port),
               "--max-queue", str(max_queue), "--workers", str(workers)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.base = f"http://{HOST}:{self.port}"
        self._wait()

    def _wait(self, timeout: float = 120.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"edgekit serve exited: {self.proc.stderr.read()}")
            try:
                if httpx.get(f"{self.base}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit("edgekit serve did not become ready")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def client_loop(url: str, bodies: list, stop_at: float, budget: list[int], lock: threading.Lock,
                records: list, start: threading.Barrier, once: bool = False) -> None:
    """Send requests back to back (or one, with ``once``) recording (status, ms)."""
    import httpx

    with httpx.Client(timeout=30) as client:
        start.wait()
        i = 0
        while time.monotonic() < stop_at:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            body, headers = bodies[i % len(bodies)]
            t0 = time.perf_counter()
            try:
                status = client.post(url, content=body, headers=headers).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            records.append((status, (time.perf_counter() - t0) * 1e3))
            i += 1
            if once:
                return


def run_phase(url: str, bodies: list, clients: int, requests: int, seconds: float, once: bool = False) -> dict:
    """Run ``clients`` threads; return counts, throughput and latency percentiles."""
    records: list = []
    lock, budget, start = threading.Lock(), [requests], threading.Barrier(clients + 1)
    stop_at = time.monotonic() + seconds + 5
    threads = [threading.Thread(target=client_loop, args=(url, bodies, stop_at, budget, lock, records, start, once))
               for _ in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return summarize(records, wall, clients)


def summarize(records: list, wall: float, clients: int) -> dict:
    ok = [ms for s, ms in records if s == 200]
    busy = [ms for s, ms in records if s == 503]
    other = [s for s, _ in records if s not in (200, 503)]

    def pct(values: list, q: float) -> float | None:
        return float(np.percentile(values, q)) if values else None

    return {"clients": clients, "requests": len(records), "ok": len(ok), "rejected_503": len(busy),
            "failed_other": len(other), "other_statuses": sorted({str(s) for s in other}), "wall_s": wall,
            "throughput_rps": len(ok) / wall if wall else 0.0, "p50_ms": pct(ok, 50), "p99_ms": pct(ok, 99),
            "p50_503_ms": pct(busy, 50)}


def print_table(rows: list[dict], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("phase", "clients", "max_queue", "requests", "200", "503", "other", "req/s", "p50 ms", "p99 ms", "503 p50 ms"):
        table.add_column(col, justify="left" if col == "phase" else "right")
    fmt = (lambda v: "-" if v is None else f"{v:.2f}")
    for r in rows:
        table.add_row(r["phase"], str(r["clients"]), str(r["max_queue"]), str(r["requests"]), str(r["ok"]),
                      str(r["rejected_503"]), str(r["failed_other"]), f"{r['throughput_rps']:.1f}", fmt(r["p50_ms"]),
                      fmt(r["p99_ms"]), fmt(r["p50_503_ms"]))
    Console(width=150).print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="demo:digits", help="model to deploy (ignored with --bundle)")
    parser.add_argument("--bundle", default=None, help="an existing bundle to serve")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000, help="at most this many requests in phase 1")
    parser.add_argument("--seconds", type=float, default=20.0, help="at most this long for phase 1")
    parser.add_argument("--max-queue", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--overload-queue", type=int, default=4)
    parser.add_argument("--overload-clients", type=int, default=48)
    parser.add_argument("--out", type=Path, default=None, help="write JSON here")
    parser.add_argument("--engines", default=None, help="compare engines instead: comma list of edgekit,kserve,triton")
    args = parser.parse_args()
    if args.clients > args.max_queue:
        parser.error("--clients must not exceed --max-queue (phase 1 measures the server below its limit)")
    if args.engines:
        return compare_engines(args, [e.strip() for e in args.engines.split(",") if e.strip()])
    rows = []
    with tempfile.TemporaryDirectory(prefix="serve-load-") as work:
        bundle = make_bundle(args, Path(work))
        name, bodies = request_bodies(bundle)
        for phase, queue, clients, count, once in (
            ("below limit", args.max_queue, args.clients, args.requests, False),
            ("above limit (burst)", args.overload_queue, args.overload_clients, args.overload_clients, True),
        ):
            server = Server(bundle, queue, args.workers)
            try:
                url = f"{server.base}/v2/models/{name}/infer"
                run_phase(url, bodies, min(clients, 4), 4 * min(clients, 4), 5.0)  # warm-up
                rows.append({"phase": phase, "max_queue": queue, **run_phase(url, bodies, clients, count, args.seconds, once)})
            finally:
                server.stop()
    print_table(rows, f"edgekit serve load: {args.model if not args.bundle else args.bundle}, "
                      f"workers={args.workers}, loopback, binary tensors, batch 1")
    below, above = rows
    verdicts = {"zero_failures_below_limit": below["rejected_503"] == 0 and below["failed_other"] == 0,
                "only_200_or_503_above_limit": above["failed_other"] == 0,
                "503_seen_above_limit": above["rejected_503"] > 0}
    print(json.dumps(verdicts))
    if args.out:
        from edgekit._io import write_text_atomic

        data = {"settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                "results": rows, "verdicts": verdicts}
        write_text_atomic(args.out, json.dumps(data, indent=2) + "\n", force=True)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0 if all(verdicts.values()) else 1


class PeakRss:
    """Sample the RSS of a process and all its children every 0.2 s; keep the peak (MiB)."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.root, self.peak_mib, self._stop = psutil.Process(pid), 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
                self.peak_mib = max(self.peak_mib, rss / 2**20)
            except psutil.Error:
                pass
            self._stop.wait(0.2)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(5)
        return self.peak_mib


def compare_engines(args: argparse.Namespace, engines: list[str]) -> int:
    """The same bounded load against each engine, one after the other; a side-by-side table + JSON."""
    from edgekit.errors import BackendUnavailable
    from edgekit.serve.launch import start

    rows, skipped = [], {}
    with tempfile.TemporaryDirectory(prefix="serve-load-") as work:
        bundle = make_bundle(args, Path(work))
        name, bodies = request_bodies(bundle)
        for engine in engines:
            try:
                server = start(engine, bundle, workers=args.workers, timeout_s=180)
            except BackendUnavailable as exc:
                skipped[engine] = str(exc)
                print(f"{engine}: skipped: {exc}", file=sys.stderr)
                continue
            try:
                url = f"http://{server.http}/v2/models/{name}/infer"
                run_phase(url, bodies, min(args.clients, 4), 4 * min(args.clients, 4), 5.0)  # warm-up
                rss = PeakRss(server.proc.pid)
                result = run_phase(url, bodies, args.clients, args.requests, args.seconds)
                rows.append({"phase": engine, "max_queue": args.max_queue, **result, "peak_rss_mib": rss.stop()})
                if server.grpc:  # the same load over gRPC (tritonclient), where the engine has it
                    rss = PeakRss(server.proc.pid)
                    result = run_grpc_phase(server.grpc, name, bundle, args.clients, args.requests, args.seconds)
                    rows.append({"phase": f"{engine} (gRPC)", "max_queue": args.max_queue, **result,
                                 "peak_rss_mib": rss.stop()})
            finally:
                server.stop()
    print_engines(rows, f"same load on each engine: {args.model if not args.bundle else args.bundle}, "
                        f"{args.clients} clients, <= {args.requests} requests / {args.seconds:.0f} s, loopback, "
                        f"binary tensors, batch 1, workers={args.workers}")
    for engine, reason in skipped.items():
        print(f"  {engine}: not run: {reason}")
    verdicts = {f"{r['phase']}_no_errors": r["failed_other"] == 0 and r["rejected_503"] == 0 for r in rows}
    print(json.dumps(verdicts))
    if args.out:
        from edgekit._io import write_text_atomic

        data = {"settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                "results": rows, "skipped": skipped, "verdicts": verdicts}
        write_text_atomic(args.out, json.dumps(data, indent=2) + "\n", force=True)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0 if rows and all(verdicts.values()) else 1


def run_grpc_phase(url: str, model: str, bundle: Path, clients: int, requests: int, seconds: float) -> dict:
    """Phase 1's bounded load with tritonclient.grpc: one client per thread, the bundle's sample images."""
    import tritonclient.grpc as grpcclient

    from edgekit.deployment import Bundle

    opened = Bundle.open(bundle)
    images, spec = opened.sample()["inputs"][:16], opened.manifest.inputs[0]
    records: list = []
    lock, budget, start = threading.Lock(), [requests], threading.Barrier(clients + 1)
    stop_at = time.monotonic() + seconds + 5

    def loop() -> None:
        client = grpcclient.InferenceServerClient(url)
        start.wait()
        i = 0
        while time.monotonic() < stop_at:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            x = np.ascontiguousarray(images[i % len(images)][None], dtype=np.float32)
            tensor = grpcclient.InferInput(spec["name"], list(x.shape), "FP32")
            tensor.set_data_from_numpy(x)
            t0 = time.perf_counter()
            try:
                client.infer(model, [tensor])
                status = 200
            except Exception as exc:  # noqa: BLE001 - any failure is counted, by type
                status = type(exc).__name__
            records.append((status, (time.perf_counter() - t0) * 1e3))
            i += 1

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return summarize(records, time.perf_counter() - t0, clients)


def print_engines(rows: list[dict], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("engine", "requests", "ok", "errors", "req/s", "p50 ms", "p99 ms", "peak RSS MiB"):
        table.add_column(col, justify="left" if col == "engine" else "right")
    fmt = (lambda v: "-" if v is None else f"{v:.2f}")
    for r in rows:
        table.add_row(r["phase"], str(r["requests"]), str(r["ok"]), str(r["failed_other"] + r["rejected_503"]),
                      f"{r['throughput_rps']:.1f}", fmt(r["p50_ms"]), fmt(r["p99_ms"]), f"{r['peak_rss_mib']:.0f}")
    Console(width=150).print(table)


if __name__ == "__main__":
    from edgekit.errors import EdgekitError

    try:
        sys.exit(main())
    except EdgekitError as exc:
        sys.exit(f"error: {exc}")
