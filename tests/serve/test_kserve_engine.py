"""``edgekit serve --engine kserve``: what KServe's ModelServer adds around the bundle.

Worker processes (each re-verifies the bundle), ``/metrics`` for Prometheus, the v1 image
convenience path answering what ``Predictor.predict`` answers, and loopback-only sockets.
KServe runs in a child process: importing it here would break tritonclient.grpc (same protobuf package).
"""

from __future__ import annotations

import base64
import importlib.util

import numpy as np
import pytest

from edgekit.cli import main

from ..deployment.conftest import images

pytestmark = pytest.mark.skipif(importlib.util.find_spec("kserve") is None,
                                reason="KServe is not installed (pip install 'edgekit[kserve]')")


@pytest.fixture(scope="module")
def kserve2(bundle):
    """KServe with two uvicorn worker processes."""
    from edgekit.serve.launch import start

    running = start("kserve", bundle, workers=2, timeout_s=180)
    yield running
    running.stop()


def _png(image: np.ndarray) -> str:
    import cv2

    ok, data = cv2.imencode(".png", image)
    assert ok
    return base64.b64encode(data.tobytes()).decode()


@pytest.mark.slow
def test_image_path_answers_what_the_predictor_answers(kserve2, bundle):
    import httpx

    from edgekit.deployment import Predictor

    pictures = [img for img, _ in images(3, seed=5)]
    body = {"instances": [{"image_bytes": {"b64": _png(p)}} for p in pictures], "parameters": {"top_k": 2}}
    reply = httpx.post(f"http://{kserve2.http}/v1/models/{kserve2.model}:predict", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    got = reply.json()["predictions"]
    with Predictor.open(bundle) as predictor:
        expected = [predictor.predict(p, k=2) for p in pictures]
    assert [(g["label"], g["index"]) for g in got] == [(e.label, e.index) for e in expected]
    assert [len(g["topk"]) for g in got] == [2, 2, 2]
    np.testing.assert_allclose([g["score"] for g in got], [e.score for e in expected], rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("instances", [
    [{"image_bytes": {"b64": "not base64!"}}],
    [{"image_bytes": {"b64": base64.b64encode(b"GIF89a....").decode()}}],
    [{"image": "no image_bytes key"}],
    [],
])
def test_image_path_refuses_bad_uploads_with_400_and_json(kserve2, instances):
    import httpx

    reply = httpx.post(f"http://{kserve2.http}/v1/models/{kserve2.model}:predict", json={"instances": instances},
                       timeout=30)
    assert reply.status_code == 400 and reply.json()["error"]


def _predictions_counted(text: str, model: str) -> float:
    """``request_predict_seconds_count`` for ``model`` in a Prometheus scrape (0 when absent)."""
    key = f'request_predict_seconds_count{{model_name="{model}"}}'
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(key))


@pytest.mark.slow
def test_metrics_count_every_workers_requests_in_every_scrape(kserve2):
    """Two workers: a scrape lands on either, and each must count all predictions (CI once saw
    three predictions and a scrape with none: each worker had counted only its own)."""
    import httpx

    body = {"instances": [{"image_bytes": {"b64": _png(images(1, seed=9)[0][0])}}]}
    before = _predictions_counted(httpx.get(f"http://{kserve2.http}/metrics", timeout=30).text, kserve2.model)
    for _ in range(6):  # a new connection each: the kernel hands them to either worker
        assert httpx.post(f"http://{kserve2.http}/v1/models/{kserve2.model}:predict", json=body, timeout=30).is_success
    counts = [_predictions_counted(httpx.get(f"http://{kserve2.http}/metrics", timeout=30).text, kserve2.model)
              for _ in range(6)]
    assert counts == [before + 6] * 6


@pytest.mark.slow
def test_workers_log_no_line_per_request(kserve2):
    """A spawned worker configures logging anew: the parent's quieting must reach it (it did not:
    three lines per request, access log and trace timings, from each worker)."""
    import httpx

    body = {"instances": [{"image_bytes": {"b64": _png(images(1, seed=9)[0][0])}}]}
    for _ in range(4):
        assert httpx.post(f"http://{kserve2.http}/v1/models/{kserve2.model}:predict", json=body, timeout=30).is_success
    log = kserve2.log.read_text(errors="replace")
    assert "Started child process" in log  # the workers' lines are in this log
    assert ":predict" not in log and "kserve.trace" not in log
    assert "Warning" not in log  # FastAPI's deprecation of KServe's response class, printed on the first request


@pytest.mark.slow
def test_both_ports_listen_on_loopback_only(kserve2):
    import psutil

    ports = {int(kserve2.http.rsplit(":", 1)[1]), int(kserve2.grpc.rsplit(":", 1)[1])}
    procs = [psutil.Process(kserve2.proc.pid), *psutil.Process(kserve2.proc.pid).children(recursive=True)]
    def sockets(proc):  # psutil < 6 (kserve pins it) names it connections()
        return (getattr(proc, "net_connections", None) or proc.connections)(kind="inet")

    listening = [c for p in procs for c in sockets(p) if c.status == psutil.CONN_LISTEN]
    found = {c.laddr.port: c.laddr.ip for c in listening if c.laddr.port in ports}
    assert set(found) == ports
    assert all(ip in ("127.0.0.1", "::ffff:127.0.0.1") for ip in found.values()), found


def test_an_unknown_engine_is_one_clear_error(bundle, capsys):
    assert main(["serve", str(bundle), "--engine", "torchserve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "--engine 'torchserve' is not known" in err and "kserve" in err


def test_a_grpc_port_in_use_names_the_grpc_flag(bundle, capsys):
    """KServe's default gRPC port (8081) taken by another program: the refusal said "pick another
    --port", the HTTP port's flag, which changes nothing."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert main(["serve", str(bundle), "--engine", "kserve", "--port", "0", "--grpc-port", str(busy)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"cannot listen on 127.0.0.1:{busy}" in err and "pick another --grpc-port" in err


@pytest.mark.slow
def test_workers_serve_a_zip_from_one_extraction_removed_at_stop(bundle, tmp_path, monkeypatch):
    """Each worker extracted the zip again and, ending by ``os._exit`` or its parent's SIGTERM, never
    removed it: every stop of ``--workers 2`` (Ctrl-C to the server, ``kill``, a pod's SIGTERM) left two
    copies of the model in the temp folder. The workers now read the server's own verified extraction."""
    import httpx

    from edgekit.serve.launch import start

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # the server's temp folder, read by its processes at start
    running = start("kserve", bundle, workers=2, timeout_s=180)
    try:
        picture = images(1, seed=5)[0][0]
        body = {"instances": [{"image_bytes": {"b64": _png(picture)}}]}
        replies = [httpx.post(f"http://{running.http}/v1/models/{running.model}:predict", json=body, timeout=30)
                   for _ in range(4)]
        assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
        assert len(list(temp.glob("edgekit-bundle-*"))) == 1
    finally:
        running.stop()  # SIGINT to the server, as a user's `kill -INT` or a supervisor sends
    assert not list(temp.glob("edgekit-bundle-*"))
