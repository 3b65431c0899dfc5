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
