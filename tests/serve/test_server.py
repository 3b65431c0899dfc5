"""``edgekit serve`` with the real tritonclient.http client: metadata, health, inference, errors."""

from __future__ import annotations

import json
import signal
import time

import cv2
import httpx
import numpy as np
import pytest

tritonhttp = pytest.importorskip("tritonclient.http")
from tritonclient.utils import InferenceServerException

from edgekit.deployment import Predictor


@pytest.fixture(scope="module")
def client(server):
    return tritonhttp.InferenceServerClient(server.url)


@pytest.fixture(scope="module")
def predictor(bundle):
    return Predictor.open(bundle)


def images(n: int, seed: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (28 + i, 36, 3), dtype=np.uint8) for i in range(n)]


def infer(client, batch: np.ndarray, *, binary: bool = True, class_count: int = 0):
    tensor = tritonhttp.InferInput("input", list(batch.shape), "FP32")
    tensor.set_data_from_numpy(batch, binary_data=binary)
    wanted = [tritonhttp.InferRequestedOutput("logits", binary_data=binary, class_count=class_count)]
    return client.infer("tiny", [tensor], outputs=wanted).as_numpy("logits")


def assert_serving(client, predictor) -> None:
    """The server is still up and still answers correctly."""
    assert client.is_server_live() and client.is_model_ready("tiny")
    image = images(1, seed=99)[0]
    logits = infer(client, predictor.preprocess.batch([image]))
    assert int(np.argmax(logits[0])) == predictor.predict(image).index


def test_health_and_metadata(client):
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("tiny")
    server = client.get_server_metadata()
    assert server["name"] == "edgekit" and "binary_tensor_data" in server["extensions"]
    meta = client.get_model_metadata("tiny")
    assert meta["name"] == "tiny" and meta["versions"] == ["1"] and meta["platform"] == "onnxruntime_onnx"
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 3, 32, 32]},
                              {"name": "image", "datatype": "BYTES", "shape": [-1]}]  # encoded JPEG/PNG files
    assert meta["outputs"] == [{"name": "logits", "datatype": "FP32", "shape": [-1, 4]},
                               {"name": "labels", "datatype": "BYTES", "shape": [-1]}]  # what "image" adds
    assert client.get_model_config("tiny")["labels"] == ["ant", "bee", "cat", "dog"]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_inference_equals_predictor(client, predictor, binary):
    batch_images = images(5)
    batch = predictor.preprocess.batch(batch_images)
    logits = infer(client, batch, binary=binary)
    assert logits.shape == (5, 4) and logits.dtype == np.float32
    np.testing.assert_allclose(logits, predictor.run(batch), rtol=1e-5, atol=1e-6)
    for row, image in zip(logits, batch_images):
        expected = predictor.predict(image)
        assert int(np.argmax(row)) == expected.index
        assert float(predictor.scores(row[None])[0].max()) == pytest.approx(expected.score, rel=1e-5)


def test_classification_extension(client, predictor):
    image = images(1)[0]
    top = infer(client, predictor.preprocess.batch([image]), class_count=2)
    _score, index, label = top[0][0].decode().split(":")
    assert (int(index), label) == (predictor.predict(image).index, predictor.predict(image).label)


def test_classify_endpoint_takes_an_encoded_image(server, predictor):
    image = images(1)[0]
    _ok, png = cv2.imencode(".png", image)
    reply = httpx.post(f"http://{server.url}/v2/models/tiny/classify?top_k=3", content=png.tobytes())
    assert reply.status_code == 200
    body, expected = reply.json(), predictor.predict(image, k=3)
    assert (body["label"], body["index"]) == (expected.label, expected.index)
    assert body["score"] == pytest.approx(expected.score, rel=1e-5) and len(body["topk"]) == 3


def test_classify_takes_the_image_as_a_form_upload(server, predictor):
    """``curl -F image=@photo.jpg`` (and a browser form, ``requests.post(files=...)``) sends a
    multipart body: it was refused as "not a JPEG or PNG image". A form with two files, or none,
    is refused saying so."""
    image = images(1)[0]
    _ok, jpeg = cv2.imencode(".jpg", image)
    url = f"http://{server.url}/v2/models/tiny/classify"
    reply = httpx.post(url, files={"image": ("photo.jpg", jpeg.tobytes(), "image/jpeg")}, data={"note": "x"})
    assert reply.status_code == 200, reply.text
    expected = predictor.predict(cv2.imdecode(jpeg, cv2.IMREAD_COLOR))
    assert (reply.json()["label"], reply.json()["index"]) == (expected.label, expected.index)
    two = httpx.post(url, files=[("a", ("a.jpg", jpeg.tobytes(), "image/jpeg")),
                                 ("b", ("b.jpg", jpeg.tobytes(), "image/jpeg"))])
    assert two.status_code == 400 and "2 files" in two.json()["error"]
    text_only = b'--XX\r\nContent-Disposition: form-data; name="note"\r\n\r\nx\r\n--XX--\r\n'
    none = httpx.post(url, content=text_only, headers={"content-type": "multipart/form-data; boundary=XX"})
    assert none.status_code == 400 and "no file" in none.json()["error"]


BAD_REQUESTS = {
    "not json": (b"{inputs: oops", 400, "not valid JSON"),
    "no inputs": (json.dumps({"outputs": []}).encode(), 400, "'inputs'"),
    "wrong shape": (json.dumps({"inputs": [{"name": "input", "shape": [1, 3, 32, 31], "datatype": "FP32",
                                            "data": [0.0] * (3 * 32 * 31)}]}).encode(), 400, "expected shape"),
    "wrong dtype": (json.dumps({"inputs": [{"name": "input", "shape": [1, 3, 32, 32], "datatype": "FP64",
                                            "data": [0.0] * 3072}]}).encode(), 400, "dtype float32"),
    "count mismatch": (json.dumps({"inputs": [{"name": "input", "shape": [1, 3, 32, 32], "datatype": "FP32",
                                               "data": [0.0] * 10}]}).encode(), 400, "needs 3072"),
    "unknown input": (json.dumps({"inputs": [{"name": "picture", "shape": [1, 3, 32, 32], "datatype": "FP32",
                                              "data": [0.0] * 3072}]}).encode(), 400, "unknown ['picture']"),
    "strings": (json.dumps({"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32",
                                        "data": ["a", "b", "c"]}]}).encode(), 400, "numbers only"),
    "bad datatype": (json.dumps({"inputs": [{"name": "input", "shape": [1], "datatype": "FP8",
                                             "data": [0]}]}).encode(), 400, "not supported"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_malformed_requests_get_4xx_json_and_the_server_keeps_serving(server, client, predictor, case):
    body, status, message = BAD_REQUESTS[case]
    reply = httpx.post(f"http://{server.url}/v2/models/tiny/infer", content=body)
    assert reply.status_code == status
    assert message in reply.json()["error"]
    assert_serving(client, predictor)


def test_tritonclient_sees_the_error_message(client, predictor):
    wrong = np.zeros((1, 3, 16, 16), np.float32)
    with pytest.raises(InferenceServerException, match="expected shape"):
        infer(client, wrong)
    with pytest.raises(InferenceServerException, match="dtype float32"):
        tensor = tritonhttp.InferInput("input", [1, 3, 32, 32], "FP64")
        tensor.set_data_from_numpy(np.zeros((1, 3, 32, 32), np.float64))
        client.infer("tiny", [tensor])
    with pytest.raises(InferenceServerException, match="unknown model"):
        client.infer("nope", [tritonhttp.InferInput("input", [1], "FP32").set_data_from_numpy(np.zeros(1, np.float32))])
    assert_serving(client, predictor)


def test_compressed_requests_are_refused_not_inflated(client, predictor):
    tensor = tritonhttp.InferInput("input", [1, 3, 32, 32], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 3, 32, 32), np.float32))
    with pytest.raises(InferenceServerException, match="Content-Encoding 'gzip' is not supported"):
        client.infer("tiny", [tensor], request_compression_algorithm="gzip")
    assert_serving(client, predictor)


def test_binary_size_mismatch_and_bad_header(server, client, predictor):
    head = json.dumps({"inputs": [{"name": "input", "shape": [1, 3, 32, 32], "datatype": "FP32",
                                   "parameters": {"binary_data_size": 3072 * 4}}]}).encode()
    url = f"http://{server.url}/v2/models/tiny/infer"
    short = httpx.post(url, content=head + b"\0" * 100, headers={"Inference-Header-Content-Length": str(len(head))})
    assert short.status_code == 400 and "binary_data_size" in short.json()["error"]
    bad = httpx.post(url, content=head, headers={"Inference-Header-Content-Length": "lots"})
    assert bad.status_code == 400 and "must be an integer" in bad.json()["error"]
    assert_serving(client, predictor)


def test_oversized_body_gets_413(server, client, predictor):
    big = b"[" + b"0," * (600 * 1024) + b"0]"
    reply = httpx.post(f"http://{server.url}/v2/models/tiny/infer", content=big)
    assert reply.status_code == 413 and "limit" in reply.json()["error"]
    chunked = httpx.post(f"http://{server.url}/v2/models/tiny/infer", content=iter([b"x" * (512 << 10)] * 3))
    assert chunked.status_code == 413
    assert_serving(client, predictor)


def test_unknown_routes_models_and_images(server, client, predictor):
    base = f"http://{server.url}/v2"
    assert httpx.get(f"{base}/models/nope").status_code == 404
    assert "unknown model" in httpx.get(f"{base}/models/nope/ready").json()["error"]
    assert httpx.get(f"{base}/models/tiny/versions/7").status_code == 404
    nothing = httpx.get(f"{base}/nothing").json()  # was {"error": "Not Found"}: what is there, then?
    assert nothing["code"] == "not_found" and nothing["error"].startswith("no route for GET /v2/nothing; ")
    assert "POST /v2/models/tiny/classify" in nothing["error"] and "GET /v2/health/ready" in nothing["error"]
    assert "GET /v2/models/tiny " in httpx.get(f"http://{server.url}/").json()["error"]  # a browser at /
    wrong = httpx.get(f"{base}/models/tiny/classify")  # a browser at the classify URL
    assert wrong.status_code == 405 and "GET /v2/models/tiny/classify is not allowed; use POST" in wrong.json()["error"]
    not_image = httpx.post(f"{base}/models/tiny/classify", content=b"hello")
    assert not_image.status_code == 415 and "JPEG or PNG" in not_image.json()["error"]
    truncated = httpx.post(f"{base}/models/tiny/classify", content=b"\x89PNG\r\n\x1a\n" + b"\0" * 30)
    assert truncated.status_code == 400
    assert httpx.post(f"{base}/models/tiny/classify?top_k=x", content=b"").status_code == 400
    assert_serving(client, predictor)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signals_shut_down_cleanly(bundle, server_class, sig):
    srv = server_class(bundle, "--workers", "2")
    client = tritonhttp.InferenceServerClient(srv.url)
    assert infer(client, np.zeros((2, 3, 32, 32), np.float32)).shape == (2, 4)
    code, err = srv.stop(sig)
    # uvicorn finishes admitted requests, runs the shutdown (model released), then ends as signalled
    assert "stopped cleanly after 1 inference request\n" in err and "Traceback" not in err
    # Ctrl-C is the way to stop a server: success, not "cancelled"; SIGTERM ends it as signalled (uvicorn)
    assert code == 0 and "cancelled" not in err if sig == signal.SIGINT else code in (0, -sig)


def _ignoring_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as `nohup edgekit serve ... &` starts it


@pytest.mark.parametrize("started", ["plainly", "with SIGINT ignored"])
def test_a_second_ctrl_c_during_shutdown_stops_at_once_without_a_traceback(bundle, server_class, started):
    """An impatient second Ctrl-C (or a `timeout` wrapper passing SIGINT on) printed uvicorn's
    'ERROR: Traceback ... CancelledError' from the cancelled lifespan task; where SIGINT was ignored
    at start (a background job) the server then ended silently with 0, as if it had stopped cleanly."""
    srv = server_class(bundle, **({"preexec_fn": _ignoring_sigint} if started != "plainly" else {}))
    srv.proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    code, err = srv.stop(signal.SIGINT)
    assert "Traceback" not in err and "CancelledError" not in err, err
    assert (code, "stopped cleanly" in err) == (0, True) or (code, "cancelled (Ctrl-C)" in err) == (130, True), \
        (code, err)
