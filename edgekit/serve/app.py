"""The HTTP side: Open Inference Protocol (KServe v2) REST routes on FastAPI.

Imported only by :mod:`edgekit.serve.server` (fastapi is the ``serve`` extra).

Routes (``{v}`` = the optional ``/versions/1`` segment)::

    GET  /v2/health/live | /v2/health/ready      server liveness / readiness
    GET  /v2                                     server metadata
    GET  /v2/models/{name}{v}                    model metadata
    GET  /v2/models/{name}{v}/ready              model readiness
    GET  /v2/models/{name}{v}/config             Triton-style model configuration
    POST /v2/models/{name}{v}/infer              tensors in, tensors out (JSON or binary extension); or the
                                                 ``image`` input: BYTES [N] JPEG/PNG files (base64 in JSON)
    POST /v2/models/{name}/classify?top_k=5      JPEG/PNG bytes in, label + scores out
    POST /v2/models/{name}/detect?conf=0.25      JPEG/PNG bytes in, boxes (label, score, xyxy pixels) out

Every error is JSON ``{"error": "<one sentence>", "code": "<stable code>"}``: 400 malformed
(``bad_request``, ``too_many_elements``), 404 unknown model or route, 408 a body that stalls,
413 body too large, 415 not an image or compressed, 500 ``internal_error`` (never a traceback),
503 queue full or shutting down. Bodies are read in chunks and refused as soon as they pass
``max_body_bytes``; slow request heads are cut off by :mod:`edgekit.serve.limits`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from edgekit.backends.registry import capabilities
from edgekit.serve.engine import Engine
from edgekit.serve.images import image_body
from edgekit.serve.protocol import HEADER_LENGTH, RequestError, datatype_of, encode_response, parse_request

MAX_BODY_BYTES = 32 << 20


def platform(backend: str) -> str:
    """The Open Inference Protocol ``platform`` of a backend (what it declares; "edgekit" otherwise)."""
    return capabilities(backend).kserve_platform or "edgekit"


def create_app(engine: Engine, *, max_body_bytes: int = MAX_BODY_BYTES, on_shutdown: Any = None) -> Any:
    """Build the FastAPI app serving ``engine`` (closed on shutdown, then ``on_shutdown(engine)``).

    Example:
        >>> app = create_app(Engine("digits.zip"))    # doctest: +SKIP
    """
    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any):
        yield
        engine.close()
        if on_shutdown is not None:
            on_shutdown(engine)

    app = FastAPI(title="edgekit serve", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    _errors(app, engine)
    from edgekit.serve.limits import JsonErrors

    app.add_middleware(JsonErrors)  # whatever escapes the handlers: JSON 500, one log line, no traceback
    max_elements = _max_elements(engine)

    def ok(data: Any, status: int = 200) -> Any:
        return JSONResponse(data, status_code=status)

    @app.get("/v2/health/live")
    async def live() -> Any:
        return ok({"live": True})

    @app.get("/v2/health/ready")
    async def ready() -> Any:
        # "busy" (queue full) takes the server out of rotation without failing liveness
        busy = engine.admitted >= engine.max_queue
        state = "closing" if engine.closing else "busy" if busy else "ready"
        return ok({"ready": state == "ready", "state": state}, 200 if state == "ready" else 503)

    @app.get("/v2")
    async def server_metadata() -> Any:
        import edgekit

        return ok({"name": "edgekit", "version": edgekit.__version__,
                   "extensions": ["binary_tensor_data", "classification", "model_configuration"]})

    for prefix in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        _model_routes(app, prefix, engine, ok, max_body_bytes, max_elements)

    @app.post("/v2/models/{name}/classify")
    async def classify(name: str, request: Request, top_k: int = 5) -> Any:
        _model(engine, name)
        if not 1 <= top_k <= 1000:
            raise RequestError(400, "top_k must be between 1 and 1000")
        body = image_body(await read_body(request, max_body_bytes), request.headers.get("content-type"))

        def work(predictor: Any) -> dict:
            from edgekit.serve.images import decode

            if getattr(predictor, "detector_spec", None) is not None:
                raise RequestError(400, f"{engine.name} is a detection model; POST the image to "
                                        f"/v2/models/{engine.name}/detect")
            return predictor.predict(decode(body), k=top_k).to_dict()

        return ok({"model_name": engine.name, **await engine.submit(work)})

    @app.post("/v2/models/{name}/detect")
    async def detect(name: str, request: Request, conf: float | None = None) -> Any:
        _model(engine, name)
        if conf is not None and not 0.0 <= conf <= 1.0:
            raise RequestError(400, "conf must be between 0 and 1")
        body = image_body(await read_body(request, max_body_bytes), request.headers.get("content-type"))

        def work(predictor: Any) -> dict:
            from edgekit.serve.images import decode

            spec = getattr(predictor, "detector_spec", None)
            if spec is None:
                raise RequestError(400, f"{engine.name} is a classification model; POST the image to "
                                        f"/v2/models/{engine.name}/classify")
            config = None if conf is None else spec.config.replace(conf=conf)
            found = predictor.detect(decode(body), config)
            return {"task": "detection", "detections": [d.to_dict() for d in found]}

        return ok({"model_name": engine.name, **await engine.submit(work)})

    return app


def _max_elements(engine: Engine) -> int:
    """Values one request may carry: the model's input sizes at a batch of 256 (dynamic H/W count 4096)."""
    import math

    from edgekit.serve.protocol import MAX_ELEMENTS

    total = 0
    for spec in engine.model.inputs:
        dims = [d if isinstance(d, int) and d > 0 else 4096 for d in spec.shape[1:]]
        total += 256 * math.prod(dims)
    return min(max(total, 1), MAX_ELEMENTS)


def _model_routes(app: FastAPI, prefix: str, engine: Engine, ok: Any, limit: int, max_elements: int) -> None:
    """Metadata, ready, config and infer under one URL prefix."""

    @app.get(prefix)
    async def model_metadata(name: str, version: str = "1") -> Any:
        _model(engine, name, version)
        return ok(metadata(engine))

    @app.get(prefix + "/ready")
    async def model_ready(name: str, version: str = "1") -> Any:
        _model(engine, name, version)
        return ok({"name": engine.name, "ready": not engine.closing}, 503 if engine.closing else 200)

    @app.get(prefix + "/config")
    async def model_config(name: str, version: str = "1") -> Any:
        _model(engine, name, version)
        return ok(config(engine))

    @app.post(prefix + "/infer")
    async def infer(name: str, request: Request, version: str = "1") -> Any:
        """Open Inference Protocol infer: the model's own (preprocessed) tensors, or the ``image`` input.

        ``image`` is BYTES, shape [N], each element an encoded JPEG/PNG file: base64 text in JSON
        (``{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["<base64>"]}``), the file's
        bytes themselves with the binary-data extension. The server decodes it (pixel limit first),
        preprocesses it with the model card and answers a classifier's outputs [N, ...] plus ``labels``
        [N] (top-1 class names), or a detector's ``boxes`` [D, 4] FP32 (xyxy, the image's pixels),
        ``scores`` [D], ``classes`` [D] INT32 and ``labels`` [D] BYTES for its one image (N = 1), the
        boxes ``/detect`` gives. Not base64, not an image, too many pixels or another datatype: 400.
        """
        _model(engine, name, version)
        header = request.headers.get(HEADER_LENGTH)
        if header is not None and not (header.isascii() and header.isdigit() and len(header) <= 12):
            raise RequestError(400, f"{HEADER_LENGTH} must be an integer (ASCII digits), not {header[:20]!r}")
        body = await read_body(request, limit)

        def work(predictor: Any) -> tuple[bytes, dict]:
            decoded = parse_request(body, None if header is None else int(header), max_elements=max_elements)
            return encode_response(engine.name, decoded.id, engine.infer(predictor, decoded))

        payload, headers = await engine.submit(work)
        kind = "application/octet-stream" if headers else "application/json"
        return Response(payload, media_type=kind, headers=headers)


def _model(engine: Engine, name: str, version: str = "1") -> None:
    if name not in (engine.name, engine.manifest.name):
        raise RequestError(404, f"unknown model {name!r}; this server serves {engine.name!r}")
    if version not in ("1", ""):
        raise RequestError(404, f"model {name!r} has only version 1, not {version!r}")


async def read_body(request: Any, limit: int) -> bytes:
    """Read the body in chunks, refusing it (413) as soon as it passes ``limit``.

    Compressed bodies are refused (415): inflating them would bypass the limit.
    """
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise RequestError(415, f"Content-Encoding {encoding!r} is not supported; send the body uncompressed")
    import asyncio

    from starlette.requests import ClientDisconnect

    from edgekit.serve.limits import BODY_CHUNK_TIMEOUT_S

    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"request body of {declared} bytes is over the limit of {limit} bytes")
    chunks, size, stream = [], 0, request.stream().__aiter__()
    while True:
        try:  # a body that trickles in holds a connection: each chunk must come within the timeout
            chunk = await asyncio.wait_for(stream.__anext__(), BODY_CHUNK_TIMEOUT_S)
        except StopAsyncIteration:
            break
        except asyncio.TimeoutError as exc:
            raise RequestError(408, f"request body stalled for {BODY_CHUNK_TIMEOUT_S:.0f} s; send it at once") from exc
        except ClientDisconnect as exc:
            raise RequestError(400, "client disconnected before the body was complete", code="client_disconnected") from exc
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _tensor_meta(spec: Any) -> dict:
    return {"name": spec.name, "datatype": datatype_of(spec.dtype),
            "shape": [d if isinstance(d, int) and d > 0 else -1 for d in spec.shape]}


def metadata(engine: Engine) -> dict:
    """Model metadata as the protocol defines it: the model's own tensors, then the ``image`` input
    and what it answers (a detector's boxes/scores/classes/labels, a classifier's labels)."""
    from edgekit.serve.adapter import image_meta

    model, (image_in, image_out) = engine.model, image_meta(engine.predictors[0])
    own_out = {s.name for s in model.outputs}
    return {"name": engine.name, "versions": ["1"], "platform": platform(engine.predictors[0].backend),
            "inputs": [_tensor_meta(s) for s in model.inputs] + [t.to_dict() for t in image_in],
            "outputs": [_tensor_meta(s) for s in model.outputs] + [t.to_dict() for t in image_out
                                                                   if t.name not in own_out]}


def config(engine: Engine) -> dict:
    """A Triton-style model configuration (JSON form of config.pbtxt)."""
    def dims(spec: Any) -> list[int]:
        return [d if isinstance(d, int) and d > 0 else -1 for d in spec.shape]

    model, backend = engine.model, engine.predictors[0].backend
    return {"name": engine.name, "platform": platform(backend), "backend": backend, "max_batch_size": 0,
            "input": [{"name": s.name, "data_type": "TYPE_" + datatype_of(s.dtype), "dims": dims(s)} for s in model.inputs],
            "output": [{"name": s.name, "data_type": "TYPE_" + datatype_of(s.dtype), "dims": dims(s)} for s in model.outputs],
            "labels": list(model.labels or ())}


def routes_text(name: str) -> str:
    """The routes a person can try, for a request that matched none."""
    return (f"this server serves {name!r}: GET /v2/health/ready, GET /v2/models/{name} (its inputs and outputs), "
            f"POST /v2/models/{name}/infer (tensors), POST /v2/models/{name}/classify or /detect (a JPEG or PNG)")


def _errors(app: FastAPI, engine: Engine) -> None:
    """Every failure becomes ``{"error": ...}`` with a fitting status; a path or method that no route
    takes is answered with the routes there are (a browser opened at ``/`` got "Not Found")."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    from edgekit.errors import EdgekitError
    from edgekit.serve.protocol import CODES

    @app.exception_handler(RequestError)
    async def request_error(_request: Any, exc: RequestError) -> Any:
        headers = {"Retry-After": "1"} if exc.status == 503 else None
        return JSONResponse({"error": exc.message, "code": exc.code}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Any, exc: RequestValidationError) -> Any:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"error": f"invalid request: {where}: {first.get('msg', 'malformed')}",
                             "code": "bad_request"}, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Any, exc: HTTPException) -> Any:
        said, asked = str(exc.detail), f"{request.method} {request.url.path}"
        if exc.status_code == 404:
            said = f"no route for {asked}; {routes_text(engine.name)}"
        elif exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow")
            said = f"{asked} is not allowed{f'; use {allowed}' if allowed else ''}; {routes_text(engine.name)}"
        return JSONResponse({"error": said, "code": CODES.get(exc.status_code, "http_error")},
                            status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(EdgekitError)
    async def edgekit_error(_request: Any, exc: EdgekitError) -> Any:
        return JSONResponse({"error": str(exc), "code": type(exc).__name__}, status_code=400)
    # anything else: JsonErrors (limits.py) answers 500 internal_error without a traceback
