"""``edgekit serve`` of a detection bundle: /detect answers the boxes the Predictor gives; /classify refers to it."""

from __future__ import annotations

import cv2
import pytest

from edgekit.deployment import Predictor, deploy

from .conftest import scene

httpx = pytest.importorskip("httpx", reason="the serve tests need httpx (test extra)")
pytest.importorskip("fastapi", reason="edgekit serve needs the serve extra")


@pytest.mark.slow  # a server subprocess: ~20 s on 2 busy cores
def test_detect_endpoint_returns_the_predictor_boxes(tiny_heads, tmp_path):
    from ..serve.conftest import Server

    bundle = deploy(tiny_heads["ultralytics"], out=tmp_path / "squares")
    image, _ = scene()
    with Predictor.open(bundle.path) as predictor:
        expected = [d.to_dict() for d in predictor.detect(image)]
    png = cv2.imencode(".png", image)[1].tobytes()
    server = Server(bundle.path)
    try:
        base = f"http://{server.url}/v2/models/{bundle.manifest.serve_name}"
        reply = httpx.post(f"{base}/detect", content=png, timeout=30)
        assert reply.status_code == 200, reply.text
        assert reply.json()["task"] == "detection" and reply.json()["detections"] == expected
        strict = httpx.post(f"{base}/detect?conf=0.9999999", content=png, timeout=30)
        assert strict.json()["detections"] == []
        assert httpx.post(f"{base}/detect?conf=2", content=png, timeout=30).status_code == 400
        wrong = httpx.post(f"{base}/classify", content=png, timeout=30)
        assert wrong.status_code == 400 and "/detect" in wrong.json()["error"]
    finally:
        server.stop()
