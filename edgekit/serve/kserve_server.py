"""``edgekit serve BUNDLE --engine kserve``: the bundle in KServe's own ``ModelServer``.

What KServe adds over the light server: gRPC beside REST, ``/metrics`` for Prometheus, uvicorn
worker *processes*, and exactly the runtime a KServe ``InferenceService`` pod runs (the
container that ``edgekit export --format kserve`` builds starts this same function).

Why a subclass of ``ModelServer``: KServe hard-codes ``0.0.0.0`` for REST and ``[::]`` for gRPC.
On a laptop or a device the server must stay on loopback unless asked, so the REST host is set
on uvicorn's config before it binds and gRPC is started by a server that binds the host given.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgekit.errors import BackendUnavailable


def _import_kserve() -> Any:
    """Import kserve without letting it parse *our* command line (it reads ``sys.argv`` on import)."""
    argv = sys.argv
    sys.argv = argv[:1]
    try:
        from kserve import model_server
    except ImportError as exc:
        raise BackendUnavailable('--engine kserve needs KServe; install it with: pip install "edgekit[kserve]"') from exc
    finally:
        sys.argv = argv
    return model_server


MAX_BODY_BYTES = 32 << 20  # as edgekit serve: KServe itself reads any body whole into memory
QUIET_LOGGERS = ("kserve.trace", "uvicorn.access")  # 3 lines per request otherwise; errors still log


class _V2Requests:
    """ASGI shim in front of KServe's app: a body limit, and infer bodies routed by the v2 header.

    * A POST body over ``MAX_BODY_BYTES`` gets 413 with a JSON error, checked on the declared
      length and while a chunked body streams in (KServe has no limit of its own).
    * KServe 0.21 decides JSON vs binary from ``Content-Type``; tritonclient sends none for a JSON
      request (KServe then demands the binary header: 400) and a binary body may carry
      ``application/json`` (KServe then fails to parse it: 422). The protocol's own signal is
      ``Inference-Header-Content-Length``, so that is what decides here.
    """

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            return await _too_large(send, f"request body of {int(declared)} bytes is over the limit of {self.limit} bytes")
        messages, size = [], 0
        while True:  # bounded: stops at the limit or at the body's end
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.limit:
                return await _too_large(send, f"request body is over the limit of {self.limit} bytes")
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        if scope["path"].endswith("/infer"):
            kept = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            binary = b"inference-header-content-length" in headers
            problem = _not_strict_json(b"".join(m.get("body", b"") for m in messages),
                                       headers.get(b"inference-header-content-length"))
            if problem is not None:
                return await _too_large(send, problem, status=400)
            kept.append((b"content-type", b"application/octet-stream" if binary else b"application/json"))
            scope = {**scope, "headers": kept}

        async def replay() -> dict:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _not_strict_json(body: bytes, header_length: bytes | None) -> str | None:
    """Why the request's JSON part is not strict JSON (NaN/Infinity literals), or None.

    Why: KServe's parser takes ``NaN`` literals that are not JSON; ``edgekit serve`` refuses them (400),
    and every engine we control answers alike. NaN inside a binary tensor is data and passes.
    """
    import json

    head = body[: int(header_length)] if header_length and header_length.isdigit() else body

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON; send finite numbers (NaN inside binary tensors is allowed)")

    try:
        json.loads(head, parse_constant=refuse)
    except ValueError as exc:
        return str(exc) if "not JSON" in str(exc) else None  # other parse errors: KServe answers them itself
    except RecursionError:
        return "the request JSON is nested too deeply"
    return None


async def _too_large(send: Any, message: str, status: int = 413) -> None:
    import json

    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class _WorkerMetrics:
    """ASGI shim: ``GET /metrics`` answers with the samples of *every* worker process.

    Why: with ``--workers N`` each uvicorn worker keeps its own Prometheus registry, and a scrape
    lands on one worker at random, so counts jumped back and forth between scrapes (seen in CI:
    three predictions, then a scrape with none of them). In prometheus_client's multiprocess mode
    each worker writes its samples to files in ``PROMETHEUS_MULTIPROC_DIR`` (set by
    :func:`serve_kserve` before KServe is imported); here any worker sums them all. With one
    worker the directory is not set and KServe's own handler answers (process metrics included).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not shared or scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/metrics":
            return await self.app(scope, receive, send)
        from prometheus_client import CollectorRegistry, exposition, multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=shared)
        encoder, content_type = exposition.choose_encoder(dict(scope["headers"]).get(b"accept", b"").decode())
        body = encoder(registry)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def harden_app(app: Any) -> None:
    """Make KServe's FastAPI app answer as the other engines do (idempotent; workers call it too).

    Every 4xx carries ``{"error": "..."}`` (KServe leaves FastAPI's ``{"detail": ...}`` for bodies
    that do not parse, with 422), and bodies pass :class:`_V2Requests` (limit, v2 routing).
    """
    if getattr(app.state, "edgekit_hardened", False):
        return
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    async def invalid(_request: Any, exc: RequestValidationError) -> Any:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"error": f"invalid request: {where}: {first.get('msg', 'malformed')}"}, status_code=400)

    async def http_error(_request: Any, exc: HTTPException) -> Any:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
    app.add_middleware(_V2Requests)
    app.add_middleware(_WorkerMetrics)
    app.state.edgekit_hardened = True


def serve_kserve(
    bundle: str | Path,
    *,
    host: str = "127.0.0.1",
    http_port: int = 8080,
    grpc_port: int | None = 8081,
    workers: int = 1,
    backend: str | None = None,
    on_ready: Any = None,
) -> None:
    """Serve ``bundle`` with KServe's ``ModelServer`` until SIGINT/SIGTERM.

    Args:
        bundle: bundle folder or zip (verified before any port opens).
        host: where REST and gRPC listen (loopback by default; ``0.0.0.0`` in a pod).
        http_port / grpc_port: REST and gRPC ports; ``grpc_port=None`` turns gRPC off.
        workers: uvicorn worker processes for REST (each re-verifies and compiles the bundle);
            with more than one, ``/metrics`` sums the samples of all of them (see :class:`_WorkerMetrics`).
        backend: force one of the bundle's allowed backends.
        on_ready: called with the model once it is loaded, right before the ports open.

    Raises:
        BundleError: the bundle is refused.
        BackendUnavailable: kserve missing, or no allowed backend runs here.
    """
    with _shared_metrics(workers):  # before KServe (and prometheus_client) is imported
        _hush_library_warnings()
        model_server = _import_kserve()
        from edgekit.serve.kserve_model import model_class

        model = model_class()(bundle, backend=backend)
        if model_server.args.log_config_file is None:  # read by the server and by every spawned worker
            model_server.args.log_config_file = _quiet_log_config()
        server = _loopback_server_class(model_server)(host, grpc_port, http_port=http_port, workers=workers,
                                                      enable_grpc=False, enable_latency_logging=False)
        import logging

        for name in QUIET_LOGGERS:  # this process, even when its logging was configured before
            logging.getLogger(name).setLevel(logging.WARNING)
        if on_ready is not None:
            on_ready(model)
        server.start([model])


# KServe's own code, not the user's, and nothing they can act on: FastAPI deprecated the response
# class KServe answers with, and the first request printed six lines about it
LIBRARY_WARNINGS = ("ORJSONResponse is deprecated",)


def _hush_library_warnings() -> None:
    """Ignore :data:`LIBRARY_WARNINGS` here and in the spawned workers (``PYTHONWARNINGS``, read when a
    worker's interpreter starts; a user's own setting is kept and comes first)."""
    import warnings

    for text in LIBRARY_WARNINGS:
        warnings.filterwarnings("ignore", message=re.escape(text))
    given = os.environ.get("PYTHONWARNINGS", "")
    extra = [f"ignore:{text}" for text in LIBRARY_WARNINGS if f"ignore:{text}" not in given]
    if extra:
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [given, *extra]))


@contextlib.contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With more than one worker, a fresh ``PROMETHEUS_MULTIPROC_DIR`` while serving (the spawned
    workers inherit it; see :class:`_WorkerMetrics`), removed at exit. A user's own setting is kept."""
    if workers <= 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    folder = tempfile.mkdtemp(prefix="edgekit-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)


def _quiet_log_config() -> dict:
    """KServe's own logging config with the per-request lines (:data:`QUIET_LOGGERS`) at WARNING.

    Why a config and not ``setLevel`` alone: with ``--workers N`` each spawned worker configures
    logging anew from KServe's config, so levels set in the parent never reached the workers and
    every request logged three lines (access, wall and CPU time).
    """
    import copy

    from kserve.logging import KSERVE_LOG_CONFIG

    config = copy.deepcopy(KSERVE_LOG_CONFIG)
    for name in QUIET_LOGGERS:
        config["loggers"].setdefault(name, {})["level"] = "WARNING"
    return config


def _loopback_server_class(model_server: Any) -> type:
    """``ModelServer`` that binds ``host`` for REST and gRPC (built here: kserve is imported lazily)."""
    from kserve.protocol.grpc.server import GRPCServer

    class HostGRPCServer(GRPCServer):
        def __init__(self, host: str, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._host = host

        async def start(self, max_workers: int) -> None:
            from concurrent import futures

            from grpc import aio
            from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc
            from kserve.protocol.grpc.interceptors import ExceptionToStatusInterceptor, LoggingInterceptor
            from kserve.protocol.grpc.servicer import InferenceServicer

            servicer = InferenceServicer(self._data_plane, self._model_repository_extension)
            limits = [("grpc.max_send_message_length", self._kwargs.get("grpc_max_send_message_length")),
                      ("grpc.max_receive_message_length", self._kwargs.get("grpc_max_receive_message_length"))]
            self._server = aio.server(futures.ThreadPoolExecutor(max_workers=max_workers),
                                      interceptors=(LoggingInterceptor(), ExceptionToStatusInterceptor()),
                                      options=limits)
            grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, self._server)
            self._server.add_insecure_port(f"{self._host}:{self._port}")
            await self._server.start()
            await self._server.wait_for_termination()

    class HostModelServer(model_server.ModelServer):
        def __init__(self, host: str, grpc_port: int | None, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.host, self.edgekit_grpc_port = host, grpc_port
            harden_app(model_server.app)

        async def _serve(self) -> None:
            rest = self._rest_server or self._rest_multiprocess_server._rest_server
            rest.config.host = self.host  # read when uvicorn binds, which happens inside _serve
            if self.edgekit_grpc_port is not None:
                self._grpc_server = HostGRPCServer(self.host, self.edgekit_grpc_port, self.dataplane,
                                                   self.model_repository_extension, kwargs=vars(model_server.args),
                                                   grace_period=self.grace_period)
                self.servers.append(self._grpc_server.start(self.max_threads))
            await super()._serve()

    return HostModelServer
