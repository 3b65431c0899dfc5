"""``edgekit serve`` refuses a port in use with one line, before loading anything, and
announces the port it really listens on."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

import pytest

from edgekit.cli import main


def test_a_port_in_use_is_one_clear_error(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["serve", str(tmp_path / "bundle"), "--port", str(port)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err
    assert "stopped cleanly" not in err and len(err.strip().splitlines()) == 1


def test_port_0_announces_the_port_the_system_picked(bundle):
    httpx = pytest.importorskip("httpx")
    cmd = [sys.executable, "-m", "edgekit", "serve", str(bundle), "--port", "0"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})
    try:
        line, deadline = "", time.monotonic() + 90
        while "serving" not in line and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stderr], [], [], 1.0)[0]:
                line = proc.stderr.readline()
        found = re.search(r"on http://127\.0\.0\.1:(\d+)/v2", line)
        assert found, f"no 'serving ... on' line: {line!r}"
        port = int(found.group(1))
        assert port != 0
        reply = None
        for _ in range(50):  # the socket listens a moment after the announcement
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1.0)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert reply is not None and reply.status_code == 200
        # health checks are requests too, but not inference: the farewell counts only what it says
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=30)[1]
        assert "stopped cleanly after 0 inference requests" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
