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


def test_the_readme_makes_the_scene_its_serve_example_sends(tmp_path):
    """The README's serve example sent ``scene.png``, which a new user did not have; its one python line
    writes a held-out digit scene, in which the bundled detector finds digits."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    from edgekit.detection import Detector
    from edgekit.models import load_model

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    line = re.search(r'^python -c "(.+scene\.png.+)"$', readme, re.MULTILINE)
    assert line, "the README no longer says how to make scene.png"
    subprocess.run([sys.executable, "-c", line.group(1)], cwd=tmp_path, check=True, timeout=120)
    image = cv2.imread(str(tmp_path / "scene.png"))
    assert image is not None and image.ndim == 3
    assert Detector.open(load_model("demo:digits-det")).detect(image)  # digits on it, as the example shows
