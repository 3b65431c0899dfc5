"""What keeps ``edgekit serve`` answering when clients are slow, hostile or broken.

Why each piece (numbers from the bad-input corpus, issue 16):

- **Header timeout.** uvicorn arms no timer until a first response is sent, so a
  client that sends half its headers held a connection 40 s and more, and 340 of
  them pushed the server past ``limit_concurrency``: health and inference answered
  503 for as long as they were held. :func:`guarded_protocol` subclasses uvicorn's
  own HTTP protocol (httptools when installed, else h11) and closes a connection
  whose request head is not complete within ``HEADER_TIMEOUT_S`` -- on connect and
  again before each keep-alive request. With slow clients dropped after seconds,
  the connection cap (:func:`connection_limit`) can be generous.
- **Body timeout.** ``read_body`` (in :mod:`edgekit.serve.app`) waits at most
  ``BODY_CHUNK_TIMEOUT_S`` for each chunk of the body: a trickle is a 408.
- **Errors without tracebacks.** Starlette's catch-all handler re-raises after
  answering, so uvicorn printed a full traceback for an aborted upload.
  :class:`JsonErrors` answers every escaped exception with JSON 500 (or nothing,
  when the client is already gone) and logs one line.
"""

from __future__ import annotations

import json
import logging
import resource
from typing import Any

HEADER_TIMEOUT_S = 10.0
MAX_HEAD_BYTES = 64 << 10
BODY_CHUNK_TIMEOUT_S = 30.0
MAX_CONNECTIONS = 1024

log = logging.getLogger("edgekit.serve")


def connection_limit(max_queue: int) -> int:
    """Connections (+ tasks) uvicorn accepts before answering 503: generous, but under the fd limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < MAX_CONNECTIONS + 64:
        try:  # raise our own soft limit up to the hard one (allowed without privileges)
            target = MAX_CONNECTIONS + 64 if hard == resource.RLIM_INFINITY else min(hard, MAX_CONNECTIONS + 64)
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    room = MAX_CONNECTIONS if soft == resource.RLIM_INFINITY else max(16, soft - 64)
    return max(min(MAX_CONNECTIONS, room), min(max_queue * 4 + 64, room))


def guarded_protocol(timeout_s: float = HEADER_TIMEOUT_S, max_head_bytes: int = MAX_HEAD_BYTES) -> type:
    """uvicorn's HTTP protocol class with a request-head timeout and size cap (``uvicorn.Config(http=...)``).

    The size cap counts the bytes of chunks after which the head is still incomplete.
    """
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base
    except ImportError:  # httptools not installed: the pure-Python h11 protocol
        from uvicorn.protocols.http.h11_impl import H11Protocol as Base

    class GuardedProtocol(Base):  # type: ignore[misc, valid-type]
        """Closes a connection whose request head does not arrive within ``timeout_s``."""

        _head_timer: Any = None
        _head_bytes = 0

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._waiting_for_head():
                self._arm()
            super().data_received(data)
            if not self._waiting_for_head():  # the head completed (a body may follow in this chunk: not counted)
                self._disarm()
                self._head_bytes = 0
                return
            self._head_bytes += len(data)
            if self._head_bytes > max_head_bytes and not self.transport.is_closing():
                # httptools has no header size limit of its own
                log.info("closed a connection whose request head passed %d bytes", max_head_bytes)
                self._disarm()
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _waiting_for_head(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _too_slow(self) -> None:
            self._head_timer = None
            if self._waiting_for_head() and not self.transport.is_closing():
                log.info("closed a connection whose request headers took over %.0f s", timeout_s)
                self.transport.close()

    return GuardedProtocol


class JsonErrors:
    """ASGI middleware: an exception no handler took becomes JSON 500 ``internal_error`` and one log line."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback, no hung client
            if _disconnected(exc):
                log.info("client went away during %s %s", scope.get("method"), scope.get("path"))
                return
            log.warning("internal error on %s %s: %s: %s", scope.get("method"), scope.get("path"),
                        type(exc).__name__, str(exc)[:200])
            if not started:
                body = json.dumps({"error": f"internal error: {type(exc).__name__}", "code": "internal_error"}).encode()
                await send({"type": "http.response.start", "status": 500,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})


def _disconnected(exc: BaseException) -> bool:
    return type(exc).__name__ in ("ClientDisconnect", "ConnectionResetError", "BrokenPipeError")
