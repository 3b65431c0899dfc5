"""One Open Inference Protocol (v2) suite, run against every engine that serves a bundle.

``edgekit serve`` (light), ``edgekit serve --engine kserve`` (KServe's ModelServer) and a real
``tritonserver`` running the python-backend export must answer the same client - tritonclient,
HTTP and gRPC, which nobody here wrote - with the same tensors ``Predictor.predict`` computes
in-process, and refuse bad requests with a 4xx and a JSON body while staying up.

Each engine is a child process on 127.0.0.1 and free ports, stopped by PID in the fixture's
teardown even when a test fails. An engine that cannot run here is skipped with its reason.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from edgekit.errors import BackendUnavailable

from ..deployment.conftest import LABELS, images

pytestmark = pytest.mark.slow  # three servers start (KServe ~15 s, Triton ~10 s on 2 cores)

httpclient = pytest.importorskip("tritonclient.http")


@pytest.fixture(scope="module", params=["edgekit", "kserve", "triton"])
def v2(request, bundle):
    """A running engine (module-scoped: each starts once for the whole suite)."""
    from edgekit.serve.launch import start

    if request.param == "kserve" and importlib.util.find_spec("kserve") is None:  # not imported: see _grpc()
        pytest.skip("KServe is not installed (pip install 'edgekit[kserve]')")
    try:
        extra = ("--max-body-mb", "1") if request.param == "edgekit" else ()  # the light server's own body limit
        running = start(request.param, bundle, timeout_s=150, extra_args=extra)
    except BackendUnavailable as exc:
        pytest.skip(f"{request.param} cannot run here: {exc}")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def expected(bundle):
    """Inputs and what the in-process Predictor makes of the same images."""
    from edgekit.deployment import Predictor

    pictures = [img for img, _ in images(4, seed=3)]
    with Predictor.open(bundle) as predictor:
        batch = predictor.preprocess.batch(pictures).astype(np.float32)
        predictions = [predictor.predict(p, k=len(LABELS)) for p in pictures]
        logits = predictor.run(batch)
    return batch, logits, predictions


def _grpc():
    # kserve and tritonclient.grpc both register the 'inference' protobuf package: never import both in one process
    return pytest.importorskip("tritonclient.grpc")


def _infer(module, url, model, batch, binary=True, class_count=0):
    client = module.InferenceServerClient(url)
    tensor = module.InferInput("input", list(batch.shape), "FP32")
    kwargs = {"binary_data": binary} if module is httpclient else {}
    tensor.set_data_from_numpy(batch, **kwargs)
    wanted = module.InferRequestedOutput("logits", class_count=class_count, **kwargs)
    return client.infer(model, [tensor], outputs=[wanted]).as_numpy("logits")


def test_health_and_readiness(v2):
    client = httpclient.InferenceServerClient(v2.http)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(v2.model)
    assert not client.is_model_ready("no_such_model")


def test_server_and_model_metadata(v2):
    client = httpclient.InferenceServerClient(v2.http)
    server = client.get_server_metadata()
    assert server["name"] and server["version"]
    meta = client.get_model_metadata(v2.model)
    assert meta["name"] == v2.model
    assert [(i["name"], i["datatype"], i["shape"]) for i in meta["inputs"][:1]] == [("input", "FP32", [-1, 3, 32, 32])]
    assert [(o["name"], o["datatype"], o["shape"][-1]) for o in meta["outputs"][:1]] == [("logits", "FP32", len(LABELS))]
    if v2.engine != "triton":  # the encoded-image input and the class names it answers besides the logits
        assert [(i["name"], i["datatype"]) for i in meta["inputs"][1:]] == [("image", "BYTES")]
        assert [(o["name"], o["datatype"]) for o in meta["outputs"][1:]] == [("labels", "BYTES")]
    else:
        assert len(meta["inputs"]) == len(meta["outputs"]) == 1


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_http_infer_gives_the_in_process_answer(v2, expected, binary):
    batch, logits, predictions = expected
    got = _infer(httpclient, v2.http, v2.model, batch, binary=binary)
    assert got.shape == logits.shape
    np.testing.assert_allclose(got, logits, rtol=1e-4, atol=1e-4)
    assert [int(i) for i in got.argmax(axis=1)] == [p.index for p in predictions]


def test_grpc_infer_gives_the_in_process_answer(v2, expected):
    if v2.grpc is None:
        pytest.skip(f"{v2.engine} serves REST only (gRPC comes with --engine kserve or Triton)")
    batch, logits, _ = expected
    np.testing.assert_allclose(_infer(_grpc(), v2.grpc, v2.model, batch), logits, rtol=1e-4, atol=1e-4)


def test_classification_extension_names_the_best_label(v2, expected):
    batch, _, predictions = expected
    got = _infer(httpclient, v2.http, v2.model, batch, class_count=2)
    assert got.shape == (len(batch), 2)
    for row, prediction in zip(got, predictions):
        _score, index, label = row[0].decode().split(":")
        assert (int(index), label) == (prediction.index, prediction.label)


def _post(v2, body: bytes, headers: dict | None = None, model: str | None = None):
    import httpx

    url = f"http://{v2.http}/v2/models/{model or v2.model}/infer"
    return httpx.post(url, content=body, headers={"Content-Type": "application/json", **(headers or {})}, timeout=30)


def _json_request(shape, datatype="FP32", data=None):
    values = data if data is not None else [0.5] * int(np.prod(shape))
    return json.dumps({"inputs": [{"name": "input", "shape": shape, "datatype": datatype, "data": values}]}).encode()


def _binary_request(array: np.ndarray, datatype: str = "FP32"):
    head = json.dumps({"inputs": [{"name": "input", "shape": list(array.shape), "datatype": datatype,
                                   "parameters": {"binary_data_size": array.nbytes}}]}).encode()
    return head + array.tobytes(), {"Inference-Header-Content-Length": str(len(head))}


BAD_REQUESTS = {
    "malformed JSON": lambda: (b'{"inputs": [', {}),
    "wrong shape": lambda: (_json_request([1, 3, 16, 16]), {}),
    "wrong dtype": lambda: _binary_request(np.zeros((1, 3, 32, 32), np.int32), "INT32"),
    "NaN literal in JSON": lambda: (_json_request([1, 3, 32, 32]).replace(b"0.5", b"NaN", 1), {}),
    "data does not fit the shape": lambda: (_json_request([1, 3, 32, 32], data=[1.0, 2.0]), {}),
    "oversized batch": lambda: _binary_request(np.zeros((128, 3, 32, 32), np.float32)),  # 1.5 MiB
}


# Triton's own HTTP frontend refuses these before any backend runs, with 500 instead of 400 (not ours to fix)
TRITON_PARSER_500 = {"malformed JSON", "data does not fit the shape"}
# Triton's HTTP frontend parses NaN literals as numbers and runs them (not ours to fix)
TRITON_LENIENT = {"NaN literal in JSON"}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_requests_are_4xx_with_a_json_body_and_the_server_keeps_serving(v2, expected, case):
    body, headers = BAD_REQUESTS[case]()
    reply = _post(v2, body, headers)
    if v2.engine == "triton" and case in TRITON_PARSER_500 and reply.status_code == 500:
        pytest.xfail(f"tritonserver 2.51 answers 500 for a body its HTTP frontend cannot parse: {reply.text[:120]}")
    if v2.engine == "triton" and case in TRITON_LENIENT and reply.status_code == 200:
        pytest.xfail("tritonserver 2.51 accepts NaN literals in a JSON body (its parser, before any backend runs)")
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text[:300])
    assert isinstance(reply.json().get("error"), str) and reply.json()["error"]
    batch, logits, _ = expected
    np.testing.assert_allclose(_infer(httpclient, v2.http, v2.model, batch), logits, rtol=1e-4, atol=1e-4)


def test_unknown_model_is_404_with_a_json_body(v2):
    reply = _post(v2, _json_request([1, 3, 32, 32]), model="no_such_model")
    assert reply.status_code in (400, 404) and reply.json()["error"]


def test_grpc_bad_input_is_invalid_argument(v2):
    if v2.grpc is None:
        pytest.skip(f"{v2.engine} serves REST only")
    grpc = _grpc()
    from tritonclient.utils import InferenceServerException

    client = grpc.InferenceServerClient(v2.grpc)
    tensor = grpc.InferInput("input", [1, 3, 16, 16], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 3, 16, 16), np.float32))
    with pytest.raises(InferenceServerException) as err:
        client.infer(v2.model, [tensor])
    assert err.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert "shape" in err.value.message()


def test_nan_inside_a_binary_tensor_is_the_callers_business_in_every_engine(v2):
    """Strict JSON refuses NaN literals; a binary tensor holding NaN runs (issue 16), the same everywhere."""
    body, headers = _binary_request(np.full((1, 3, 32, 32), np.nan, np.float32))
    reply = _post(v2, body, headers)
    assert reply.status_code == 200, reply.text[:300]


@pytest.mark.parametrize("engine", ["edgekit", "kserve", "triton"])
def test_a_tampered_bundle_is_refused_by_every_engine_with_the_same_sentence(engine, bundle, tmp_path):
    import zipfile

    from edgekit.deployment import Bundle
    from edgekit.errors import BundleError
    from edgekit.serve.launch import ServerFailed, start

    if engine == "kserve" and importlib.util.find_spec("kserve") is None:
        pytest.skip("KServe is not installed (pip install 'edgekit[kserve]')")
    folder = tmp_path / "bundle"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)
    repository = None
    if engine == "triton":  # the export verifies first, so tamper with the copy inside the repository
        from edgekit.deployment import export_triton

        repository = export_triton(folder, tmp_path / "repo", backend="python").parent
        target = repository / "tiny" / "1" / "bundle"
    else:
        target = folder
    model = next((target / "model").iterdir())
    model.write_bytes(model.read_bytes()[:-1] + b"\0")
    with pytest.raises(BundleError) as refused:
        Bundle.open(target)
    sentence = str(refused.value)
    try:
        with pytest.raises(ServerFailed) as failed:
            start(engine, folder, timeout_s=120, repository=repository).stop()
    except BackendUnavailable as exc:
        pytest.skip(f"{engine} cannot run here: {exc}")
    assert sentence in failed.value.log, failed.value.log[-1500:]


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(v2):
    import socket

    host, port = v2.http.rsplit(":", 1)
    head = (f"POST /v2/models/{v2.model}/infer HTTP/1.1\r\nHost: {v2.http}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {1 << 30}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + b'{"inputs": [')  # 1 GiB announced, a few bytes sent: the answer must not wait for the rest
        reply = b""
        try:
            while b"\r\n\r\n" not in reply and len(reply) < 65536:  # bounded: the status line and headers only
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except TimeoutError:
            if v2.engine == "triton":
                pytest.xfail("tritonserver 2.51 has no request-size limit option: it waits for the whole announced body")
            raise
    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0
    assert 400 <= status < 500, reply[:300]
    batch = np.zeros((1, 3, 32, 32), np.float32)
    assert _infer(httpclient, v2.http, v2.model, batch).shape == (1, len(LABELS))


def test_image_input_answers_the_predictor_top1_as_labels(v2, expected):
    """The v2 ``image`` input (BYTES, base64 text in JSON) on a classifier: its logits and top-1 names."""
    import base64

    import cv2

    if v2.engine == "triton":
        pytest.skip("the Triton export takes an image for detectors only (its batched classifier config has no "
                    "shape for a ragged file)")
    pictures = [img for img, _ in images(4, seed=3)]
    files = [base64.b64encode(cv2.imencode(".png", p)[1].tobytes()) for p in pictures]  # lossless: same pixels
    _batch, logits, predictions = expected
    image = httpclient.InferInput("image", [len(files)], "BYTES")
    image.set_data_from_numpy(np.array(files, dtype=object), binary_data=False)
    result = httpclient.InferenceServerClient(v2.http).infer(v2.model, [image])
    np.testing.assert_allclose(result.as_numpy("logits"), logits, rtol=1e-4, atol=1e-4)
    assert [v.decode() for v in result.as_numpy("labels")] == [p.label for p in predictions]
