"""``serve``: run the Open Inference Protocol server for one bundle with uvicorn.

The bundle is verified and compiled before the socket opens, so the server is
ready the moment it listens. Ctrl-C / SIGTERM stop accepting connections, let
admitted requests finish (up to ``grace_s``), then release the model.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

from edgekit.errors import BackendUnavailable, ConfigError


def bind(host: str, port: int, flag: str = "--port") -> socket.socket:
    """Bind ``host:port`` before the model loads, and hand the socket to uvicorn.

    Why: a port in use fails in one line before seconds of loading (uvicorn would log,
    say 'stopped cleanly', then exit 3), and with ``port=0`` the port the OS picked is
    known, so the server can announce where it really listens.

    Raises:
        ConfigError: ``host`` is not an address here, or ``host:port`` cannot be bound.
    """
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ConfigError(f"--host {host!r} is not an address of this machine ({exc.strerror}); "
                          "use 127.0.0.1, or 0.0.0.0 to listen on every interface") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another {flag} (0 lets the "
                          "system choose), or stop the program that uses it") from exc
    return sock


def serve(
    bundle: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    max_queue: int = 64,
    max_body_bytes: int | None = None,
    backend: str | None = None,
    grace_s: float = 10.0,
    log_level: str = "warning",
    on_ready: Any = None,
    on_shutdown: Any = None,
) -> None:
    """Serve ``bundle`` until interrupted.

    Args:
        bundle: bundle folder or zip.
        host / port: where to listen (default loopback only; pass 0.0.0.0 to expose it);
            ``port=0`` lets the OS choose, and ``engine.port`` says which it chose.
        workers: inference threads, each with its own compiled session.
        max_queue: requests admitted at once (running + waiting); more get 503.
        max_body_bytes: largest request body (default 32 MiB); more get 413.
        backend: force one of the bundle's allowed backends.
        grace_s: how long shutdown waits for admitted requests.
        on_ready: called with the ``Engine`` once the model is loaded and the port bound
            (``engine.port``); the server accepts connections right after.
        on_shutdown: called with the ``Engine`` once admitted requests finished and it is closed.
            uvicorn then re-raises SIGTERM/SIGINT, so the process ends as signalled.

    Raises:
        ConfigError: ``host:port`` cannot be listened on (checked before the model loads).
        BundleError: the bundle is refused.
        BackendUnavailable: fastapi/uvicorn missing, or no allowed backend runs here.
    """
    try:
        import uvicorn
    except ImportError as exc:
        raise BackendUnavailable('edgekit serve needs fastapi and uvicorn; install them with: pip install "edgekit[serve]"') from exc
    from edgekit.serve.app import MAX_BODY_BYTES, create_app
    from edgekit.serve.engine import Engine

    with bind(host, port) as sock:
        engine = Engine(bundle, workers=workers, max_queue=max_queue, backend=backend)
        engine.port = sock.getsockname()[1]
        if on_ready is not None:
            on_ready(engine)
        app = create_app(engine, max_body_bytes=max_body_bytes or MAX_BODY_BYTES, on_shutdown=on_shutdown)
        from edgekit.serve.limits import connection_limit, guarded_protocol

        # slow clients: request heads must arrive within 10 s (uvicorn has no such timer), idle
        # keep-alive connections close after 5 s, a request head is at most 64 KiB; with those
        # bounds ~1000 connections cost little, so slow ones no longer starve health checks
        config = uvicorn.Config(app, host=host, port=engine.port, log_level=log_level,
                                timeout_graceful_shutdown=grace_s, limit_concurrency=connection_limit(max_queue),
                                timeout_keep_alive=5, h11_max_incomplete_event_size=64 << 10,
                                http=guarded_protocol(), access_log=False)
        quiet = _ShutdownTracebacks()
        logging.getLogger("uvicorn.error").addFilter(quiet)
        try:
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            logging.getLogger("uvicorn.error").removeFilter(quiet)


class _ShutdownTracebacks(logging.Filter):
    """Drop uvicorn's log of the lifespan task cancelled by a second Ctrl-C (or SIGINT passed on by
    ``timeout``): an "ERROR: Traceback ... CancelledError" (starlette's traceback text, sent as the
    shutdown-failed message) a user read as a crash, while the server was only stopping at once, as
    asked. Every other record passes."""

    _ENDS = ("CancelledError", "KeyboardInterrupt")

    def filter(self, record: logging.LogRecord) -> bool:
        import asyncio

        kind = record.exc_info[0] if record.exc_info else None
        if kind is not None and issubclass(kind, (asyncio.CancelledError, KeyboardInterrupt)):
            return False
        text = str(record.msg)
        return not (text.startswith("Traceback (most recent call last)") and text.rstrip().endswith(self._ENDS))
