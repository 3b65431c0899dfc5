"""The lean live loop: input blobs reused frame after frame with the same pixels as before, overlays
drawn only for frames someone shows or records (and on every recorded one), CPU per stage reported."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from edgekit.detection.detector import prepare
from edgekit.detection.head import DetectorSpec
from edgekit.detection.types import DetectionConfig
from edgekit.models.preprocess import Preprocess
from edgekit.vision import ArraySource, LivePipeline
from edgekit.vision._blob import BlobWriter
from edgekit.vision.overlay import draw_overlay
from edgekit.vision.readouts import CPU_STAGES

from .conftest import SlowPredictor

FRAME_SHAPES = [(480, 640, 3), (240, 320, 3), (100, 80, 3), (64, 64), (300, 200, 4), (224, 224, 3),
                (1080, 1920, 3)]  # the last: halved before the final resize (models.preprocess.resize_to)
PREPROCESSES = [
    Preprocess(),
    Preprocess(resize="center_crop"),
    Preprocess(mean=(0.5,) * 3, std=(0.25,) * 3, resize="center_crop", crop_ratio=1.0),  # the demo digits
    Preprocess(size=(192, 256), resize="letterbox"),
    Preprocess(size=(28, 28), channel_order="GRAY"),
    Preprocess(size=(32, 48), layout="NHWC"),
    Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), channel_order="BGR"),
    Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), resize="center_crop"),  # ImageNet's
]


def _frames(n: int, shape=(480, 640, 3)) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, shape, np.uint8) for _ in range(n)]


@pytest.mark.parametrize("pre", PREPROCESSES, ids=lambda p: f"{p.resize}-{p.channel_order}-{p.layout}")
def test_the_reused_blob_holds_the_same_pixels_as_preprocess(pre):
    writer = BlobWriter(pre)
    rng = np.random.default_rng(0)
    for shape in FRAME_SHAPES:
        image = rng.integers(0, 256, shape, np.uint8)
        for _ in range(2):  # the second time through the reused buffers
            blob = writer.write(image)
            np.testing.assert_array_equal(blob, pre.batch([image]))
            writer.pool.release(blob)
    assert writer.pool.allocated == 1


@pytest.mark.parametrize("pad", ["center", "topleft"])
@pytest.mark.parametrize("shape", [(480, 640, 3), (640, 480, 3), (240, 320, 3), (100, 100, 3), (50, 70)])
def test_a_detectors_reused_letterbox_matches_detect_prepare(pad, shape):
    spec = DetectorSpec(DetectionConfig(pad=pad), size=(320, 320))
    pre = Preprocess(size=spec.size, scale=spec.scale, channel_order="RGB", resize="letterbox")
    writer = BlobWriter(pre, letterbox=(pad, spec.config.pad_value))
    for image in _frames(2, shape):  # the second frame lands on the first one's padded canvas
        blob = writer.write(image)
        np.testing.assert_array_equal(blob, prepare(image, spec)[0])
        writer.pool.release(blob)


def test_a_float16_models_reused_blob_holds_preprocess_pixels_in_float16():
    pre = PREPROCESSES[-1]  # ImageNet's, centre crop
    writer = BlobWriter(pre, dtype=np.float16)
    for image in _frames(2):
        blob = writer.write(image)
        assert blob.dtype == np.float16
        np.testing.assert_array_equal(blob, pre.batch([image]).astype(np.float16))
        writer.pool.release(blob)


class RecordingSession(SlowPredictor):
    """A real session that notes every input array it is given."""

    def __init__(self, session, delay_s: float = 0.0) -> None:
        super().__init__(session, delay_s)
        self.inputs: list[np.ndarray] = []
        self.copies: list[np.ndarray] = []

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.inputs.append(batch)
        self.copies.append(batch.copy())
        return super().predict(batch)


def test_the_session_is_fed_the_same_few_blobs_frame_after_frame(tiny_session):
    images = _frames(30)
    session = RecordingSession(tiny_session)
    with LivePipeline(ArraySource(images), session, drop=False) as pipe:
        assert pipe.wait(60)
    assert len(session.inputs) == 30
    assert len({id(b) for b in session.inputs}) <= 3  # one written, one waiting, one inferred
    pre = tiny_session.model.preprocess
    for image, seen in zip(images, session.copies, strict=True):  # what the model got: the old path's pixels
        np.testing.assert_array_equal(seen, pre.batch([image]))


def test_frames_nobody_shows_are_never_drawn(tiny_session):
    with LivePipeline(ArraySource(_frames(40)), tiny_session, drop=False) as pipe:
        assert pipe.wait(60)
    summary = pipe.summary()
    assert summary["readouts"]["frames_displayed"] == 40
    assert pipe.frames_drawn == 0 and summary["frames_drawn"] == 0


def test_a_slow_display_draws_only_the_frames_it_takes(tiny_session):
    taken = []
    pipe = LivePipeline(ArraySource(_frames(60), loop=True), tiny_session)
    with pipe:
        for annotated, readouts in pipe.results(timeout=10):
            taken.append((annotated, readouts))
            time.sleep(0.1)  # a display slower than the model
            if len(taken) == 8:
                break
        processed = pipe.readouts.frames_displayed
    assert processed > len(taken), (processed, len(taken))  # the pipeline ran ahead of the display...
    assert pipe.frames_drawn == len(taken)  # ...and drew only what the display took
    annotated, readouts = taken[-1]
    assert annotated.shape == (480, 640, 3) and readouts.topk


def test_a_frames_readouts_read_after_the_stream_moved_on_are_that_frames(tiny_session):
    """A classifier's readouts are made when first read (frames nobody reads cost no top-k): read
    late, they still hold that frame's top-k and the counts as they were when it was shown."""
    frames = _frames(40)
    with LivePipeline(ArraySource(frames), tiny_session, drop=False) as pipe:
        first = next(pipe.frames(timeout=10))
        assert pipe.wait(60)
    final = pipe.readouts
    got = first.readouts  # made only now, after the last frame
    assert final.frames_displayed == 40 and got.seq < final.seq
    assert got.frames_displayed == got.seq + 1 < 40  # every frame shown in order, none since counted
    scores = tiny_session.predict(tiny_session.model.preprocess.batch([first.image])).reshape(-1)
    want = sorted(range(scores.size), key=lambda i: -scores[i])[:len(got.topk)]
    assert [label for label, _ in got.topk] == [tiny_session.model.labels[i] for i in want]
    assert first.readouts is got  # made once


class _WhoRenders(LivePipeline):
    """Notes which thread made each frame's readouts."""

    def _render(self, item, status_only=False):
        self.renderers = getattr(self, "renderers", set()) | {threading.current_thread().name}
        super()._render(item, status_only)


def test_a_classifier_without_callbacks_is_shown_by_the_thread_that_inferred_it(tiny_session):
    """No hand-off per frame (it woke a thread on the cores inference uses, hundreds of times a
    second): every frame is still shown, in order, and ``latest`` holds the newest."""
    pipe = _WhoRenders(ArraySource(_frames(40)), tiny_session, drop=False)
    with pipe:
        seqs = [readouts.seq for _, readouts in pipe.results(timeout=10)]
        assert pipe.wait(60)
    assert pipe.renderers == {"edgekit-inference_loop"}
    assert pipe.summary()["readouts"]["frames_displayed"] == 40
    assert seqs == sorted(seqs) and pipe.latest is not None and pipe.latest.readouts.seq == 39
    assert pipe.readouts.seq == 39 and pipe.readouts.topk


def test_a_slow_callback_keeps_the_render_thread_not_inference(tiny_session):
    """``on_frame`` (a recorder encodes every frame) runs on the render thread: with a live
    source the model keeps its pace while the callback takes only what it can."""
    slow = []
    pipe = _WhoRenders(ArraySource(_frames(20), loop=True), tiny_session, drop=True,
                       on_frame=lambda live: slow.append(time.sleep(0.05)))
    with pipe:
        time.sleep(1.0)
        inferred, shown = pipe._infer_rate.count, len(slow)
    assert pipe.renderers == {"edgekit-render_loop"}
    assert inferred > 3 * shown, (inferred, shown)


def test_a_recorder_attached_mid_run_gets_every_frame_in_order_then_none(tiny_session):
    """The app's Record button sets ``on_frame`` while frames flow and clears it when done: from
    then on every frame reaches it, in order, on the render thread; once cleared no more do, and
    frames are again shown where they were inferred, never an older one after a newer one."""
    recorded, seen = [], []
    pipe = _WhoRenders(ArraySource(_frames(30), loop=True), tiny_session, drop=False)
    with pipe:
        seen.extend(live.readouts.seq for _, live in zip(range(20), pipe.frames(timeout=10), strict=False))
        pipe.on_frame = lambda live: recorded.append((live.readouts.seq, threading.current_thread().name))
        while len(recorded) < 50:
            time.sleep(0.02)
        pipe.on_frame = None
        stopped_at = len(recorded)
        time.sleep(0.2)  # the frames already handed to the render thread are shown by it
        pipe.renderers = set()
        after = [live.readouts.seq for _, live in zip(range(20), pipe.frames(timeout=10), strict=False)]
    seqs = [s for s, _ in recorded]
    assert {name for _, name in recorded} == {"edgekit-render_loop"}
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs  # every frame once recording began
    assert len(recorded) <= stopped_at + 1  # at most the call under way when it was cleared
    assert pipe.renderers == {"edgekit-inference_loop"}
    assert after == sorted(after) and after[0] >= seqs[-1] and seen == sorted(seen)


@pytest.fixture(scope="module")
def detector():
    from edgekit.models import load_model
    from edgekit.vision.config import compile_live_session

    session = compile_live_session(load_model("demo:digits-det"), "onnxruntime")
    yield session
    session.close()


def test_every_recorded_frame_is_drawn_with_its_boxes_into_one_buffer(detector):
    from edgekit.vision.sources.generated import DetectionDemoSource

    recorded, lock = [], threading.Lock()
    buffer: dict = {}

    def on_frame(live) -> None:  # a recorder: draws each frame into one reused buffer, keeps a copy
        canvas = live.annotated(out=buffer.get("canvas"))
        assert buffer.setdefault("canvas", canvas) is canvas  # the same buffer every time
        with lock:
            recorded.append((live.image, live.readouts, canvas.copy()))

    pipe = LivePipeline(DetectionDemoSource(length=12, loop=False), detector, on_frame=on_frame, drop=False)
    with pipe:
        assert pipe.wait(60)
    assert len(recorded) == 12 and pipe.frames_drawn == 12
    assert sum(len(r.detections) for _, r, _ in recorded) > 0
    for image, readouts, canvas in recorded:
        np.testing.assert_array_equal(canvas, draw_overlay(image, readouts))  # boxes and labels drawn
        if readouts.detections:
            assert not np.array_equal(canvas, draw_overlay(image, _without_boxes(readouts)))


def _without_boxes(readouts):
    from dataclasses import replace

    return replace(readouts, detections=())


def test_cpu_per_stage_is_reported_and_adds_up_to_at_most_the_total(tiny_session):
    frames: list = []
    pipe = LivePipeline(ArraySource(_frames(30)), RecordingSession(tiny_session, 0.002), drop=False,
                        on_frame=lambda live: frames.append(live.readouts.cpu_ms) or live.annotated())
    with pipe:
        assert pipe.wait(60)
    cpu = pipe.summary()["cpu_ms_per_frame"]
    assert set(CPU_STAGES) <= set(cpu) and {"total", "beyond_inference"} <= set(cpu)
    assert all(cpu[stage] >= 0 for stage in CPU_STAGES)
    assert cpu["preprocess"] > 0 and cpu["draw"] > 0  # 640x480 frames resized, 30 overlays drawn
    assert sum(cpu[stage] for stage in CPU_STAGES) <= cpu["total"] * (1 + 1e-9)
    assert cpu["beyond_inference"] == pytest.approx(cpu["total"] - cpu["inference"])
    for each in frames[1:]:  # what the readouts showed on every frame
        assert all(each[stage] >= 0 for stage in CPU_STAGES)
        assert sum(each[stage] for stage in CPU_STAGES) <= each["total"] * (1 + 1e-9)


def test_dropped_frames_give_their_blob_back(tiny_session):
    session = RecordingSession(tiny_session, delay_s=0.02)  # slower than the source: frames are dropped
    pipe = LivePipeline(ArraySource(_frames(10), loop=True), session, drop=True)
    with pipe:
        next(iter(pipe.results(timeout=10)))
        time.sleep(0.5)
    assert pipe.summary()["readouts"]["dropped_before_inference"] > 10
    assert len({id(b) for b in session.inputs}) <= 3
    assert pipe._state.predictor._writer.pool.allocated <= 3


def test_the_per_frame_readouts_copy_equals_dataclasses_replace(tiny_session):
    import dataclasses

    from edgekit.vision.pipeline import _with
    from edgekit.vision.readouts import Readouts

    images = _frames(3, (60, 80, 3))
    with LivePipeline(ArraySource(images), tiny_session, drop=False) as pipe:
        assert pipe.wait(30)
    base = pipe.readouts
    fields = {"seq": 99, "topk": (("3", 0.5),), "truth": "3", "frames_displayed": 7, "dropped": 2}
    fast, slow = _with(base, fields), dataclasses.replace(base, **fields)
    assert type(fast) is Readouts and fast == slow and fast is not base
    assert base.seq != 99  # the frame it was copied from is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.seq = 1


def test_softmax_of_a_few_scores_matches_numpy():
    from edgekit.vision.predictors import to_probabilities

    rng = np.random.default_rng(5)
    for shape in [(10,), (1, 10), (64,), (65,), (1000,)]:
        scores = (rng.standard_normal(shape) * 8).astype(np.float32)
        want = np.exp(scores.astype(np.float64) - scores.max())
        got = to_probabilities(scores)
        assert got.shape == shape and got.dtype == np.float64
        np.testing.assert_allclose(got, want / want.sum(), rtol=1e-12, atol=1e-15)
    probs = np.full(10, 0.1, np.float32)  # already probabilities: kept
    np.testing.assert_array_equal(to_probabilities(probs), probs.astype(np.float64))
