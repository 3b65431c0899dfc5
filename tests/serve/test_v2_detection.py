"""A detection bundle behind every engine: the same boxes as ``Predictor.predict`` in-process.

The bundle holds the tiny Ultralytics-style head of tests/detection (exported from torch; a red square
is class 0, a green one class 1). Each engine answers:

* v2 tensors (the letterboxed input) with the raw head, which decodes to the Predictor's boxes;
* its image path with the boxes as JSON: ``edgekit serve``'s ``/detect`` and KServe's v1
  ``image_bytes`` (the same ``{"task": "detection", "detections": [...]}``);
* KServe also takes a v2 ``image`` BYTES input and answers ``boxes``/``scores``/``classes``/``labels``
  tensors; Triton takes ``image`` as a UINT8 vector and answers the same four (``labels`` when its python
  stub runs numpy 1, which ``.ci/run`` installs for it).

Servers run on 127.0.0.1 and free ports, stopped by PID in the fixture.
"""

from __future__ import annotations

import base64
import importlib.util

import cv2
import numpy as np
import pytest

from edgekit.errors import BackendUnavailable

from ..detection.conftest import scene, tiny_heads  # noqa: F401 - tiny_heads is a fixture used below

pytestmark = pytest.mark.slow  # three servers start (KServe ~15 s, Triton ~10 s on 2 cores)

httpclient = pytest.importorskip("tritonclient.http")
httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def det_bundle(tiny_heads, tmp_path_factory):  # noqa: F811 - the imported fixture
    from edgekit.deployment import deploy

    return deploy(tiny_heads["ultralytics"], out=tmp_path_factory.mktemp("det") / "squares").path


@pytest.fixture(scope="module", params=["edgekit", "kserve", "triton"])
def engine(request, det_bundle):
    from edgekit.serve.launch import start

    if request.param == "kserve" and importlib.util.find_spec("kserve") is None:
        pytest.skip("KServe is not installed (pip install 'edgekit[kserve]')")
    try:
        running = start(request.param, det_bundle, timeout_s=150)
    except BackendUnavailable as exc:
        pytest.skip(f"{request.param} cannot run here: {exc}")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def expected(det_bundle):
    """The image, its PNG, the letterboxed tensor and what the in-process Predictor answers."""
    from edgekit.deployment import Predictor
    from edgekit.detection.detector import prepare

    image, _ = scene()
    with Predictor.open(det_bundle) as predictor:
        found = predictor.predict(image)
        tensor, box = prepare(image, predictor.detector_spec)
        raw = predictor.run(tensor.astype(np.float32))
        spec = predictor.detector_spec
    assert sorted(d.class_id for d in found) == [0, 1]
    return {"image": image, "png": cv2.imencode(".png", image)[1].tobytes(), "tensor": tensor.astype(np.float32),
            "box": box, "raw": raw, "spec": spec, "found": found}


def test_v2_tensors_decode_to_the_predictor_boxes(engine, expected):
    from edgekit.detection.detector import postprocess

    client = httpclient.InferenceServerClient(engine.http)
    meta = client.get_model_metadata(engine.model)
    inp, out = meta["inputs"][0], meta["outputs"][0]  # the head's own tensors (Triton lists the image ones after)
    if engine.engine == "triton":
        assert [i["name"] for i in meta["inputs"][1:]] == ["image"]
        assert [o["name"] for o in meta["outputs"][1:]] == ["boxes", "scores", "classes", "labels"]
    tensor = httpclient.InferInput(inp["name"], list(expected["tensor"].shape), "FP32")
    tensor.set_data_from_numpy(expected["tensor"], binary_data=True)
    got = client.infer(engine.model, [tensor]).as_numpy(out["name"])
    np.testing.assert_allclose(got, expected["raw"], rtol=1e-4, atol=1e-4)
    boxes = postprocess([got[0]], expected["spec"], expected["box"]).to_list(expected["spec"].labels)
    assert [(d.class_id, d.label) for d in boxes] == [(d.class_id, d.label) for d in expected["found"]]
    np.testing.assert_allclose([d.box for d in boxes], [d.box for d in expected["found"]], atol=1e-3)


def test_image_path_answers_the_predictor_boxes_as_json(engine, expected):
    want = {"task": "detection", "detections": [d.to_dict() for d in expected["found"]]}
    if engine.engine == "edgekit":
        reply = httpx.post(f"http://{engine.http}/v2/models/{engine.model}/detect", content=expected["png"], timeout=60)
        assert reply.status_code == 200, reply.text
        assert {k: reply.json()[k] for k in want} == want
    elif engine.engine == "kserve":
        body = {"instances": [{"image_bytes": {"b64": base64.b64encode(expected["png"]).decode()}}]}
        reply = httpx.post(f"http://{engine.http}/v1/models/{engine.model}:predict", json=body, timeout=60)
        assert reply.status_code == 200, reply.text
        assert reply.json()["predictions"] == [want]
        bad = httpx.post(f"http://{engine.http}/v1/models/{engine.model}:predict",
                         json={"instances": [{"image_bytes": {"b64": base64.b64encode(b"no image").decode()}}]},
                         timeout=60)
        assert bad.status_code == 400 and "error" in bad.json()
    else:
        pytest.skip("Triton has no JSON image path; it answers the v2 image input (test below)")


def test_v2_image_input_answers_box_tensors(engine, expected):
    """KServe: one BYTES element (base64 text over REST, the file itself over gRPC); Triton: the file as
    a UINT8 vector (its python stub mis-reads BYTES under numpy 2), the class names in ``labels`` when the
    stub runs numpy 1 (``.ci/run`` installs it into .venv/pytriton/stub-site)."""
    found, png = expected["found"], expected["png"]
    client = httpclient.InferenceServerClient(engine.http)
    if engine.engine == "edgekit":  # base64 text in JSON, the file itself as a binary tensor, Triton's UINT8 form
        for binary, value in ((False, base64.b64encode(png)), (True, png)):
            image = httpclient.InferInput("image", [1], "BYTES")
            image.set_data_from_numpy(np.array([value], dtype=object), binary_data=binary)
            _same_boxes(client.infer(engine.model, [image]), found, labels=True)
        vector = np.frombuffer(png, np.uint8)
        image = httpclient.InferInput("image", [len(vector)], "UINT8")
        image.set_data_from_numpy(vector, binary_data=True)
        _same_boxes(client.infer(engine.model, [image]), found, labels=True)
        return
    grpcclient = pytest.importorskip("tritonclient.grpc")
    grpc = grpcclient.InferenceServerClient(engine.grpc)
    if engine.engine == "kserve":
        image = httpclient.InferInput("image", [1], "BYTES")
        image.set_data_from_numpy(np.array([base64.b64encode(png)], dtype=object), binary_data=False)
        _same_boxes(client.infer(engine.model, [image]), found, labels=True)
        image = grpcclient.InferInput("image", [1], "BYTES")
        image.set_data_from_numpy(np.array([png], dtype=object))
        _same_boxes(grpc.infer(engine.model, [image]), found, labels=True)
        bad = grpcclient.InferInput("image", [2], "BYTES")
        bad.set_data_from_numpy(np.array([png] * 2, dtype=object))
        with pytest.raises(Exception, match="one image per request"):
            grpc.infer(engine.model, [bad])
        return
    labels = _triton_stub_numpy1()
    vector = np.frombuffer(png, np.uint8)
    image = httpclient.InferInput("image", [len(vector)], "UINT8")
    image.set_data_from_numpy(vector, binary_data=True)
    _same_boxes(client.infer(engine.model, [image]), found, labels=labels)
    image = grpcclient.InferInput("image", [len(vector)], "UINT8")
    image.set_data_from_numpy(vector)
    _same_boxes(grpc.infer(engine.model, [image]), found, labels=labels)
    broken = grpcclient.InferInput("image", [16], "UINT8")
    broken.set_data_from_numpy(vector[:16].copy())
    with pytest.raises(Exception, match="(?i)image"):
        grpc.infer(engine.model, [broken])
    # the head's own tensors still answer after the image requests
    tensor = httpclient.InferInput("images", list(expected["tensor"].shape), "FP32")
    tensor.set_data_from_numpy(expected["tensor"], binary_data=True)
    np.testing.assert_allclose(client.infer(engine.model, [tensor]).as_numpy("output0"), expected["raw"],
                               rtol=1e-4, atol=1e-4)


def _triton_stub_numpy1() -> bool:
    from edgekit.serve.launch import triton_home

    return (triton_home().parents[1] / "stub-site" / "numpy").is_dir()


def _same_boxes(result, found, labels: bool):
    boxes, scores = result.as_numpy("boxes"), result.as_numpy("scores")
    assert boxes.shape == (len(found), 4) and boxes.dtype == np.float32
    np.testing.assert_allclose(boxes, [d.box for d in found], atol=1e-4)
    np.testing.assert_allclose(scores, [d.score for d in found], atol=1e-5)
    assert result.as_numpy("classes").tolist() == [d.class_id for d in found]
    if labels:
        assert [v.decode() for v in result.as_numpy("labels")] == [d.label for d in found]
