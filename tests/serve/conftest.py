"""A tiny bundle (zoo ``tinycnn`` 32x32, 4 classes) and an ``edgekit serve`` on 127.0.0.1 serving it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ..deployment.conftest import LABELS, export_tiny  # the same tiny model the deploy tests bundle

MAX_BODY_MB = 1


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    from edgekit.deployment import deploy
    from edgekit.models import load_model

    folder = tmp_path_factory.mktemp("serve-model")
    path = export_tiny(folder)
    rng = np.random.default_rng(0)
    data = [(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), i % len(LABELS)) for i in range(8)]
    return deploy(load_model(path), out=folder / "tiny.zip", data=data).path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``python -m edgekit serve`` in a subprocess, on a free loopback port."""

    def __init__(self, bundle: Path, *extra: str, **popen: Any) -> None:
        self.port = free_port()
        self.url = f"127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "edgekit", "serve", str(bundle), "--host", "127.0.0.1",
               "--port", str(self.port), "--max-body-mb", str(MAX_BODY_MB), *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"edgekit serve exited early: {self.proc.stderr.read()}")
            try:
                if httpx.get(f"http://{self.url}/v2/health/ready", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("edgekit serve did not become ready")

    def stop(self, sig: int | None = None) -> tuple[int, str]:
        """Signal the server (SIGINT by default) and return its exit code and stderr."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(sig or signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err


@pytest.fixture(scope="session")
def server_class():
    """The :class:`Server` helper, for tests that start their own server."""
    return Server


@pytest.fixture(scope="module")
def server(bundle):
    srv = Server(bundle)
    yield srv
    srv.stop()
