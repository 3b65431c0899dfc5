"""Inference workers side by side: every frame still shown once and in order, with the same
predictions as one worker; a predictor not built for concurrent calls gets one at a time; and
the live session's choice between one run on every core and one-thread runs side by side is
measured and said."""

from __future__ import annotations

import dataclasses
import re
import threading
import time

import numpy as np
import pytest

from edgekit.backends import compile_session
from edgekit.backends.onnxruntime import OrtOptions
from edgekit.models import load_model
from edgekit.vision import ArraySource, LivePipeline
from edgekit.vision._mailbox import InOrder

from .conftest import SlowPredictor


def _frames(n: int) -> tuple[list[np.ndarray], list[str]]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (120, 160, 3), np.uint8) for _ in range(n)], [str(i % 10) for i in range(n)]


@pytest.fixture(scope="module")
def one_thread_session(tiny_path):
    """The tiny model compiled to serve two calls at once, one thread each (as the live session
    keeps it when side by side is faster)."""
    session = compile_session(load_model(tiny_path), "onnxruntime", options=OrtOptions(threads=1))
    session.info = dataclasses.replace(session.info, workers=2)
    yield session
    session.close()


def _run(session, workers: int | None, callback: bool, n: int = 60) -> tuple[list[int], LivePipeline]:
    images, labels = _frames(n)
    shown: list[int] = []
    on_frame = (lambda live: shown.append(live.readouts.seq)) if callback else None
    pipe = LivePipeline(ArraySource(images, labels), session, drop=False, workers=workers, on_frame=on_frame)
    with pipe:
        assert pipe.wait(60)
    return shown, pipe


@pytest.mark.parametrize("callback", [False, True], ids=["rendered-by-workers", "render-thread"])
def test_two_workers_show_every_frame_once_in_order_with_one_workers_predictions(one_thread_session, callback):
    _, alone = _run(one_thread_session, 1, callback)
    shown, pipe = _run(one_thread_session, None, callback)  # None: the session's own workers (2)
    assert pipe.workers == 2
    assert [t.name for t in pipe._threads].count("edgekit-inference_loop-1") == 1
    if callback:
        assert shown == list(range(60))
    assert pipe.readouts.frames_displayed == pipe.readouts.frames_inferred == 60
    # the running confusion counts frames in the order shown: same truths, same predictions
    assert pipe._state.confusion.y_true == alone._state.confusion.y_true == [i % 10 for i in range(60)]
    assert pipe._state.confusion.y_pred == alone._state.confusion.y_pred
    assert pipe.summary()["readouts"]["frames_displayed"] == 60


class _Overlap(SlowPredictor):
    """A real session that notes how many calls were inside it at once."""

    def __init__(self, session, delay_s: float) -> None:
        super().__init__(session, delay_s)
        self.inside = self.most = 0
        self._lock = threading.Lock()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        try:
            return super().predict(batch)
        finally:
            with self._lock:
                self.inside -= 1


def test_a_predictor_built_for_one_call_gets_one_at_a_time_from_many_workers(tiny_session):
    serial = _Overlap(tiny_session, 0.01)  # info.workers == 1: an OpenVINO-like session
    images, _ = _frames(12)
    with LivePipeline(ArraySource(images), serial, drop=False, workers=3) as pipe:
        assert pipe.wait(30)
    assert serial.most == 1
    assert pipe.readouts.frames_displayed == 12


def test_workers_run_calls_side_by_side_when_the_session_serves_them(one_thread_session):
    overlapping = _Overlap(one_thread_session, 0.02)
    images, _ = _frames(12)
    with LivePipeline(ArraySource(images), overlapping, drop=False) as pipe:
        assert pipe.wait(30)
    assert pipe.workers == 2 and overlapping.most == 2


def test_a_failing_worker_ends_the_pipeline_with_its_error(one_thread_session):
    class Broken(SlowPredictor):
        def predict(self, batch):
            if self.calls_left == 0:
                raise RuntimeError("the device went away")
            self.calls_left -= 1
            return super().predict(batch)

    broken = Broken(one_thread_session, 0.0)
    broken.calls_left = 5
    images, _ = _frames(40)
    with LivePipeline(ArraySource(images), broken, drop=False) as pipe, \
            pytest.raises(RuntimeError, match="device went away"):
        pipe.wait(30)


def test_workers_must_be_positive(tiny_session):
    with pytest.raises(ValueError, match="workers must be >= 1"):
        LivePipeline(ArraySource(_frames(1)[0]), tiny_session, workers=0)


def test_results_finishing_out_of_order_are_handed_on_in_order():
    out: list[str] = []
    order = InOrder(out.append)
    tickets = [order.ticket() for _ in range(5)]
    order.done(tickets[2], "c")
    order.done(tickets[1], "b")
    assert out == []  # 0 not done yet
    order.done(tickets[0], "a")
    order.done(tickets[4], "e")
    order.done(tickets[3], None)  # a frame that failed: skipped, not waited for
    assert out == ["a", "b", "c", "e"]


def test_after_a_halt_no_result_is_handed_on_even_one_already_finished():
    out: list[str] = []
    order = InOrder(out.append)
    tickets = [order.ticket() for _ in range(3)]
    order.done(tickets[0], "a")
    order.done(tickets[2], "c")  # finished early, waiting for 1
    order.halt()  # frame 1 failed: the run ends
    order.done(tickets[1], "b")
    assert out == ["a"]


def _cores_of(path) -> int:
    session = compile_session(load_model(path), "onnxruntime")
    try:
        return int(session.info.threads or 1)
    finally:
        session.close()


@pytest.fixture(scope="module")
def model(tiny_path):
    if _cores_of(tiny_path) < 2:
        pytest.skip("one core: there is nothing to run side by side")
    return load_model(tiny_path)


def test_the_live_session_measures_both_forms_and_says_which_it_kept(model):
    from edgekit.vision.config import compile_live_session

    with compile_live_session(model, "onnxruntime") as session:
        notes = [n for n in session.info.notes if n.startswith("live workers:")]
        assert len(notes) == 1 and "frames/s" in notes[0] and "interleaved rounds" in notes[0]
        if session.info.workers > 1:  # one-thread runs side by side were faster here
            assert session.info.threads == 1 and "side by side, " in notes[0] and " beat one " in notes[0]
        else:
            assert session.info.threads >= 2 and "needed to use them" in notes[0]
        assert np.asarray(session.predict(np.zeros((1, 3, 32, 32), np.float32))).shape == (1, 10)
    # the rates shown agree with the ratio ("1886 frames/s, beat one 2-thread run, 1941 frames/s (x1.59)" did not)
    side = re.search(r"side by side, (\d+) frames/s, beat one \d+-thread run, (\d+) frames/s \(x([\d.]+)", notes[0])
    whole = re.search(r"run, (\d+) frames/s; \d+ one-thread runs side by side made (\d+) \(x([\d.]+)", notes[0])
    if side:
        side_fps, all_fps, ratio = (float(g) for g in side.groups())
    else:
        all_fps, side_fps, ratio = (float(g) for g in whole.groups())
    assert side_fps / all_fps == pytest.approx(ratio, abs=0.006 + 1.0 / all_fps)


def test_side_by_side_is_kept_only_when_faster_by_the_margin(model, monkeypatch):
    from edgekit.vision import _workers
    from edgekit.vision.config import compile_live_session

    monkeypatch.setattr(_workers, "MARGIN", 1e6)  # nothing is that much faster
    with compile_live_session(model, "onnxruntime") as session:
        assert session.info.workers == 1 and session.info.threads >= 2
        assert any(n.startswith("live workers: one ") and "needed to use them" in n for n in session.info.notes)


def test_a_model_too_slow_for_one_thread_is_not_split(model, monkeypatch):
    from edgekit.vision import _workers
    from edgekit.vision.config import compile_live_session

    monkeypatch.setattr(_workers, "LATENCY_BUDGET_MS", 0.0)  # every model is "too slow" for one thread
    with compile_live_session(model, "onnxruntime") as session:
        assert session.info.workers == 1
        assert any("not measured side by side" in n for n in session.info.notes)
        # "(51 on every core ms per frame; ...)" read garbled
        assert any(re.search(r"run \(\d+ ms per frame on (every core|one thread); one thread would", n)
                   for n in session.info.notes)


def test_workers_false_compiles_one_run_on_every_core(model):
    from edgekit.vision.config import compile_live_session

    with compile_live_session(model, "onnxruntime", workers=False) as session:
        assert session.info.workers == 1
        assert not any(n.startswith("live workers:") for n in session.info.notes)


def test_workers_read_a_file_themselves_and_a_live_source_keeps_its_capture_thread(one_thread_session):
    images, labels = _frames(30)
    with LivePipeline(ArraySource(images, labels), one_thread_session, drop=False) as pipe:
        names = [t.name for t in pipe._threads]
        assert pipe.wait(30)
    assert "edgekit-capture_loop" not in names and names.count("edgekit-inference_loop-2") == 1
    assert pipe.readouts.frames_displayed == 30 and pipe.summary()["cpu_ms_per_frame"]["preprocess"] > 0
    with LivePipeline(ArraySource(images, labels, fps=300, loop=True), one_thread_session) as live:
        names = [t.name for t in live._threads]
        deadline = time.monotonic() + 10
        while live.readouts.frames_displayed < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "edgekit-capture_loop" in names and live.readouts.frames_displayed >= 5


def test_a_paused_pipeline_whose_workers_read_reads_nothing_until_resumed(one_thread_session):
    images, _ = _frames(10)

    def captured(pipe) -> int:
        return pipe.summary()["readouts"]["frames_captured"]

    def until(condition) -> None:
        deadline = time.monotonic() + 10
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.02)

    with LivePipeline(ArraySource(images, loop=True), one_thread_session, drop=False) as pipe:
        until(lambda: captured(pipe) > 5)
        pipe.pause()
        time.sleep(0.2)  # a frame being read when paused finishes
        held = captured(pipe)
        time.sleep(0.3)
        assert captured(pipe) == held
        pipe.resume()
        until(lambda: captured(pipe) > held + 5)
        assert captured(pipe) > held + 5


def test_rates_count_frames_finishing_out_of_order_as_time_going_on(one_thread_session):
    """Frame 3 may finish before frame 2; counted in frame order, the times the rate meters keep must
    not step back (the windowed FPS reads the first and last of them)."""
    images, _ = _frames(4)
    pipe = LivePipeline(ArraySource(images), one_thread_session, drop=False)
    scores = np.zeros(10, np.float32)
    from edgekit.vision.pipeline import _Captured
    from edgekit.vision.sources.base import Frame

    for ticket, finished in enumerate([10.0, 10.02, 10.01, 10.04]):  # the third finished before the second
        item = _Captured(Frame(images[ticket], 9.9, ticket), None, None, ticket)
        pipe._inferred((item, scores, pipe._state, finished, 5.0))
    for meter in (pipe._infer_rate, pipe._state.rate):
        times = list(meter._times)
        assert times == sorted(times) and len(times) == 4 and times[-1] == 10.04
    assert pipe._infer_rate.windowed(10.04) == pytest.approx(3 / 0.04)


def test_a_model_slow_on_every_core_is_not_compiled_again(model, monkeypatch):
    from edgekit.vision import _workers
    from edgekit.vision.config import compile_live_session

    compiled: list[int] = []
    real = _workers.choose

    def counting(session, make_single, **kw):
        return real(session, lambda: compiled.append(1) or make_single(), **kw)

    monkeypatch.setattr(_workers, "LATENCY_BUDGET_MS", 0.0)
    monkeypatch.setattr(_workers, "choose", counting)
    with compile_live_session(model, "onnxruntime") as session:
        assert session.info.workers == 1 and session.info.threads >= 2
        assert any("on every core" in n and "not measured side by side" in n for n in session.info.notes)
    assert compiled == []  # the one-thread session was never made


def test_a_frame_the_workers_cannot_prepare_ends_the_run_with_a_clear_error(one_thread_session):
    from edgekit.errors import EdgekitError

    images, _ = _frames(6)
    images[4] = np.zeros((20, 20, 7), np.uint8)  # seven channels: no image a camera or file gives
    with LivePipeline(ArraySource(images), one_thread_session, drop=False) as pipe, \
            pytest.raises(EdgekitError, match="channel"):
        pipe.wait(30)
    assert pipe.finished and pipe.readouts.frames_displayed <= 4


def _counting_choose(monkeypatch) -> list[int]:
    """Patch ``_workers.choose`` to count the one-thread sessions it compiles."""
    from edgekit.vision import _workers

    compiled: list[int] = []
    real = _workers.choose
    monkeypatch.setattr(_workers, "choose",
                        lambda session, make_single, **kw: real(session, lambda: compiled.append(1) or make_single(), **kw))
    return compiled


def test_a_paced_source_keeps_the_form_that_answers_a_frame_sooner_at_its_pace(model, monkeypatch):
    """A camera at 30 frames/s: frames per second do not decide, how soon each frame comes back does;
    both forms timed at that pace, the note says which answered sooner and the session is that one."""
    import re

    from edgekit.vision.config import compile_live_session

    compiled = _counting_choose(monkeypatch)
    with compile_live_session(model, "onnxruntime", rate=30.0) as session:
        note = next(n for n in session.info.notes if n.startswith("live workers:"))
        assert "33 ms apart, as the source's 30 frames/s come" in note and "interleaved rounds" not in note
        ms = [float(x) for x in re.findall(r"([\d.]+) ms(?! apart)", note)]
        if session.info.workers > 1:
            assert session.info.threads == 1 and "sooner than one" in note and ms[0] * 1.05 < ms[1] + 0.01
        else:
            assert session.info.threads >= 2 and "sooner needed to switch" in note and ms[0] <= ms[1] * 1.05 + 0.01
        assert np.asarray(session.predict(np.zeros((1, 3, 32, 32), np.float32))).shape == (1, 10)
    assert compiled == [1]


def test_a_source_faster_than_the_all_cores_run_still_races_both_forms(model, monkeypatch):
    from edgekit.vision.config import compile_live_session

    compiled = _counting_choose(monkeypatch)
    with compile_live_session(model, "onnxruntime", rate=1e9) as session:
        assert any("interleaved rounds" in n for n in session.info.notes if n.startswith("live workers:"))
    assert compiled == [1]


def test_the_rate_of_a_source_is_known_before_it_opens(tmp_path):
    import cv2

    from edgekit.vision import DemoSource
    from edgekit.vision.config import LiveConfig, source_rate

    assert source_rate(LiveConfig(source="demo")) is None  # as fast as frames are used
    assert source_rate(LiveConfig(source="demo", fps=30)) == 30.0
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (64, 48))
    for i in range(6):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    assert source_rate(LiveConfig(source=str(video), fps=30)) == pytest.approx(12.0)  # paced at its own rate
    assert source_rate(LiveConfig(source=str(video))) is None
    assert source_rate(LiveConfig(source_obj=DemoSource(fps=25))) == 25.0
    assert source_rate(LiveConfig(source_obj=DemoSource())) is None


def test_the_demo_paced_like_a_camera_chooses_by_how_soon_a_frame_comes_back(model, tiny_path):
    """``edgekit demo --fps 30`` and the app's "Camera-like, 30 FPS" go through compile_sessions."""
    from edgekit.vision.config import LiveConfig, compile_sessions

    main, reference = compile_sessions(LiveConfig(model=tiny_path, backend="onnxruntime", source="demo", fps=30))
    with main:
        assert reference is None
        assert any(n.startswith("live workers:") and "as the source's 30 frames/s come" in n for n in main.info.notes)


def _fake_cameras(monkeypatch, **kwargs) -> list:
    """Every capture edgekit opens, at the hardware edge (an OpenCV capture granting 640x480 @ 30)."""
    from edgekit.vision.sources import camera as camera_module

    from .test_sources import FakeCapture

    opened: list = []

    def open_capture(target, *args):
        opened.append(FakeCapture(**kwargs))
        return opened[-1]

    monkeypatch.setattr(camera_module, "_open_capture", open_capture)
    return opened


def test_a_stream_asked_for_another_rate_is_chosen_for_at_the_rate_it_grants(tiny_path, monkeypatch):
    """The app's "Camera-like, 30 FPS" on a 25 FPS stream: the choice was made for 30 frames/s, the rate
    asked, which a stream cannot be asked for. It is opened first, as a camera at its default rate is."""
    from edgekit.vision.config import LiveConfig, sessions_and_source

    opened = _fake_cameras(monkeypatch)  # grants 30 frames/s whatever is asked
    config = LiveConfig(model=tiny_path, backend="onnxruntime", source="rtsp://127.0.0.1:9/live", fps=60)
    main, _, source = sessions_and_source(config)
    with main:
        assert len(opened) == 1 and source.info.granted_fps == 30.0
        assert any(n.startswith("live workers:") and "as the source's 30 frames/s come" in n for n in main.info.notes)
        source.close()


def test_a_camera_left_at_its_default_rate_is_opened_first_and_chosen_for_at_its_pace(tiny_path, monkeypatch):
    """``edgekit demo --source 0`` with no --fps: the camera grants 30 frames/s, so the session is chosen by how
    soon a frame comes back at that pace (not by frames/s it cannot use); the camera is opened once."""
    from edgekit.vision.config import LiveConfig, sessions_and_source
    from edgekit.vision.demo import run_demo

    opened = _fake_cameras(monkeypatch)
    main, reference, source = sessions_and_source(LiveConfig(model=tiny_path, backend="onnxruntime", source="0"))
    with main:
        assert reference is None and len(opened) == 1 and not opened[0].released  # open before compiling
        assert source.info.granted_fps == 30.0
        assert any(n.startswith("live workers:") and "as the source's 30 frames/s come" in n for n in main.info.notes)
        source.close()

    opened.clear()
    stats = run_demo(LiveConfig(model=tiny_path, backend="onnxruntime", source="0", seconds=0.5, window=False))
    assert len(opened) == 1 and opened[0].released  # the pipeline used the open camera, and closed it
    assert stats["readouts"]["frames_inferred"] > 0 and stats["source"]["granted_fps"] == 30.0
    assert any("as the source's 30 frames/s come" in n for n in stats["session"]["notes"])


def test_a_missing_camera_is_reported_before_any_model_is_compiled(tiny_path, monkeypatch):
    from edgekit.errors import SourceError
    from edgekit.vision import config as config_module
    from edgekit.vision.config import LiveConfig
    from edgekit.vision.demo import run_demo

    _fake_cameras(monkeypatch, opened=False)
    compiled: list = []
    monkeypatch.setattr(config_module, "_compile", lambda *a, **k: compiled.append(a))
    with pytest.raises(SourceError, match="camera 0 could not be opened"):
        run_demo(LiveConfig(model=tiny_path, backend="onnxruntime", source="0", seconds=0.5, window=False))
    assert compiled == []


def test_a_camera_that_tells_no_rate_is_raced_by_frames_per_second(tiny_path, monkeypatch):
    from edgekit.vision.config import LiveConfig, sessions_and_source

    from .test_sources import FakeCapture

    opened = _fake_cameras(monkeypatch)
    monkeypatch.setattr(FakeCapture, "get", lambda self, prop: 0)  # many USB cameras report 0 frames/s
    main, _reference, source = sessions_and_source(LiveConfig(model=tiny_path, backend="onnxruntime", source="0"))
    with main:
        assert len(opened) == 1 and source.info.granted_fps is None
        raced = [n for n in main.info.notes if n.startswith("live workers:")]
        assert raced and "frames/s" in raced[0] and "frames/s come" not in raced[0]  # as fast as frames are used
        source.close()
    assert opened[0].released
