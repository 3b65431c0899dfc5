"""The ports a launched engine is given are free and never the same twice."""

from __future__ import annotations

import socket

from edgekit.serve.launch import free_ports


def test_the_ports_of_one_launch_are_all_different_and_free():
    """`free_port(), free_port()` could return one port twice (the first was released before the second
    was chosen); KServe then put its gRPC server on its HTTP port and every request read HTTP/2 frames
    (`BadStatusLine`: all 17 KServe conformance tests of one CI run)."""
    ports = free_ports(64)
    assert len(set(ports)) == 64
    for port in ports[:4]:  # released again: a server can bind each
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_launch_that_cannot_start_leaves_no_work_folder(bundle, tmp_path, monkeypatch):
    """Each call on a machine without tritonserver left an empty ``edgekit-triton-*`` folder behind
    (ten in this machine's temp folder): it was made before the command that failed."""
    import tempfile

    import pytest

    from edgekit.errors import BackendUnavailable
    from edgekit.serve import launch

    def no_tritonserver():
        raise BackendUnavailable("no tritonserver: unpack the nvidia-pytriton wheel")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(launch, "triton_home", no_tritonserver)  # the machine's edge: nothing installed
    with pytest.raises(BackendUnavailable, match="no tritonserver"):
        launch.start("triton", bundle)
    assert not list(tmp_path.glob("edgekit-*"))
