"""Start a v2 server for a bundle in a child process, wait until it is ready, stop it by PID.

Shared by the conformance tests and ``benchmarks/serve_load.py`` so both run the three engines
the same way: ``edgekit serve`` (light), ``edgekit serve --engine kserve`` and a real
``tritonserver`` (from the ``nvidia-pytriton`` wheel) over a python-backend export.
Everything listens on 127.0.0.1 on free ports; every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.errors import BackendUnavailable, EdgekitError

ENGINES = ("edgekit", "kserve", "triton")
TRITON_HOME_ENV = "EDGEKIT_TRITON_HOME"


class ServerFailed(EdgekitError):
    """A server exited or did not become ready in time; the message ends with its log tail, ``log`` holds more."""

    log: str = ""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` different TCP ports free on 127.0.0.1 right now, all held until all are chosen.

    Why: two calls of :func:`free_port` in a row can return the same port (the first is released before
    the second is asked for), and KServe then bound its gRPC server on its HTTP port: the HTTP client got
    HTTP/2 frames back (``BadStatusLine``), seen in CI as every KServe conformance test failing at once."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            socks.append(sock)
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass
class Running:
    """A started server: where it listens, and its process (stopped by :meth:`stop`)."""

    engine: str
    model: str
    http: str
    grpc: str | None
    proc: subprocess.Popen
    log: Path
    workdir: Path | None = None
    extra: dict = field(default_factory=dict)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGINT, then SIGKILL after ``timeout``; then SIGKILL whatever is left of its process group.

        The group (its own session, led by this PID) holds KServe's worker processes and Triton's
        python stubs, which outlive a server that exits on its exit timeout.
        """
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.workdir is not None:
            for region in Path("/dev/shm").glob(f"{self.workdir.name}_*"):  # Triton stubs' regions
                region.unlink(missing_ok=True)
            self.extra["log"] = self.log_tail(200)
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's combined output (kept in ``extra["log"]`` once stopped)."""
        if "log" in self.extra:
            return "\n".join(self.extra["log"].splitlines()[-lines:])
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(engine: str, bundle: str | Path, *, workers: int = 1, timeout_s: float = 120.0, extra_args: tuple = (),
          repository: Path | None = None) -> Running:
    """Start ``engine`` serving ``bundle`` and wait until the model is ready.

    ``repository`` (Triton only): serve this python-backend repository instead of exporting ``bundle``.

    Raises:
        BackendUnavailable: the engine cannot run here (the reason says why, e.g. no tritonserver).
        ServerFailed: it exited or was not ready within ``timeout_s``.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    from edgekit.deployment.bundle import Bundle

    name = Bundle.open(bundle, check=False).manifest.serve_name  # the engine itself verifies
    workdir = Path(tempfile.mkdtemp(prefix=f"edgekit-{engine}-"))
    try:  # until a server runs, nothing else removes the folder (no tritonserver here left one per call)
        http, grpc = free_ports(2)
        if engine == "triton":
            cmd, env = _triton_command(bundle, repository, workdir, http, grpc)
        else:
            cmd = [sys.executable, "-m", "edgekit", "serve", str(bundle), "--host", "127.0.0.1", "--port", str(http),
                   "--workers", str(workers), *extra_args]
            if engine == "kserve":
                cmd += ["--engine", "kserve", "--grpc-port", str(grpc)]
            env = dict(os.environ)
        log = workdir / "server.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    running = Running(engine, name, f"127.0.0.1:{http}", None if engine == "edgekit" else f"127.0.0.1:{grpc}",
                      proc, log, workdir)
    try:
        _wait_ready(running, timeout_s)
    except ServerFailed as exc:
        running.stop()
        exc.log = running.log_tail(400)
        raise
    except BaseException:
        running.stop()
        raise
    return running


def _wait_ready(running: Running, timeout_s: float) -> None:
    import urllib.error
    import urllib.request

    url = f"http://{running.http}/v2/models/{running.model}/ready"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if running.proc.poll() is not None:
            raise ServerFailed(f"{running.engine} exited with code {running.proc.returncode} before it was ready:\n"
                               f"{running.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as reply:
                if reply.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.25)
    raise ServerFailed(f"{running.engine} was not ready after {timeout_s:.0f} s:\n{running.log_tail()}")


def triton_home() -> Path:
    """The ``tritonserver`` folder of an unpacked ``nvidia-pytriton`` wheel, ready to run here.

    Looked up in ``$EDGEKIT_TRITON_HOME``, then ``<venv>/pytriton/pytriton/tritonserver`` (where
    ``.ci/run`` unpacks it). The python-backend stub for this interpreter's version is copied
    into ``backends/python`` if it is not there yet.

    Raises:
        BackendUnavailable: no tritonserver, no stub for this Python, or the stub cannot load here.
    """
    candidates = [os.environ.get(TRITON_HOME_ENV, ""), str(Path(sys.prefix) / "pytriton" / "pytriton" / "tritonserver")]
    home = next((Path(c) for c in candidates if c and (Path(c) / "bin" / "tritonserver").is_file()), None)
    if home is None:
        raise BackendUnavailable(f"no tritonserver: unpack the nvidia-pytriton wheel and set {TRITON_HOME_ENV} to its "
                                 "pytriton/tritonserver folder (.ci/run does this into .venv/pytriton)")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = home / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise BackendUnavailable(f"nvidia-pytriton ships no python-backend stub for Python {version} ({stub} missing)")
    missing = _missing_libraries(stub)
    if missing:
        raise BackendUnavailable(f"the Python {version} stub of nvidia-pytriton cannot load here: missing "
                                 f"{', '.join(missing)} (it embeds the system's shared libpython{version})")
    target = home / "backends" / "python" / stub.name
    if not target.is_file():
        shutil.copy2(stub, target)
    return home


def _missing_libraries(binary: Path) -> list[str]:
    try:
        out = subprocess.run(["ldd", str(binary)], check=False, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.split("=>")[0].strip() for line in out.splitlines() if "not found" in line]


def _triton_command(bundle: str | Path, repository: Path | None, workdir: Path, http: int,
                    grpc: int) -> tuple[list[str], dict]:
    from edgekit.deployment.triton import export_triton

    home = triton_home()
    if repository is None:
        repository = export_triton(bundle, workdir / "repo", backend="python").parent
    # numpy 1 first when .ci/run installed it beside the wheel: the stub is built against its C API, and
    # only with it can it return BYTES tensors (a detector's labels); without it the stub runs numpy 2
    stub_site = [str(p) for p in [home.parents[1] / "stub-site"] if (p / "numpy").is_dir()]
    paths = [*stub_site, str(Path(__file__).resolve().parents[2]), sysconfig.get_paths()["purelib"],
             sysconfig.get_paths()["platlib"]]
    env = {**os.environ, "EDGEKIT_PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
    cmd = [str(home / "bin" / "tritonserver"), "--model-repository", str(repository),
           "--backend-directory", str(home / "backends"), "--http-address", "127.0.0.1", "--http-port", str(http),
           "--grpc-address", "127.0.0.1", "--grpc-port", str(grpc), "--allow-metrics", "false",
           "--exit-on-error", "true", "--exit-timeout-secs", "10", "--log-verbose", "0",
           # named shared memory, so stop() can remove what a killed stub leaves in /dev/shm
           "--backend-config", f"python,shm-region-prefix-name={workdir.name}_"]
    return cmd, env
