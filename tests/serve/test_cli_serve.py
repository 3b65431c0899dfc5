"""``edgekit serve`` refuses a port in use with one line, before loading anything."""

from __future__ import annotations

import socket

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
