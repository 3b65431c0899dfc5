"""Hostile requests to ``edgekit serve``: malformed, non-strict JSON, amplifying, slow or aborted.

Each case: the HTTP status, a JSON body ``{"error": one sentence, "code": stable code}``,
and the server still answering afterwards. Slow and aborted clients run against a real
uvicorn with the guarded protocol, in a thread.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import zlib

import pytest

from .conftest import assert_sentence

pytest.importorskip("fastapi")


@pytest.fixture(scope="module")
def engine(digits_bundle):
    from edgekit.serve.engine import Engine

    engine = Engine(digits_bundle, max_queue=4)
    yield engine
    if not engine.closing:
        engine.close()


@pytest.fixture(scope="module")
def client(engine):
    import warnings

    with warnings.catch_warnings():  # starlette's note that it prefers httpx2 over httpx
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from edgekit.serve.app import create_app

    app = create_app(engine, max_body_bytes=2 << 20)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _doc(shape, data=None, datatype="FP32", name="input") -> bytes:
    item = {"name": name, "shape": shape, "datatype": datatype}
    if data is not None:
        item["data"] = data
    return json.dumps({"inputs": [item]}).encode()


GOOD = [1, 3, 64, 64]
_IMAGE_HEAD = json.dumps({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES",
                                      "parameters": {"binary_data_size": 8}}]}).encode()
_PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes.fromhex(
    "0000000d49484452000000010000000108000000003a7e9b550000000a49444154081d6368000000820081f0aae322"
    "0000000049454e44ae426082")).decode()  # a valid 1x1 grey PNG (cv2.imencode's)
URL = "/v2/models/demo_digits/infer"

REQUESTS = {
    "nan-literal": (b'{"inputs": [{"name": "input", "shape": [1], "datatype": "FP32", "data": [NaN]}]}', {}, 400),
    "infinity-literal": (b'{"inputs": [{"name": "input", "shape": [1], "datatype": "FP32", "data": [Infinity]}]}',
                         {}, 400),
    "huge-number": (b'{"inputs": [{"name": "input", "shape": [1], "datatype": "FP32", "data": [1e999]}]}', {}, 400),
    "nesting-bomb": (b"[" * 100_000, {}, 400),
    "one-element-lists": (b'{"inputs": [{"name": "input", "shape": [200000, 1], "datatype": "FP32", "data": ['
                          + b",".join([b"[0]"] * 200_000) + b"]}]}", {}, 400),
    "too-many-elements": (_doc([100000, 3, 64, 64], []), {}, 400),
    "shape-negative": (_doc([1, -3, 64, 64], []), {}, 400),
    "shape-too-long": (_doc([1] * 40, [1]), {}, 400),
    "shape-text": (_doc("1,3,64,64", []), {}, 400),
    "datatype-unknown": (_doc(GOOD, [], "FP128"), {}, 400),
    "datatype-list": (_doc(GOOD, [], ["FP32"]), {}, 400),
    "data-strings": (_doc([2], ["1", "2"]), {}, 400),
    "data-ragged": (_doc([2, 2], [[1, 2], [3]]), {}, 400),
    "data-count": (_doc(GOOD, [0.5, 0.5]), {}, 400),
    "not-json": (b"hello", {}, 400),
    "not-utf8": (b"\xff\xfe\xfd", {}, 400),
    "inputs-missing": (b"{}", {}, 400),
    "inputs-not-list": (b'{"inputs": 5}', {}, 400),
    "header-superscript": (_doc(GOOD, []), {"Inference-Header-Content-Length": "\u00b2"}, 400),
    "header-negative": (_doc(GOOD, []), {"Inference-Header-Content-Length": "-5"}, 400),
    "header-over-body": (_doc(GOOD, []), {"Inference-Header-Content-Length": "999999"}, 400),
    "header-huge": (_doc(GOOD, []), {"Inference-Header-Content-Length": "9" * 40}, 400),
    "binary-size-mismatch": (json.dumps({"inputs": [{"name": "input", "shape": GOOD, "datatype": "FP32",
                                                     "parameters": {"binary_data_size": 12}}]}).encode() + b"\0" * 12,
                             {}, 400),
    "gzip-body": (zlib.compress(_doc(GOOD, [])), {"Content-Encoding": "gzip"}, 415),
    "body-too-large": (b" " * (3 << 20), {}, 413),
    "wrong-shape": (_doc([1, 3, 16, 16], [0.5] * 768), {}, 400),
    # the v2 "image" input: BYTES [N] of JPEG/PNG files, base64 text in JSON
    "image-not-base64": (_doc([1], ["%%% not base64 %%%"], "BYTES", "image"), {}, 400),
    "image-not-an-image": (_doc([1], [base64.b64encode(b"GIF89a, not a JPEG").decode()], "BYTES", "image"), {}, 400),
    "image-too-many-pixels": (_doc([1], [base64.b64encode(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + (60000).to_bytes(4, "big")
                                                          * 2 + b"\x08\x02\0\0\0").decode()], "BYTES", "image"), {}, 400),
    "image-truncated-jpeg": (_doc([1], [base64.b64encode(b"\xff\xd8\xff\xe0\0\x10JFIF").decode()], "BYTES", "image"),
                             {}, 400),
    "image-wrong-datatype": (_doc([4], [1, 2, 3, 4], "FP32", "image"), {}, 400),
    "image-data-numbers": (_doc([1], [7], "BYTES", "image"), {}, 400),
    "image-none": (_doc([0], [], "BYTES", "image"), {}, 400),
    "image-beside-input": (json.dumps({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": ["eA=="]},
                                                  {"name": "input", "shape": [1], "datatype": "FP32", "data": [0]}]}).encode(),
                           {}, 400),
    "bytes-for-model-input": (_doc([1], ["abc"], "BYTES", "input"), {}, 400),
    "image-binary-length-over-size": (_IMAGE_HEAD + b"\xff\xff\xff\x7f" + b"\0" * 4,
                                      {"Inference-Header-Content-Length": str(len(_IMAGE_HEAD))}, 400),
    "image-classification-on-labels": (json.dumps({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES",
                                                               "data": [_PNG]}],
                                                   "outputs": [{"name": "labels", "parameters": {"classification": 2}}]}
                                                  ).encode(), {}, 400),
}


@pytest.mark.parametrize("case", sorted(REQUESTS))
def test_a_bad_infer_request_is_a_json_4xx_with_a_code(client, case):
    body, headers, status = REQUESTS[case]
    if case == "header-superscript":  # httpx refuses non-ASCII header values: send them as bytes
        headers = {k: v.encode() for k, v in headers.items()}
    reply = client.post(URL, content=body, headers=headers)
    assert reply.status_code == status, reply.text[:300]
    doc = reply.json()
    assert isinstance(doc.get("code"), str) and doc["code"]
    assert_sentence(doc["error"])
    assert client.get("/v2/health/live").status_code == 200


OTHER = {
    "unknown-model": ("post", "/v2/models/nope/infer", 404),
    "unknown-version": ("get", "/v2/models/demo_digits/versions/9", 404),
    "unknown-route": ("get", "/v2/nothing", 404),
    "method-not-allowed": ("delete", "/v2/health/live", 405),
    "top-k-zero": ("post", "/v2/models/demo_digits/classify?top_k=0", 400),
    "top-k-text": ("post", "/v2/models/demo_digits/classify?top_k=many", 400),
}


@pytest.mark.parametrize("case", sorted(OTHER))
def test_other_refusals_are_json_with_a_code(client, case):
    method, url, status = OTHER[case]
    reply = getattr(client, method)(url)
    assert reply.status_code == status
    assert reply.json()["code"] and reply.json()["error"]


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(("case", "body", "status"), [
    ("png-bomb", _png_header(50000, 50000), 413),
    ("truncated-png", _png_header(8, 8)[:40], 400),
    ("not-an-image", b"GIF89a" + b"\0" * 30, 415),
    ("empty", b"", 415),
])
def test_a_bad_image_to_classify_is_refused(client, case, body, status):
    reply = client.post("/v2/models/demo_digits/classify", content=body)
    assert reply.status_code == status, reply.text[:200]
    assert_sentence(reply.json()["error"])


def test_readiness_says_busy_while_liveness_stays_up(client, engine):
    engine.admitted = engine.max_queue  # as if the queue were full
    try:
        ready = client.get("/v2/health/ready")
        assert ready.status_code == 503 and ready.json() == {"ready": False, "state": "busy"}
        assert client.get("/v2/health/live").status_code == 200
    finally:
        engine.admitted = 0
    assert client.get("/v2/health/ready").json() == {"ready": True, "state": "ready"}


# --- a real uvicorn: slow and aborted clients ----------------------------------------------------

@pytest.fixture(scope="module")
def live_server(engine):
    import uvicorn

    from edgekit.serve.app import create_app
    from edgekit.serve.limits import guarded_protocol

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(engine, max_body_bytes=1 << 20)
    config = uvicorn.Config(app, log_level="info", http=guarded_protocol(1.0), timeout_keep_alive=1,
                            limit_concurrency=64, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(10)
    sock.close()


def _get(port: int, path: str) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return int(s.recv(200).split(b" ", 2)[1])


def test_a_client_that_never_finishes_its_headers_is_dropped(live_server):
    held = [socket.create_connection(("127.0.0.1", live_server)) for _ in range(80)]  # > limit_concurrency
    for s in held:
        s.sendall(b"POST /v2/models/demo_digits/infer HTTP/1.1\r\nHost: x\r\n")
    for s in held:
        s.settimeout(5)
    start = time.monotonic()
    closed = sum(1 for s in held if s.recv(10) == b"")  # the server hangs up on each
    assert closed == len(held) and time.monotonic() - start < 5
    for s in held:
        s.close()
    assert _get(live_server, "/v2/health/ready") == 200


def test_an_aborted_upload_logs_no_traceback(live_server, caplog):
    caplog.set_level(logging.INFO)
    with socket.create_connection(("127.0.0.1", live_server)) as s:
        s.sendall(b"POST /v2/models/demo_digits/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
                  + b'{"inputs": [')
        time.sleep(0.2)
    time.sleep(0.5)
    assert _get(live_server, "/v2/health/live") == 200
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records), caplog.text[-2000:]


def test_a_large_valid_request_passes_the_head_guard(live_server):
    import httpx

    body = _doc(GOOD, [0.123456789] * (3 * 64 * 64))  # ~150 KB: more than one socket read with its head
    assert len(body) > 100_000
    reply = httpx.post(f"http://127.0.0.1:{live_server}{URL}", content=body, timeout=30)
    assert reply.status_code == 200, reply.text[:300]
