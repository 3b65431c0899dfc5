"""``edgekit serve``'s v2 ``image`` input: encoded JPEG/PNG files in, the model card's preprocessing, answers out.

The shipped demos answer a rendered scene (edgekit.data.scenes) three ways that must agree: the v2
``image`` input (base64 text in JSON, the file itself as a binary BYTES tensor), the JSON convenience
endpoints (``/detect``, ``/classify``) and ``Predictor.predict`` on the bundle in-process.
"""

from __future__ import annotations

import base64
import json
import struct

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi")


def _client(bundle):
    import warnings

    from edgekit.serve.app import create_app
    from edgekit.serve.engine import Engine

    with warnings.catch_warnings():  # starlette's note that it prefers httpx2 over httpx
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    return TestClient(create_app(Engine(bundle)), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def scene_png():
    from edgekit.data.scenes import TEST_SEED, scene_at

    scene = scene_at(TEST_SEED, 3)
    assert len(scene.boxes) >= 2  # several digits: the boxes are compared one by one
    return scene.image, cv2.imencode(".png", scene.image)[1].tobytes()


def _deploy(demo, folder):
    import warnings

    from edgekit.deployment import deploy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return deploy(demo, out=folder, samples=8).path


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    bundle = _deploy("demo:digits-det", tmp_path_factory.mktemp("v2-image") / "det")
    with _client(bundle) as client:
        yield bundle, client


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    bundle = _deploy("demo:digits", tmp_path_factory.mktemp("v2-image") / "cls")
    with _client(bundle) as client:
        yield bundle, client


def _json_image(*files: bytes) -> dict:
    return {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [len(files)],
                        "data": [base64.b64encode(f).decode() for f in files]}]}


def _binary_image(*files: bytes) -> tuple[bytes, dict]:
    blob = b"".join(struct.pack("<I", len(f)) + f for f in files)
    head = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [len(files)],
                                   "parameters": {"binary_data_size": len(blob)}}]}).encode()
    return head + blob, {"Inference-Header-Content-Length": str(len(head))}


def _outputs(reply) -> dict:
    assert reply.status_code == 200, reply.text[:300]
    return {o["name"]: o for o in reply.json()["outputs"]}


def test_detector_image_input_answers_the_boxes_of_detect_and_of_the_predictor(detector, scene_png):
    from edgekit.deployment import Predictor

    bundle, client = detector
    image, png = scene_png
    with Predictor.open(bundle) as predictor:
        found = predictor.predict(image)
    assert len(found) >= 2
    url = "/v2/models/demo_digits-det"
    as_json = _outputs(client.post(url + "/infer", json=_json_image(png)))
    body, headers = _binary_image(png)
    as_binary = _outputs(client.post(url + "/infer", content=body, headers=headers))
    detect = client.post(url + "/detect", content=png).json()["detections"]
    for out in (as_json, as_binary):
        assert out["boxes"]["shape"] == [len(found), 4] and out["boxes"]["datatype"] == "FP32"
        np.testing.assert_allclose(np.reshape(out["boxes"]["data"], (-1, 4)), [d.box for d in found], atol=1e-4)
        np.testing.assert_allclose(out["scores"]["data"], [d.score for d in found], atol=1e-5)
        assert out["classes"]["data"] == [d.class_id for d in found]
        assert out["labels"]["datatype"] == "BYTES"
        assert out["labels"]["data"] == [d.label for d in found] == [d["label"] for d in detect]
    # /detect rounds its JSON boxes to 0.01 px; the tensors are the Predictor's to float precision
    np.testing.assert_allclose([d["box"] for d in detect], [d.box for d in found], atol=0.006)


def test_classifier_image_input_answers_the_top1_of_classify(classifier, scene_png):
    from edgekit.deployment import Predictor

    bundle, client = classifier
    image, png = scene_png
    digit = cv2.imencode(".png", cv2.resize(image[20:80, 60:120], (64, 64)))[1].tobytes()
    url = "/v2/models/demo_digits"
    out = _outputs(client.post(url + "/infer", json=_json_image(png, digit)))
    logits = np.reshape(out["logits"]["data"], out["logits"]["shape"])
    assert logits.shape == (2, 10)
    tops = [client.post(url + "/classify", content=f).json()["label"] for f in (png, digit)]
    assert out["labels"]["data"] == tops
    with Predictor.open(bundle) as predictor:
        want = predictor.predict_batch([image, cv2.imdecode(np.frombuffer(digit, np.uint8), cv2.IMREAD_COLOR)])
    assert [str(i) for i in logits.argmax(axis=1)] == [p.label for p in want] == tops
    body, headers = _binary_image(digit)
    assert _outputs(client.post(url + "/infer", content=body, headers=headers))["labels"]["data"] == tops[1:]


@pytest.mark.parametrize("which", ["detector", "classifier"])
def test_metadata_lists_the_image_input_and_what_it_answers(which, request):
    _bundle, client = request.getfixturevalue(which)
    name = "demo_digits-det" if which == "detector" else "demo_digits"
    meta = client.get(f"/v2/models/{name}").json()
    assert {"name": "image", "datatype": "BYTES", "shape": [-1]} in meta["inputs"]
    names = [o["name"] for o in meta["outputs"]]
    extra = ["boxes", "scores", "classes", "labels"] if which == "detector" else ["labels"]
    assert names[-len(extra):] == extra


BAD = {
    "not-base64": ({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["not base64 ~~"]}]},
                   "base64"),
    "not-an-image": (_json_image(b"hello, this is text"), "JPEG or PNG"),
    "too-many-pixels": (_json_image(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + struct.pack(">II", 60000, 60000)
                                    + b"\x08\x02\0\0\0" + b"\0" * 64), "pixels"),
    "wrong-datatype": ({"inputs": [{"name": "image", "datatype": "FP32", "shape": [3], "data": [1, 2, 3]}]},
                       "must be BYTES"),
    "two-images-to-a-detector": (_json_image(b"\xff\xd8", b"\xff\xd8"), "one image per request"),
    "data-not-strings": ({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [5]}]},
                         "strings"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_image_input_is_a_400_with_the_error_body(detector, case):
    _bundle, client = detector
    body, words = BAD[case]
    reply = client.post("/v2/models/demo_digits-det/infer", json=body)
    assert reply.status_code == 400, reply.text[:300]
    doc = reply.json()
    assert doc["code"] == "bad_request" and words in doc["error"]
    assert client.get("/v2/health/ready").status_code == 200
