"""The live pipeline on real sessions: accuracy, dropping, reopening, A/B, odd frames."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.vision import ArraySource, CameraSource, DemoSource, LivePipeline, SyntheticSource
from edgekit.vision.sources import camera as camera_module

from .conftest import SlowPredictor


def run_to_end(pipe: LivePipeline, timeout: float = 120.0) -> LivePipeline:
    with pipe:
        assert pipe.wait(timeout), "the pipeline did not finish"
    return pipe


def test_accuracy_readouts_match_evaluate_on_the_same_frames(digits_session):
    from edgekit.data.demo_stream import DemoStream
    from edgekit.evaluation.accuracy import evaluate

    seed, n, size = 3, 120, (120, 160)
    pipe = run_to_end(LivePipeline(DemoSource(seed=seed, length=n, size=size, loop=False), digits_session))
    expected = evaluate(digits_session, DemoStream(seed=seed, length=n, size=size), batch_size=1).metrics
    acc = pipe.readouts.accuracy
    assert pipe.readouts.frames_inferred == n and pipe.readouts.dropped == 0
    assert acc.n == n and acc.correct == round(expected.accuracy * n)
    assert acc.accuracy == pytest.approx(expected.accuracy)
    assert (acc.low, acc.high) == pytest.approx(expected.accuracy_ci)
    assert acc.precision == pytest.approx(expected.macro_precision)
    assert acc.recall == pytest.approx(expected.macro_recall)
    assert acc.f1 == pytest.approx(expected.macro_f1)
    assert pipe.summary()["metrics"]["accuracy"] == pytest.approx(expected.accuracy)


def test_a_slow_model_drops_stale_frames_and_counts_them(tiny_session):
    source = SyntheticSource(size=(60, 80), fps=200, length=150)  # live: 200 FPS, model ~30 FPS
    pipe = run_to_end(LivePipeline(source, SlowPredictor(tiny_session, 0.03)))
    r = pipe.readouts
    assert r.frames_captured == 150
    assert r.dropped_before_inference > 0 and r.frames_inferred < 100
    assert r.frames_captured == r.frames_inferred + r.dropped_before_inference
    assert r.frames_inferred == r.frames_displayed + r.dropped_before_display
    assert r.dropped == r.dropped_before_inference + r.dropped_before_display


def test_a_file_like_source_is_not_dropped_behind_a_slow_model(tiny_session):
    pipe = run_to_end(LivePipeline(SyntheticSource(size=(60, 80), length=20), SlowPredictor(tiny_session, 0.01)))
    assert pipe.readouts.frames_displayed == 20 and pipe.readouts.dropped == 0


class FlakyCaptures:
    """Hardware edge: the camera works for 5 frames, is then unplugged, fails to
    open twice, then works again."""

    def __init__(self, fake_capture):
        self.plan = [fake_capture(frames=5), fake_capture(opened=False), fake_capture(opened=False),
                     fake_capture(frames=None)]
        self.opens = 0

    def __call__(self, target, *args):
        capture = self.plan[min(self.opens, len(self.plan) - 1)]
        self.opens += 1
        return capture


def test_a_camera_that_fails_mid_run_is_reopened(tiny_session, monkeypatch):
    from .test_sources import FakeCapture

    captures = FlakyCaptures(FakeCapture)
    monkeypatch.setattr(camera_module, "_open_capture", captures)
    seen = []
    with LivePipeline(CameraSource(0), tiny_session) as pipe:
        for _, readouts in pipe.results(timeout=10):
            seen.append(readouts)
            if readouts.source_reopens and readouts.frames_displayed >= 10:
                break
    assert captures.opens == 4
    errors = [r.source_error for r in seen if r.source_error]
    assert errors and "could not be opened" in errors[-1]
    after = [r for r in seen if r.source_reopens == 1 and r.source_error is None]
    assert after and after[-1].frames_displayed > 5


def test_a_stream_that_never_gives_a_frame_says_why_in_its_readouts(tiny_session, monkeypatch):
    """Before any frame is shown the readouts carry the source's name, time run and last error
    (they were an empty run of zeros that ended at 0.0 s)."""
    import time

    from .test_sources import FakeCapture

    monkeypatch.setattr(camera_module, "_open_capture", lambda target, *a: FakeCapture(frames=0))
    with LivePipeline(CameraSource("http://127.0.0.1:9/clip.mp4"), tiny_session) as pipe:
        deadline = time.monotonic() + 10
        while not pipe.readouts.source_reopens and time.monotonic() < deadline:
            time.sleep(0.05)
    r = pipe.readouts
    assert r.frames_captured == 0 and r.source_reopens >= 1
    assert r.source == "http://127.0.0.1:9/clip.mp4" and r.elapsed_s > 0
    assert "gave no frame" in r.source_error and "range requests" in r.source_error


def test_a_stream_that_keeps_failing_is_reopened_less_and_less_often(tiny_session, monkeypatch):
    """It opens, then gives no frame: reopened every 0.25 s it was hit 52 times in 14 s."""
    import itertools
    import time

    from .test_sources import FakeCapture

    opened: list[float] = []
    monkeypatch.setattr(camera_module, "_open_capture",
                        lambda target, *a: opened.append(time.monotonic()) or FakeCapture(frames=0))
    with LivePipeline(CameraSource("http://127.0.0.1:9/clip.mp4"), tiny_session):
        deadline = time.monotonic() + 20
        while len(opened) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    gaps = [b - a for a, b in itertools.pairwise(opened)]
    assert len(gaps) >= 4, opened
    assert all(gap >= 0.25 * 2**i for i, gap in enumerate(gaps[:4])), gaps  # 0.25, 0.5, 1, 2 s at least


def run_ab_with_itself(tiny_path, tiny_session, frames: int, every: int) -> LivePipeline:
    """The tiny model against a second session of itself, run to the end on random frames."""
    from edgekit.backends import compile_session
    from edgekit.models import load_model

    images = [np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8) for i in range(frames)]
    reference = compile_session(load_model(tiny_path), "onnxruntime")
    try:
        return run_to_end(LivePipeline(ArraySource(images), tiny_session, reference=reference, reference_every=every))
    finally:
        reference.close()


def test_ab_agreement_of_a_model_with_itself_is_total(tiny_path, tiny_session):
    pipe = run_ab_with_itself(tiny_path, tiny_session, frames=40, every=2)
    ab = pipe.summary()["readouts"]["ab"]
    assert ab["every"] == 2
    assert 0 < ab["compared"] <= 20 and ab["agree"] == ab["compared"] and ab["agreement"] == 1.0
    assert ab["reference"]["frames"] == ab["compared"]
    assert ab["reference"]["latency"]["n"] == ab["compared"]  # the summary's percentiles are fresh, not cached


def test_latency_percentiles_are_reused_within_max_age_and_fresh_when_forced():
    from edgekit.vision._meters import LatencyWindow

    window = LatencyWindow()
    window.add(1.0)
    assert window.percentiles(now=10.0, max_age=0.1) == (1.0, 1.0, 1)
    window.add(3.0)
    assert window.percentiles(now=10.05, max_age=0.1) == (1.0, 1.0, 1)  # cached: under 0.1 s old
    assert window.percentiles(now=10.05) == (2.0, pytest.approx(2.9), 2)  # max_age 0: computed now
    assert window.percentiles(now=10.2, max_age=0.1)[2] == 2


def test_gray_rgba_odd_sizes_and_4k_frames_are_handled(tiny_session):
    images = [
        np.full((240, 320), 128, np.uint8),
        np.full((240, 320, 4), 200, np.uint8),
        np.random.default_rng(0).integers(0, 255, (333, 517, 3), dtype=np.uint8),
        np.zeros((2160, 3840, 3), np.uint8),
        np.zeros((17, 9, 3), np.uint8),
    ]
    shown = []
    pipe = run_to_end(LivePipeline(ArraySource(images), tiny_session, on_result=lambda f, r: shown.append((f, r))))
    assert pipe.readouts.frames_displayed == len(images)
    sizes = [r.frame_size for _, r in shown]
    assert sizes == [(320, 240), (320, 240), (517, 333), (3840, 2160), (9, 17)]
    for frame, _ in shown:
        assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert shown[3][0].shape[:2] == (2160, 3840) and shown[4][0].shape[0] >= 240


class CountingSource(SyntheticSource):
    opens = 0

    def open(self):
        self.opens += 1
        super().open()


def test_switching_predictor_keeps_the_source_running(tiny_session, digits_session):
    source = CountingSource(size=(60, 80), fps=100)
    with LivePipeline(source, tiny_session) as pipe:
        first = next(iter(pipe.results(timeout=10)))[1]
        pipe.set_predictor(SlowPredictor(tiny_session, 0.001))
        pipe.set_predictor(digits_session, name="switched")
        for _, r in pipe.results(timeout=10):
            if r.predictor.name == "switched" and r.predictor.frames > 3:
                break
    assert r.predictor.name == "switched" and r.predictor.badge == "onnxruntime CPU fp32"
    assert r.frames_captured > first.frames_captured and source.opens == 1 and r.source_reopens == 0
    assert r.predictor.frames < r.frames_inferred  # the new predictor's count started at the switch


def test_declared_ground_truth_counts_live_frames(tiny_session):
    image = np.random.default_rng(5).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    with LivePipeline(ArraySource([image], fps=100, loop=True), tiny_session) as pipe:
        r = next(iter(pipe.results(timeout=10)))[1]
        assert r.accuracy is None and r.truth is None
        predicted = r.topk[0][0]
        pipe.set_ground_truth(predicted)
        for _, r in pipe.results(timeout=10):
            if r.accuracy and r.accuracy.n >= 5:
                break
        right = r.accuracy
        pipe.set_ground_truth("9" if predicted != "9" else "8")
        for _, r in pipe.results(timeout=10):
            if r.accuracy.n >= right.n + 5:
                break
    assert right.declared and right.accuracy == 1.0 and r.truth != predicted
    assert r.accuracy.n > r.accuracy.correct >= right.correct


def test_pause_stops_capture(tiny_session):
    import time

    with LivePipeline(SyntheticSource(size=(60, 80), fps=100), tiny_session) as pipe:
        next(iter(pipe.results(timeout=10)))
        pipe.pause()
        time.sleep(0.3)
        count = pipe.readouts.frames_captured
        time.sleep(0.3)
        assert pipe.paused and pipe.readouts.frames_captured == count
        pipe.resume()
        for _, r in pipe.results(timeout=10):
            if r.frames_captured > count:
                break
    assert r.frames_captured > count


def test_a_failing_predictor_surfaces_its_error(tiny_session):
    class Broken(SlowPredictor):
        def predict(self, batch):
            raise RuntimeError("runtime crashed")

    pipe = LivePipeline(SyntheticSource(size=(60, 80), length=10), Broken(tiny_session, 0))
    with pipe, pytest.raises(RuntimeError, match="runtime crashed"):
        pipe.wait(10)


def test_folder_labels_are_counted_against_the_model_labels(tmp_path, tiny_session):
    import cv2

    rng = np.random.default_rng(1)
    for name in ("3", "8", "cat"):  # "cat" is no class of the model: always wrong
        (tmp_path / name).mkdir()
        for i in range(3):
            cv2.imwrite(str(tmp_path / name / f"{i}.png"), rng.integers(0, 255, (40, 50, 3), dtype=np.uint8))
    from edgekit.vision import FolderSource

    pipe = run_to_end(LivePipeline(FolderSource(tmp_path), tiny_session))
    acc = pipe.readouts.accuracy
    assert acc.n == 9 and not acc.declared
    metrics = pipe.summary()["metrics"]
    assert metrics["classes"][-1] == "cat" and metrics["support"][-1] == 3 and metrics["recall"][-1] == 0.0
    assert acc.correct == sum(metrics["confusion"][i][i] for i in range(len(metrics["classes"])))


def test_a_deployment_bundle_predictor_drives_the_pipeline(tmp_path, tiny_path, tiny_session):
    deploy_mod = pytest.importorskip("edgekit.deployment")
    bundle = deploy_mod.deploy(tiny_path, out=tmp_path / "bundle", backend="onnxruntime", samples=4)
    images = [np.random.default_rng(i).integers(0, 255, (48, 64, 3), dtype=np.uint8) for i in range(6)]
    with deploy_mod.Predictor.open(bundle) as predictor:
        expected = [predictor.predict(img).label for img in images]
        shown = []
        run_to_end(LivePipeline(ArraySource(images), predictor, on_result=lambda f, r: shown.append(r)))
    assert [r.topk[0][0] for r in shown] == expected
    assert shown[-1].predictor.backend == "onnxruntime"


def test_ab_readout_shows_a_and_b_on_the_same_frame(tiny_path, tiny_session):
    from edgekit.vision.readouts import Readouts

    pipe = run_ab_with_itself(tiny_path, tiny_session, frames=30, every=3)
    ab = pipe.summary()["readouts"]["ab"]
    pair = ab["last_frame"]
    assert pair is not None and pair["seq"] % 3 == 0  # a frame the reference ran on
    assert pair["a_label"] == pair["b_label"] == ab["last_label"]
    assert 0.0 < pair["a_confidence"] <= 1.0 and pair["b_confidence"] == pytest.approx(pair["a_confidence"], abs=1e-4)
    again = Readouts.from_dict(pipe.summary()["readouts"])
    assert again.ab.last_frame.agree and again.ab.last_frame.seq == pair["seq"]


def test_a_true_label_named_twice_among_the_classes_counts_as_the_first(tiny_session):
    """ImageNet names two classes "crane" (and two "maillot"): a frame labelled "crane" is counted
    against the first of them, as ``edgekit eval`` does; a name no class has is always wrong."""
    image = np.random.default_rng(7).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    with LivePipeline(ArraySource([image], fps=100, loop=True), tiny_session) as pipe:
        predicted = int(next(iter(pipe.results(timeout=10)))[1].topk[0][0])
    names = [f"class {i}" for i in range(10)]
    twice = (predicted + 1) % 10
    names[predicted] = names[twice] = "crane"  # the predicted class is the first or the second "crane"
    first = min(predicted, twice)
    frames = [image] * 6
    pipe = run_to_end(LivePipeline(ArraySource(frames, ["crane"] * 3 + ["okapi"] * 3), tiny_session,
                                   labels=names))
    acc = pipe.readouts.accuracy
    metrics = pipe.summary()["metrics"]
    assert acc.n == 6 and acc.correct == (3 if predicted == first else 0)
    assert metrics["classes"][-1] == "okapi" and metrics["support"][first] == 3


class HangingSource(SyntheticSource):
    """A camera whose read hangs (an unplugged USB device) until ``release`` is set, and which notes
    whether it was closed while a read was still running (what crashes an OpenCV capture)."""

    def __init__(self, **kwargs) -> None:
        import threading

        super().__init__(**kwargs)
        self.hang, self.hung, self.release = threading.Event(), threading.Event(), threading.Event()
        self.closed = threading.Event()
        self.reading = 0
        self.closed_mid_read = False

    def read(self):
        self.reading += 1
        try:
            if self.hang.is_set():
                self.hung.set()
                self.release.wait(30)
            return super().read()
        finally:
            self.reading -= 1

    def close(self) -> None:
        self.closed_mid_read = self.closed_mid_read or self.reading > 0
        super().close()
        self.closed.set()


@pytest.mark.parametrize("live", [True, False], ids=["capture thread", "workers read"])
def test_stop_does_not_close_a_source_a_hung_read_is_still_using(tiny_session, live):
    source = HangingSource(size=(60, 80), fps=100 if live else None)
    pipe = LivePipeline(source, tiny_session, workers=1 if live else 2).start()
    next(iter(pipe.results(timeout=10)))
    source.hang.set()  # the next read hangs
    assert source.hung.wait(10), "no read hung"
    pipe.stop(timeout=0.2)  # gives up on the hung thread: returns, leaving the source open
    assert pipe.finished and not source.closed.is_set()
    source.release.set()  # the device answers: the reading thread ends and closes the source
    assert source.closed.wait(10), "the source was never closed"
    assert not source.closed_mid_read


def test_frames_labelled_with_none_of_the_models_classes_are_not_scored(tiny_session):
    """An ImageNet model on the labelled digit stream (``edgekit demo model.onnx`` with no --source)
    read "accuracy 0.0%", as if it were broken: with no frame the model could answer, the readouts
    say so instead; frames of a class the model lacks among others count as wrong, and are counted."""
    from edgekit.vision.overlay import _lines as overlay_lines
    from edgekit.vision.readouts import Readouts

    names = [f"class {i}" for i in range(10)]
    pipe = run_to_end(LivePipeline(DemoSource(seed=1, length=12, size=(60, 80), loop=False), tiny_session,
                                   labels=names))
    acc = pipe.readouts.accuracy
    assert acc.n == 12 and acc.unknown == 12 and not acc.scored
    assert acc.unknown_labels and set(acc.unknown_labels) <= set("0123456789")
    assert "acc n/a" in pipe.readouts.line() and acc.short() == "acc n/a"
    assert any("labels not model's" in text for text, _ in overlay_lines(pipe.readouts))
    assert Readouts.from_dict(pipe.readouts.to_dict()).accuracy == acc

    image = np.random.default_rng(3).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    pipe = run_to_end(LivePipeline(ArraySource([image] * 6, ["3"] * 4 + ["okapi"] * 2), tiny_session))
    acc = pipe.readouts.accuracy
    assert acc.scored and acc.n == 6 and acc.unknown == 2 and acc.unknown_labels == ("okapi",)
    assert acc.short().startswith("acc ") and "n/a" not in acc.short()


def test_a_model_with_no_preprocessing_runs_live_with_a_warning_at_the_users_line_naming_what_it_is_fed(tmp_path,
                                                                                                       tiny_path):
    """``edgekit demo`` refuses a card-less model; a script ran it fed [0, 1] RGB without a word."""
    import shutil
    import warnings

    from edgekit.backends import compile_session
    from edgekit.errors import EdgekitWarning
    from edgekit.models import load_model
    from edgekit.models.preprocess import Preprocess

    bare = tmp_path / "bare.onnx"
    shutil.copy(tiny_path, bare)  # no card beside it
    images = [np.zeros((32, 32, 3), np.uint8)] * 2
    with compile_session(load_model(bare), "onnxruntime") as session:
        with pytest.warns(EdgekitWarning, match=r"bare: nothing says how .* RGB pixels x 1/255, stretched to "
                                                r"32x32, with no mean/std.*preprocess=Preprocess") as caught:
            pipe = LivePipeline(ArraySource(images), session)
        assert caught[0].filename == __file__
        run_to_end(pipe)
    from edgekit.data.datasets import ArrayDataset
    from edgekit.errors import DataError
    from edgekit.evaluation import evaluate

    with pytest.raises(DataError, match=r"bare: nothing says how .*edgekit.load_model\(path, preprocess=Preprocess"):
        evaluate(str(bare), ArrayDataset(images, [0, 1], [str(i) for i in range(10)]))  # scores: refused, as the CLI
    given = load_model(bare, preprocess=Preprocess(size=(32, 32)))
    with compile_session(given, "onnxruntime") as session, warnings.catch_warnings():
        warnings.simplefilter("error", EdgekitWarning)
        run_to_end(LivePipeline(ArraySource(images), session))
