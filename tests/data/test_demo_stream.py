"""The labelled demo stream: deterministic random access, runs of one digit, video export, and
frames that the demo model reads right on onnxruntime and OpenVINO."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from edgekit.data.demo_stream import DemoStream
from edgekit.errors import DataError, OutputExists


def test_frames_are_deterministic_and_randomly_accessible():
    a, b = DemoStream(seed=3, length=120), DemoStream(seed=3, length=120)
    img, label = a.frame(77)
    assert img.shape == (360, 480, 3) and img.dtype == np.uint8 and 0 <= label < 10
    seq = [frame for frame in a]
    assert np.array_equal(seq[77][0], img) and np.array_equal(b.frame(77)[0], img)
    assert not np.array_equal(DemoStream(seed=4, length=120).frame(77)[0], img)
    assert len(a) == 120 and a.fps == 30 and a.classes == tuple("0123456789")
    with pytest.raises(IndexError):
        a.frame(120)


@pytest.mark.parametrize("size", [(240, 320), (361, 479)])
def test_the_light_and_noise_are_the_plain_formula_made_faster(size):
    """``_light`` works in place and over rows for speed (it runs for every live demo frame); the
    pixels are still brightness x gradient + 4x4 sensor noise, clipped and truncated."""
    from edgekit.data.demo_stream import _light

    h, w = size
    rng = np.random.default_rng(5)
    for index in range(6):
        img = rng.uniform(-20, 280, (h, w, 3)).astype(np.float32)
        seconds = index / 30
        gain = 1.0 + 0.25 * np.sin(2 * np.pi * seconds / 7.0)
        gx = 0.35 * np.sin(2 * np.pi * seconds / 11.0)
        row = (gain * (1.0 + gx * np.linspace(-0.5, 0.5, w, dtype=np.float32))).astype(np.float32)
        noise_rng = np.random.default_rng([0, 11, index])
        small = noise_rng.normal(0, 3.0, (-(-h // 4), -(-w // 4))).astype(np.float32)
        noise = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        expected = np.clip(img * row[None, :, None] + noise[..., None], 0, 255).astype(np.uint8)
        got = _light(img.copy(), seconds, np.random.default_rng([0, 11, index]))
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("stream", ["digits", "detection"])
def test_played_in_order_the_next_scene_is_made_ahead_with_the_same_pixels(stream, monkeypatch):
    """A new digit or sheet every 1-2 s took 10-60 ms on the frame's own path (a skipped frame at a
    camera's 30 FPS); played in order, the next one is made on a background thread meanwhile."""
    import threading

    from edgekit.data import demo_stream, det_stream
    from edgekit.data.det_stream import DetectionDemoStream

    module, name = (demo_stream, "paper") if stream == "digits" else (det_stream, "render_scene")
    target = module.render if stream == "digits" else module
    original, makers = getattr(target, name), []

    def spy(*args, **kwargs):
        makers.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, spy)
    make = (lambda: DemoStream(seed=9173, length=200, size=(96, 128))) if stream == "digits" else (
        lambda: DetectionDemoStream(seed=9173, length=200, size=(96, 128)))
    played = make()
    frames = [played.frame(i)[0] for i in range(200)]
    assert makers[0] == "MainThread" and len(makers) >= 3  # the first scene: nothing was playing before it
    assert all(m == "demo-stream-ahead" for m in makers[1:]), makers
    jumped = make()  # random access makes nothing ahead, and the pixels are the same
    for i in (199, 0, 57, 120):
        assert np.array_equal(jumped.frame(i)[0], frames[i])


_EXIT_WHILE_MAKING = """
import builtins, sys, time
import cv2, numpy as np
from edgekit.data._ahead import Ahead

def make(key):  # a scene is many short OpenCV calls; each one takes the GIL back when it returns
    small, t0 = np.zeros((64, 64), np.float32), time.monotonic()
    while time.monotonic() - t0 < 1.0:
        cv2.GaussianBlur(small, (0, 0), 2)
    return key

class SlowTeardown:  # interpreter teardown lasts long enough for the maker to come back to Python
    def __del__(self):
        time.sleep(0.5)

Ahead(make).warm("next")
time.sleep(0.05)
builtins.slow_teardown = SlowTeardown()
sys.exit(130)  # as `edgekit demo` does after Ctrl-C
"""


def test_a_process_that_exits_while_the_next_scene_is_made_ends_with_its_own_status():
    """`edgekit demo --record` stopped with Ctrl-C wrote its video and JSON, then died with
    "terminate called without an active exception" (status 134, once in CI): a daemon thread still
    inside OpenCV when the interpreter tore down. Python waits for the maker thread now."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _EXIT_WHILE_MAKING], check=False, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 130, done.stderr
    assert "terminate called" not in done.stderr


def test_each_digit_stays_for_a_run_of_frames_and_moves():
    stream = DemoStream(seed=0, length=600)
    labels = stream.labels
    changes = np.flatnonzero(np.diff(labels)) + 1
    runs = np.diff(np.concatenate([[0], changes, [len(labels)]]))
    assert (runs[:-1] >= 30).all() and (runs <= 60).all() and len(set(labels.tolist())) >= 8
    first, last = stream.frame(0)[0], stream.frame(int(runs[0]) - 1)[0]
    assert np.abs(first.astype(int) - last.astype(int)).mean() > 2  # motion and light change


def test_bad_settings_raise():
    with pytest.raises(DataError, match="length"):
        DemoStream(length=0)


def test_export_video_and_labels(tmp_path):
    stream = DemoStream(seed=1, length=400, size=(120, 160))
    video, sidecar = stream.export_video(tmp_path / "demo.mp4", seconds=2, fps=15)
    assert video.name == "demo.mp4" and sidecar.name == "demo.csv"
    cap = cv2.VideoCapture(str(video))
    frames = 0
    while cap.read()[0]:
        frames += 1
    cap.release()
    assert frames == 30
    rows = list(csv.DictReader(sidecar.open()))
    assert len(rows) == 30 and rows[5]["label"] == stream.classes[stream.label(5)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.csv", "demo.mp4"]
    with pytest.raises(OutputExists):
        stream.export_video(video, seconds=1)


@pytest.fixture(scope="module")
def frames():
    stream = DemoStream(seed=1, length=1800)
    return [stream.frame(i) for i in range(0, 1800, 9)]  # 200 frames over ~40 digits


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_demo_model_reads_the_stream(frames, backend):
    pytest.importorskip(backend)
    from edgekit.backends import compile_session
    from edgekit.models import load_model

    model = load_model("demo:digits")
    with compile_session(model, backend) as session:
        preds = [int(session.predict(model.preprocess(img)).argmax()) for img, _ in frames]
    accuracy = float(np.mean([p == label for p, (_, label) in zip(preds, frames)]))
    assert len(frames) == 200 and accuracy >= 0.90, f"{backend}: {accuracy:.3f}"
