"""The threaded live pipeline: capture ∥ inference ∥ render, newest frame wins.

::

    capture thread          inference worker(s)         render thread
    source.read()   ──► [slot] ──► predictor.predict ──► [slot] ──► top-k or boxes, readouts,
    + preprocess                   (+ every Nth frame            LiveFrame ──► on_frame,
      (into a reused blob)          ──► [slot] ──► reference thread)   results()

A classifier's frames skip the second slot when no callback is set: the
inference worker hands them on itself (see ``_render``), and their top-k and
readouts are made only when someone reads them (``LiveFrame.readouts``).
With several workers (a session compiled to serve calls side by side, see
:func:`~edgekit.vision.config.compile_live_session`) each takes the next
frame when free, and results are handed on in frame order (``InOrder``);
with a source whose every frame is used (a file), the workers read and
prepare the frames themselves and there is no capture thread (``_read_next``).

Each ``[slot]`` holds one item. With a live source (camera, stream, paced
generator) a new item replaces a waiting one, which is dropped and counted:
nothing queues behind a slow model. With a file or generator the producer
waits for the slot instead, so every frame is used. Preprocessing runs on the
capture thread, where a camera leaves the CPU idle, so inference never
waits for it (a frame is prepared again if the predictor was switched since).

What costs CPU besides the model is kept small: frames are prepared into a
few reused blobs (handed back after inference or when dropped), and the
overlay is drawn only when a display or recorder asks a :class:`LiveFrame`
for it, so frames nobody sees are never drawn. CPU time per stage (thread
CPU time) is counted and reported as ``Readouts.cpu_ms``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from edgekit.detection.compare import box_agreement
from edgekit.errors import ConfigError, EdgekitError, SourceError
from edgekit.types import Task
from edgekit.vision._detmap import RunningMap
from edgekit.vision._mailbox import EMPTY, END, InOrder, Mailbox
from edgekit.vision._meters import CpuMeter, RateMeter
from edgekit.vision._state import REFRESH_S, PredictorState, StageMeters, rate, topk
from edgekit.vision.detect import count_text
from edgekit.vision.live_frame import LiveFrame
from edgekit.vision.predictors import PipelinePredictor, adapt, to_probabilities
from edgekit.vision.readouts import CPU_STAGES, ABFrame, ABReadout, MapReadout, Readouts
from edgekit.vision.sources.base import Frame, FrameSource

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

Callback = Callable[[np.ndarray, Readouts], None]
FrameCallback = Callable[[LiveFrame], None]
_BACKOFF = (0.25, 5.0)  # first and longest wait between reopen attempts, seconds
_STATUS_EVERY = 0.5  # while the source is down, re-show the last frame with the error this often
_EXIT_STOP_S = 2.0  # at interpreter exit, how long the pipelines a script left running get to stop
_started: weakref.WeakSet[LivePipeline] = weakref.WeakSet()  # started and not stopped (see _stop_at_exit)


@dataclass
class _Captured:
    frame: Frame
    batch: np.ndarray | None
    owner: PipelinePredictor | None
    ticket: int = -1  # order of taking (see _take)


@dataclass
class _Inferred:
    frame: Frame
    scores: np.ndarray
    state: PredictorState
    truth: str | None
    ticket: int  # taking order (see InOrder): a frame older than the one shown is never shown after it
    best: int = -1  # a classifier's top class (argmax of the scores); -1 for a detector


@dataclass
class _Held:
    """Readouts set outright (the first, empty ones; the final ones), where a frame's are made lazily."""

    readouts: Readouts


def _as_source(source: Any) -> Any:
    """A path, URL or camera index becomes its frame source (``LivePipeline("video.mp4", session)``)."""
    from pathlib import Path

    if isinstance(source, (str, Path)) or (isinstance(source, int) and not isinstance(source, bool)):
        from edgekit.vision.sources import open_source

        return open_source(str(source) if isinstance(source, Path) else source)
    if not all(hasattr(source, name) for name in ("open", "read", "close")):
        raise TypeError(f"LivePipeline expects a frame source (edgekit.vision.sources.open_source(...)), a path, "
                        f"a URL or a camera index, not {type(source).__name__}")
    return source


class LivePipeline:
    """Run a predictor on a frame source, live, with honest readouts.

    Args:
        source: a :class:`~edgekit.vision.sources.FrameSource` (not yet open).
        predictor: a backends ``Session``, a bundle ``Predictor`` or anything
            :func:`~edgekit.vision.predictors.adapt` accepts.
        reference: a second predictor for A/B (e.g. the FP32 original).
        reference_every: run the reference on every Nth inferred frame.
        topk: how many classes the readouts list.
        labels: class names overriding the predictor's.
        on_result: called on the render thread with ``(annotated, readouts)`` for every frame
            (so every frame is drawn; a display or recorder should use ``on_frame``).
        on_frame: called on the render thread with each :class:`~edgekit.vision.LiveFrame`;
            its overlay is drawn only when the consumer calls ``annotated()`` (a display at
            its own rate, a recorder for every frame it writes). ``on_frame`` and ``on_result`` may
            be set or cleared while the pipeline runs (a recorder attached only while it records).
        drop: drop stale frames (``None``: when the source is live).
        draw: draw the overlay (``False``: hand out the frame as captured).
        window_s: span of the windowed FPS.
        workers: inference threads calling the predictor side by side (``None``: as many as the
            session was compiled for, ``SessionInfo.workers``; see
            :func:`~edgekit.vision.config.compile_live_session`). Frames are handed on in order.

    Attributes:
        readouts: the newest frame's :class:`Readouts`.
        latest: the newest :class:`~edgekit.vision.LiveFrame` shown, for a display that polls at
            its own rate (a classifier with no callback then costs no thread hand-off per frame).

    Example:
        >>> with LivePipeline(DemoSource(), session) as pipe:       # doctest: +SKIP
        ...     for frame, readouts in pipe.results(timeout=2.0):
        ...         print(readouts.line())
    """

    def __init__(self, source: FrameSource, predictor: Any, *, reference: Any = None, reference_every: int = 1,
                 topk: int = 5, labels: list[str] | None = None, on_result: Callback | None = None,
                 drop: bool | None = None, draw: bool = True, window_s: float = 5.0,
                 on_frame: FrameCallback | None = None, workers: int | None = None) -> None:
        if reference_every < 1:
            raise ValueError(f"reference_every must be >= 1, not {reference_every}")
        source = _as_source(source)
        self.source, self.topk, self.on_result, self.draw = source, topk, on_result, draw
        self.on_frame = on_frame
        self.reference_every, self.window_s, self._drop = reference_every, window_s, drop
        self._labels = tuple(labels) if labels else None
        self._state = PredictorState(self._adapt(predictor), window_s)
        self._ref = None if reference is None else PredictorState(self._adapt(reference, "reference"), window_s)
        self._reset_ab()
        self._inbox, self._outbox, self._refbox, self._results = Mailbox(_give_back), Mailbox(), Mailbox(), Mailbox()
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, not {workers}")
        self.workers = workers or self._state.predictor.workers
        self._take_lock = threading.Lock()
        self._order = InOrder(self._inferred)
        self._inbox_ended = False
        self._workers_left = self.workers
        self._pull = False  # workers read the source themselves (set by start)
        self._handed_at = 0.0  # when the newest inferred frame was handed on (see _inferred)
        self._cpu = CpuMeter(CPU_STAGES)
        self._render_draw_s = 0.0  # CPU drawing inside the callbacks, on the render thread
        self._render_lock = threading.Lock()  # inline and render-thread rendering meet when a callback is set or cleared
        self._rendered = -1  # ticket of the newest frame rendered
        self._thread_ids: set[int] = set()
        self.frames_drawn = 0  # overlays drawn (only frames someone showed or recorded)
        self._capture_rate, self._display_rate = RateMeter(window_s), RateMeter(window_s)
        self._infer_rate = RateMeter(window_s)  # all predictors together (a switch does not reset it)
        self._stages = StageMeters()
        self._det_map: tuple[tuple, RunningMap] | None = None  # (predictor, conf, classes), running mAP
        self._seen: dict[str, int] = {}  # label -> frames shown whose top-1 it was (a detector: holding one)
        self._seen_frames = 0
        self._meters_read: tuple | None = None  # (when, state, reference, Readouts): see _snapshot
        self._last_shown: tuple[_Inferred, float] | None = None  # the newest frame rendered, and when
        self._running, self._stop, self._finished = threading.Event(), threading.Event(), threading.Event()
        self._threads: list[threading.Thread] = []
        self._close_lock = threading.Lock()  # closing the source: stop() or the last thread reading it
        self._readers_left = 0  # threads that read the source and have not ended
        self._close_when_read, self._source_closed = False, False
        self._declared: str | None = None
        self._source_error: str | None = None
        self._reopens = 0
        self._backoff = _BACKOFF[0]  # the wait before the next reopen; grows while no frame comes
        self._started_at = 0.0
        self._stopped_at = 0.0
        self.error: BaseException | None = None
        self._readouts_of: LiveFrame | _Held = _Held(Readouts())  # the newest frame's, or set outright
        self.latest: LiveFrame | None = None  # the newest frame shown (a display polling at its own rate)

    @property
    def readouts(self) -> Readouts:
        """The newest frame's :class:`Readouts` (made now if nobody has read them yet); before any frame
        is shown, what the source is doing: its name, how long it has run, its last error and reopens.

        Why: a stream that opens but never gives a frame (an MP4 served without range requests) kept
        failing and being reopened, while every readout, the app's and ``edgekit demo``'s summary,
        showed an empty run of zeros that "ended" at 0.0 s, and the reason was nowhere."""
        held = self._readouts_of
        if self._display_rate.count or not isinstance(held, _Held) or not self._started_at:
            return held.readouts
        ran = (self._stopped_at or time.monotonic()) - self._started_at
        return _with(held.readouts, {"source": self.source.info.name, "source_error": self._source_error,
                                     "source_reopens": self._reopens, "elapsed_s": ran})

    @readouts.setter
    def readouts(self, value: Readouts) -> None:
        self._readouts_of = _Held(value)

    # -- control ---------------------------------------------------------------
    def start(self) -> LivePipeline:
        """Open the source and start the threads.

        Raises:
            SourceError: the source cannot be opened (with what to do).
        """
        if self._threads:
            raise RuntimeError("this pipeline was already started; make a new LivePipeline")
        self.source.open()
        if self._drop is None:
            self._drop = bool(self.source.info.live)
        self._started_at = time.monotonic()
        _started.add(self)
        self._running.set()
        self._pull = self.workers > 1 and not self._drop  # see _read_next
        capture = [] if self._pull else [self._capture_loop]
        loops = capture + [self._inference_loop] * self.workers + [self._render_loop]
        if self._ref is not None:
            loops.append(self._reference_loop)
        reads = self._inference_loop if self._pull else self._capture_loop
        self._readers_left = self.workers if self._pull else 1
        for n, loop in enumerate(loops):
            suffix = f"-{n + self._pull}" if loop == self._inference_loop and self.workers > 1 else ""
            thread = threading.Thread(target=self._guard(loop, reads=loop == reads), daemon=True,
                                      name=f"edgekit-{loop.__name__[1:]}{suffix}")
            self._threads.append(thread)
            thread.start()
            self._thread_ids.add(thread.ident)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads and close the source (idempotent); ``timeout``: seconds for all the
        threads together.

        The source is closed only when no thread is reading it: a thread still inside
        ``source.read()`` after ``timeout`` (a camera that hangs on a read, an unplugged USB device)
        closes it itself when the read returns. Why: releasing an OpenCV capture while another
        thread reads from it can crash the process, and stop() must not wait on a hung device."""
        _started.discard(self)
        self._stopped_at = self._stopped_at or time.monotonic()
        self._stop.set()
        self._running.set()
        for box in (self._inbox, self._outbox, self._refbox, self._results):
            box.close()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._close_lock:
            if self._readers_left == 0:
                self._close_source()
            else:
                self._close_when_read = True
        self._finished.set()

    def _close_source(self) -> None:
        """Close the source once (call holding ``_close_lock``)."""
        if not self._source_closed:
            self._source_closed = True
            self.source.close()

    def _reader_done(self) -> None:
        """A thread that reads the source has ended: the last one closes it if stop() left it open."""
        with self._close_lock:
            self._readers_left -= 1
            if self._readers_left == 0 and self._close_when_read:
                self._close_source()

    def pause(self) -> None:
        """Stop taking frames (threads stay up; ``resume`` continues)."""
        self._running.clear()

    def resume(self) -> None:
        """Continue after :meth:`pause`."""
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def finished(self) -> bool:
        """True once a finite source ended and its last frame was shown, or after ``stop``."""
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until finished; re-raise a predictor failure. Returns ``finished``."""
        done = self._finished.wait(timeout)
        if self.error is not None:
            raise self.error
        return done

    def set_predictor(self, predictor: Any, name: str | None = None) -> None:
        """Switch model or backend while running; the source keeps going.

        The new predictor's own speed and accuracy readouts start from zero;
        the pipeline's frame counts and rates go on.
        """
        self._state = PredictorState(self._adapt(predictor, name), self.window_s)

    def set_reference(self, reference: Any | None) -> None:
        """Swap the A/B reference; only when one was given at construction (its thread exists)."""
        if self._ref is None and self._threads:
            raise RuntimeError("start the pipeline with reference=... to use A/B mode")
        self._ref = None if reference is None else PredictorState(self._adapt(reference, "reference"), self.window_s)
        self._reset_ab()

    def set_detection_view(self, conf: float | None = None, classes: Any = None) -> None:
        """Detectors: show boxes scoring at least ``conf`` (``None``: the card's threshold) of the
        named ``classes`` (``None``: all) from the next frame on, without a restart; safe to call
        from any thread (it only replaces two attributes of the predictor). The A/B reference
        follows (classes it does not have are left out). The running mAP starts again over the
        shown classes, so it scores what is on screen.

        Raises:
            ConfigError: the model is a classifier, or a class name it does not have.
        """
        main = self._state.predictor
        if main.task != Task.DETECTION:
            if conf is None and classes is None:
                return
            raise ConfigError(f"conf and classes apply to detection models; {main.name} is a "
                              f"{main.task} model (leave them out)")
        names = None if classes is None else tuple(classes)
        main.show(conf, names)
        ref = self._ref
        if ref is not None and ref.predictor.task == Task.DETECTION:
            ref.predictor.show(conf, names, strict=False)

    def set_ground_truth(self, label: str | int | None) -> None:
        """Declare what the camera shows ("I am showing a 7"); ``None`` stops counting.

        Frames that carry their own label keep it; the declared truth is
        counted for unlabelled frames (a live camera).
        """
        self._declared = None if label is None else str(label)

    def reset_metrics(self) -> None:
        """Start accuracy and A/B agreement again (e.g. after moving the camera)."""
        self._state = PredictorState(self._state.predictor, self.window_s)
        if self._ref is not None:
            self._ref = PredictorState(self._ref.predictor, self.window_s)
        self._reset_ab()

    def results(self, timeout: float | None = 5.0) -> Iterator[tuple[np.ndarray, Readouts]]:
        """Yield the newest ``(annotated_frame, readouts)``; results not taken in
        time are skipped. Ends when the pipeline finishes, or when nothing
        arrives within ``timeout`` seconds."""
        for live in self.frames(timeout):
            yield live.annotated(), live.readouts  # drawn now: only the frames taken are drawn

    def frames(self, timeout: float | None = 5.0) -> Iterator[LiveFrame]:
        """Yield the newest :class:`~edgekit.vision.LiveFrame`, waiting for the next one; frames
        not taken in time are skipped, and a frame's overlay is drawn only if the taker asks.

        Why: a display that paints at its own rate takes frames here instead of through
        ``on_frame``, so frames it never shows cost no thread hand-off (see :meth:`_render`),
        and one that arrives while it waits is taken at once. Ends as :meth:`results` does."""
        while True:
            deadline = None if timeout is None else time.monotonic() + timeout
            item = self._results.get(0.05)
            while item is EMPTY and not self._finished.is_set():
                if deadline is not None and time.monotonic() > deadline:
                    break
                item = self._results.get(0.05)
            if item is EMPTY:
                item = self._results.get(0)
            if item is EMPTY:
                if self.error is not None:
                    raise self.error
                return
            yield item

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- threads -----------------------------------------------------------------
    def _reset_ab(self) -> None:
        self._ab_compared, self._ab_agree = 0, 0
        self._ab_frame: ABFrame | None = None  # A and B on the newest frame both ran on

    def _adapt(self, obj: Any, name: str | None = None) -> PipelinePredictor:
        pred = adapt(obj, None if name == "reference" else name)
        if self._labels:
            pred.labels = self._labels
        return pred

    def _guard(self, loop: Callable[[], None], reads: bool = False) -> Callable[[], None]:
        """``loop`` with its failure handed to wait()/results(); ``reads``: it reads the source
        (see :meth:`stop`)."""
        def run() -> None:
            try:
                loop()
            except BaseException as exc:  # noqa: BLE001 - handed to wait()/results()
                self.error = exc
                self._stop.set()
                self._finished.set()
                for box in (self._inbox, self._outbox, self._refbox):
                    box.close()
            finally:
                if reads:
                    self._reader_done()
        return run

    def _drain(self, box: Mailbox) -> Iterator[Any]:
        """Items from ``box`` until ``END`` arrives or the pipeline stops."""
        while True:
            item = box.get(0.1)
            if item is EMPTY:
                if self._stop.is_set():
                    return
                continue
            if item is END:
                return
            yield item

    def _capture_loop(self) -> None:
        while not self._stop.is_set():
            if not self._running.wait(0.1):
                continue
            frame = self._read_one()
            if frame is None:
                continue
            if frame is END:
                self._inbox.put(END)
                return
            c1, t1 = time.thread_time(), time.monotonic()
            pred = self._state.predictor
            batch = pred.prepare_pooled(frame.image)  # a reused blob, given back after inference
            self._stages.add("preprocess", (time.monotonic() - t1) * 1e3)
            self._cpu.span("preprocess", c1)
            self._inbox.put(_Captured(frame, batch, pred), wait=not self._drop)

    def _read_one(self) -> Frame | object | None:
        """The next frame from the source, counted; ``END`` at the end of a finite stream; ``None``
        after a source error (it was reopened, or the pipeline is stopping)."""
        t0, c0 = time.monotonic(), time.thread_time()
        try:
            frame = self.source.read()
        except (SourceError, OSError) as exc:
            self._recover(exc)
            return None
        if frame is None:
            unread = getattr(self.source, "nothing_read", None)
            why = unread() if callable(unread) and self._capture_rate.count == 0 else None
            if why:  # a folder of files none of which decodes: an error, not an empty run's zeros
                raise SourceError(why, path=getattr(self.source, "path", None))
            return END
        t1 = time.monotonic()
        self._source_error = None
        self._backoff = _BACKOFF[0]  # a frame came: the next outage starts with a short wait again
        self._capture_rate.tick(t1)
        self._stages.add("capture", (t1 - t0) * 1e3)
        self._cpu.span("capture", c0)
        return frame

    def _recover(self, exc: BaseException) -> None:
        """Close the broken source and reopen it on a growing back-off, reporting why.

        The back-off keeps growing across reopens that give no frame: a stream that opens and then
        fails at once (an MP4 served without range requests) was reopened four times a second."""
        self._source_error = str(exc)
        delay = self._backoff
        self._backoff = min(delay * 2, _BACKOFF[1])
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # already broken; reopening is what matters
                self.source.close()
            if self._stop.wait(delay):
                return
            try:
                self.source.open()
            except (SourceError, OSError) as again:
                self._source_error = str(again)
                delay = min(delay * 2, _BACKOFF[1])
                continue
            self._reopens += 1
            return

    def _take(self) -> _Captured | None:
        """The next captured frame with its ticket (``None``: the stream ended or the pipeline stopped).

        Workers take in turn (the lock), so tickets follow the frames' order; a worker waiting
        here holds the lock, which costs nothing: two idle workers have nothing to do."""
        with self._take_lock:
            if self._pull:
                return self._read_next()
            while not self._inbox_ended:
                item = self._inbox.get(0.1)
                if item is EMPTY:
                    if self._stop.is_set():
                        return None
                    continue
                if item is END:
                    self._inbox_ended = True
                    return None
                item.ticket = self._order.ticket()
                return item
            return None

    def _read_next(self) -> _Captured | None:
        """Pull mode (several workers, a source whose every frame is used): the worker reads the
        next frame itself and prepares it outside the lock, so there is no capture thread.

        Why: with one worker per core, a capture thread is a third runnable thread on cores the
        workers keep busy; every frame then cost a hand-off (two wake-ups) and preemptions that
        stall the workers. A frame read in turn by the worker that will infer it costs neither, and
        while it reads and prepares, the other workers infer. A live source keeps its capture
        thread: it must be read as frames arrive, whatever the workers are doing, so the newest
        wins."""
        while not self._inbox_ended and not self._stop.is_set():
            if not self._running.wait(0.1):
                continue
            frame = self._read_one()
            if frame is END:
                self._inbox_ended = True
                return None
            if frame is not None:
                return _Captured(frame, None, None, self._order.ticket())
        return None

    def _inference_loop(self) -> None:
        """One inference worker; ``workers`` of them run side by side (see ``SessionInfo.workers``).
        Results are handed on in frame order (:class:`InOrder`), on the finishing worker's thread."""
        try:
            while (item := self._take()) is not None:
                state = self._state
                try:
                    scores, t1, ms = self._infer(item, state)
                except BaseException:
                    self._order.halt()  # the run ends here: no frame behind this one is shown
                    raise
                self._order.done(item.ticket, (item, scores, state, t1, ms))
        finally:
            with self._take_lock:
                self._workers_left -= 1
                last = self._workers_left == 0
            if last and self._inbox_ended and not self._stop.is_set():  # the source ended: pass the end on
                self._refbox.put(END)
                self._outbox.put(END)

    def _infer(self, item: _Captured, state: PredictorState) -> tuple[np.ndarray, float, float]:
        """Prepare the frame if nobody did for this predictor (pull mode, or a switch since capture),
        then run it: ``(scores, finished_at, ms)``."""
        pred, batch = state.predictor, item.batch
        c0 = time.thread_time()
        if item.owner is not pred:
            _give_back(item)
            t0 = time.monotonic()
            batch = item.batch = pred.prepare_pooled(item.frame.image)
            item.owner = pred
            self._stages.add("preprocess", (time.monotonic() - t0) * 1e3)
            c0 = self._cpu.span("preprocess", c0)
        scores, t1, ms = state.infer(batch)
        _give_back(item)  # the session is done with the blob: the capture thread may refill it
        self._cpu.span("inference", c0)
        return scores, t1, ms

    def _inferred(self, result: tuple) -> None:
        """Hand on one inferred frame, in frame order: meters, accuracy, the A/B reference, and the
        frame to the render thread (or rendered here: a classifier with no callback)."""
        c0 = time.thread_time()
        item, scores, state, t1, ms = result
        pred = state.predictor
        t1 = self._handed_at = max(t1, self._handed_at)  # workers finish out of order; rates need time to go on
        state.count(t1, ms)
        self._infer_rate.tick(t1)
        self._stages.add("inference", ms)
        label = item.frame.label
        # an int is the model's output index (a path,label list with integer labels): its name from here on
        truth = label if label is not None and not isinstance(label, int) else (
            self._declared if label is None else pred.label(label))
        refer = self._ref is not None and item.ticket % self.reference_every == 0
        if pred.task == Task.DETECTION:  # raw outputs: decoded into boxes on the render thread
            if refer:
                self._refbox.put((item.frame, (pred, scores), None, truth))  # boxes compared by the reference loop
            self._cpu.span("postprocess", c0)
            self._outbox.put(_Inferred(item.frame, scores, state, truth, item.ticket), wait=not self._drop)
            return
        best = int(scores.argmax())  # the method: np.argmax's Python wrapper costs as much again
        state.record(truth, best, declared=item.frame.label is None)
        if refer:
            confidence = float(to_probabilities(scores).reshape(-1)[best])
            self._refbox.put((item.frame, pred.label(best), confidence, truth))
        self._cpu.span("postprocess", c0)
        inferred = _Inferred(item.frame, scores, state, truth, item.ticket, best)
        if self.on_frame is None and self.on_result is None:  # nothing slow to wait for: no hand-off
            self._render(inferred)
            return
        self._outbox.put(inferred, wait=not self._drop)

    def _reference_loop(self) -> None:
        for frame, main_label, main_confidence, truth in self._drain(self._refbox):
            ref = self._ref
            if ref is None:
                continue
            batch = ref.predictor.prepare_pooled(frame.image)
            scores, t1, ms = ref.infer(batch)
            ref.count(t1, ms)
            ref.predictor.release(batch)
            if main_confidence is None:  # a detector: box agreement instead of top-1 agreement
                self._ab_boxes(frame, main_label, ref.predictor, scores)
                continue
            top = int(np.argmax(scores))
            ref.record(truth, top, declared=frame.label is None)
            pair = ABFrame(frame.seq, main_label, main_confidence, ref.predictor.label(top),
                           float(to_probabilities(scores).reshape(-1)[top]))
            self._ab_frame = pair
            self._ab_compared += 1
            self._ab_agree += int(pair.agree)

    def _ab_boxes(self, frame: Frame, main: tuple, ref_pred: PipelinePredictor, ref_outputs: Any) -> None:
        """A/B of two detectors on one frame: share of boxes matched (IoU >= 0.5, same class)."""
        pred, outputs = main
        if pred.task != Task.DETECTION or ref_pred.task != Task.DETECTION:
            return  # a detector and a classifier have nothing to agree on
        a, b = pred.decode(outputs, frame.image.shape), ref_pred.decode(ref_outputs, frame.image.shape)
        share = box_agreement(a, b)
        self._ab_frame = ABFrame(frame.seq, count_text(a), share, count_text(b), share)
        self._ab_compared += 1
        self._ab_agree += share

    def _render_loop(self) -> None:
        while True:
            item = self._outbox.get(0.1)
            last = self._last_shown  # rendered here or, for a classifier without callbacks, inline
            if item is EMPTY:
                if self._stop.is_set():
                    return
                if last is not None and self._source_error and time.monotonic() - last[1] > _STATUS_EVERY:
                    self._render(last[0], status_only=True)  # show the outage on the last frame
                continue
            if item is END:
                if last is not None:  # the last frame's readouts with every meter read now
                    shown, now = self.readouts, time.monotonic()
                    det_map = shown.det_map
                    if det_map is not None and self._det_map is not None:
                        det_map = self._det_map[1].readout(fresh=True)
                    fields = self._frame_fields(last[0], now, shown.topk, shown.detections, det_map)
                    self.readouts = self._snapshot(last[0], fields, now, fresh=True)
                self._finished.set()
                return
            self._render(item)

    def _render(self, item: _Inferred, status_only: bool = False) -> None:
        """Boxes or top-k and readouts (a classifier's made when read), handed on as a
        :class:`LiveFrame` whose overlay is drawn when someone shows it; ``status_only`` re-shows the
        last frame (source down) without counting it.

        Runs on the render thread, except for a classifier with no ``on_frame``/``on_result``
        callback: then the inference thread renders its own frames. Why: top-k of a classifier
        and its readouts cost ~25 us, while handing each frame to another thread woke that
        thread on cores inference keeps busy, hundreds of times a second - measured 0.18 ms of
        CPU per frame and 9 % of the end-to-end FPS for digits-mnv2 on 2 cores (interleaved
        rounds of ``benchmarks/pipeline.py``'s loop). Decoding a detector's boxes and user
        callbacks (a recorder encodes every frame) can be slow, so they keep the render thread
        and inference never waits for them.

        A callback may be set or cleared while the pipeline runs (the app's Record button sets
        ``on_frame`` only while it records): for that moment both threads may render, so
        rendering is one at a time and a frame older than one already rendered is skipped
        (never shown after a newer one)."""
        with self._render_lock:
            if not status_only:
                if item.ticket < self._rendered:
                    return
                self._rendered = item.ticket
            self._render_one(item, status_only)

    def _render_one(self, item: _Inferred, status_only: bool) -> None:
        """A detector's boxes are decoded (and scored) here; a classifier's top-k and readouts are
        made only when someone reads them (see :attr:`LiveFrame.readouts`), from the values the
        frame had here (its counts, truth, source state)."""
        t0, c0 = time.monotonic(), time.thread_time()
        pred = item.state.predictor
        boxes = pred.decode(item.scores, item.frame.image.shape) if pred.task == Task.DETECTION else None
        t1 = time.monotonic()
        if not status_only:
            self._display_rate.tick(t1)
        if boxes is None:
            fields = self._frame_fields(item, t1)
            live = LiveFrame(item.frame.image, None, self.draw, self._drawn,
                             make_readouts=functools.partial(self._classified, item, fields, t1))
        else:
            fields = self._frame_fields(item, t1, (), boxes, self._score_boxes(item, pred, boxes))
            live = LiveFrame(item.frame.image, self._snapshot(item, fields, t1), self.draw, self._drawn)
        t2 = time.monotonic()
        if not status_only:
            self._tally(item, boxes)
            self._stages.add("postprocess", (t1 - t0) * 1e3)
            self._stages.add("render", (t2 - t1) * 1e3)
            self._stages.add("end_to_end", (t2 - item.frame.timestamp) * 1e3)
            self._cpu.span("postprocess", c0)
        self._readouts_of = self.latest = live
        self._last_shown = (item, time.monotonic())
        self._output(live)
        self._results.put(live)

    def _classified(self, item: _Inferred, fields: dict, now: float) -> Readouts:
        """A classifier's frame readouts, made when first read: its top-k, then the rest."""
        fields["topk"] = topk(item.state.predictor, to_probabilities(item.scores), self.topk)
        return self._snapshot(item, fields, now)

    def _tally(self, item: _Inferred, boxes: tuple | None) -> None:
        """Count what a shown frame held: its top-1 label, or each class a box of it names. Why: a
        headless run's summary said how fast, never what the model saw (the overlay said it)."""
        self._seen_frames += 1
        top = item.state.predictor.label(item.best) if item.best >= 0 and self.topk > 0 else None
        labels = {d.label for d in boxes} if boxes is not None else {top} if top is not None else set()
        for label in labels:
            self._seen[label] = self._seen.get(label, 0) + 1

    def seen(self, most: int = 5) -> dict:
        """``{"frames": n, "labels": [[label, frames], ...]}``: the ``most`` labels shown most often."""
        ranked = sorted(self._seen.items(), key=lambda item: (-item[1], item[0]))[:most]
        return {"frames": self._seen_frames, "labels": [[label, n] for label, n in ranked]}

    def _output(self, live: LiveFrame) -> None:
        """The callbacks, timed as ``output`` apart from the drawing they asked for."""
        if self.on_result is None and self.on_frame is None:
            return
        c0, drawn = time.thread_time(), self._render_draw_s
        if self.on_result is not None:
            self.on_result(live.annotated(), live.readouts)
        if self.on_frame is not None:
            self.on_frame(live)
        self._cpu.add("output", time.thread_time() - c0 - (self._render_draw_s - drawn))

    def _drawn(self, seconds: float) -> None:
        """A :class:`LiveFrame`'s overlay was drawn, on whichever thread asked for it."""
        self.frames_drawn += 1
        inside = threading.get_ident() in self._thread_ids
        if inside:
            self._render_draw_s += seconds
        self._cpu.add("draw", seconds, outside=not inside)

    def _score_boxes(self, item: _Inferred, pred: Any, boxes: tuple) -> MapReadout | None:
        """Running mAP of the boxes shown against the frame's ground truth of the shown classes
        (labelled detection streams); it starts again when the predictor, its confidence threshold
        or its class filter changes, so it always scores what the viewer sees now."""
        conf, shown = getattr(getattr(pred, "config", None), "conf", None), getattr(pred, "classes", None)
        key = (item.state, conf, None if shown is None else frozenset(shown))
        if item.frame.boxes is None:
            return None if self._det_map is None or self._det_map[0] != key else self._det_map[1].readout()
        if self._det_map is None or self._det_map[0] != key:  # a new model, threshold or class filter
            names = pred.labels or tuple(str(i) for i in range(10))
            self._det_map = (key, RunningMap(names, conf=conf, shown=getattr(pred, "shown_classes", None),
                                             truth_names=self.source.info.classes))
        truth = self._det_map[1].to_model(item.frame.boxes)
        if shown is not None:  # ground truth of hidden classes is neither shown nor missed
            keep = np.isin(np.asarray(truth[1]), list(shown))
            truth = (np.asarray(truth[0])[keep], np.asarray(truth[1])[keep])
        self._det_map[1].add(truth, boxes)
        return self._det_map[1].readout()

    def _frame_fields(self, item: _Inferred, now: float, top: tuple = (), boxes: tuple | None = None,
                      det_map: MapReadout | None = None) -> dict:
        """What belongs to this frame in its readouts (its number, top-k or boxes, truth, running
        mAP, the counts and the source's state as they are now), for :meth:`_snapshot`."""
        h, w = item.frame.image.shape[:2]
        dropped_in, dropped_out = self._inbox.dropped, self._outbox.dropped
        return {
            "seq": item.frame.seq, "elapsed_s": now - self._started_at, "source": item.frame.source,
            "frame_size": (w, h), "frames_captured": self._capture_rate.count,
            "frames_inferred": self._infer_rate.count, "frames_displayed": self._display_rate.count,
            "dropped": dropped_in + dropped_out, "dropped_before_inference": dropped_in,
            "dropped_before_display": dropped_out, "topk": top, "truth": item.truth,
            "source_error": self._source_error, "source_reopens": self._reopens, "detections": boxes,
            "det_map": det_map,
        }

    def _snapshot(self, item: _Inferred, per_frame: dict, now: float, fresh: bool = False) -> Readouts:
        """This frame's readouts: ``per_frame`` (:meth:`_frame_fields`) with the meters (rates,
        latency percentiles, accuracy, the predictor's and the A/B readout, CPU per stage), read at
        most every ``REFRESH_S`` (and whenever the predictor or its metrics are swapped),
        ``fresh``: now.

        Why: reading every meter cost more CPU per frame than top-k and the counts together
        (~0.1 ms on the render thread, on the cores inference needs), for figures a person
        reads a few times a second; the final readouts are always read fresh (``summary``)."""
        state, ref, base = item.state, self._ref, self._meters_read
        if not fresh and base is not None and now - base[0] < REFRESH_S and base[1] is state and base[2] is ref:
            return _with(base[3], per_frame)
        readouts = Readouts(
            capture_fps=rate(self._capture_rate, now), inference_fps=rate(self._infer_rate, now),
            display_fps=rate(self._display_rate, now), latency=self._stages.snapshot(now),
            accuracy=state.accuracy(), predictor=state.readout(now), ab=self._ab_readout(now),
            window_s=self.window_s, cpu_ms=self._cpu.per_frame(self._display_rate.count), **per_frame)
        self._meters_read = (now, state, ref, readouts)
        return readouts

    def _ab_readout(self, now: float, force: bool = False) -> ABReadout | None:
        if self._ref is None:
            return None
        compared, agree, pair = self._ab_compared, self._ab_agree, self._ab_frame
        return ABReadout(self._ref.readout(now, force), self.reference_every, compared, agree,
                         agree / compared if compared else 0.0, self._refbox.dropped,
                         None if pair is None else pair.b_label, pair)

    # -- results -------------------------------------------------------------------
    def summary(self) -> dict:
        """Final numbers for ``--json``: the last readouts (latency percentiles
        recomputed now), the source's requested vs granted settings, and the
        metrics over every labelled frame."""
        now = time.monotonic()
        dropped_in, dropped_out = self._inbox.dropped, self._outbox.dropped
        readouts = replace(  # counts up to now, including frames inferred after the last one shown
            self.readouts, latency=self._stages.snapshot(now, force=True), ab=self._ab_readout(now, force=True),
            accuracy=self._state.accuracy(), predictor=self._state.readout(now, force=True),
            frames_captured=self._capture_rate.count, frames_inferred=self._infer_rate.count,
            frames_displayed=self._display_rate.count, dropped=dropped_in + dropped_out,
            dropped_before_inference=dropped_in, dropped_before_display=dropped_out,
            cpu_ms=self._cpu.per_frame(self._display_rate.count))
        return {
            "readouts": readouts.to_dict(),
            "cpu_ms_per_frame": readouts.cpu_ms,
            "frames_drawn": self.frames_drawn,
            "source": self.source.info.to_dict(),
            "skipped_files": [str(f) for f in getattr(self.source, "skipped", ())],  # a folder's files that did not decode
            "dropping": bool(self._drop),
            "fps_window_s": self.window_s,  # the span the readouts' FPS average over
            "reference_every": self.reference_every if self._ref is not None else None,
            "metrics": _final_metrics(self._state),
            "reference_metrics": None if self._ref is None else _final_metrics(self._ref),
            "detection_metrics": None if self._det_map is None else self._det_map[1].final(),
            "seen": self.seen(),
            "classes": len(self._state.predictor.labels or ()),
            "error": None if self.error is None else str(self.error),
        }


def _final_metrics(state: PredictorState) -> dict | None:
    """Metrics over all labelled frames, from ``edgekit.evaluation.metrics`` when it is installed."""
    conf = state.confusion
    if conf.n == 0:
        return None
    try:
        from edgekit.evaluation.metrics import compute_metrics
    except ImportError:
        return conf.summary()
    try:
        metrics = compute_metrics(conf.y_true, conf.y_pred, classes=state.class_names())
    except EdgekitError:
        return conf.summary()
    return metrics.to_dict() if hasattr(metrics, "to_dict") else dict(metrics)


def _with(readouts: Readouts, fields: dict) -> Readouts:
    """``dataclasses.replace(readouts, **fields)`` without its per-field checks: the same new object
    at a fifth of the cost (measured 20 us of ~50 us of a frame's Python, every frame). Readouts has
    no ``__post_init__`` to skip; ``tests/vision/test_live_loop.py`` checks the two agree."""
    new = object.__new__(Readouts)
    new.__dict__.update(readouts.__dict__)
    new.__dict__.update(fields)
    return new


def _give_back(item: Any) -> None:
    """A captured frame's blob goes back to its predictor's pool (dropped, or inferred)."""
    if isinstance(item, _Captured) and item.owner is not None and item.batch is not None:
        item.owner.release(item.batch)
        item.batch = None


def _stop_at_exit() -> None:
    """Stop every pipeline a script left running when the interpreter exits, as ``with`` would.

    Why: the pipeline's threads are daemons (a forgotten ``stop()`` must not keep the process
    alive), and Python ends daemon threads only after ``atexit``, by ``pthread_exit`` as each one
    takes the GIL back - inside onnxruntime's or OpenCV's C++ code that aborts the whole process
    ("terminate called without an active exception", exit status 134): 9 of 12 runs of a script
    that started a pipeline, read one readout and ended. Stopped here, the threads leave their
    loops first; a thread stuck in a hung camera read past ``_EXIT_STOP_S`` is left as before."""
    for pipe in list(_started):
        with contextlib.suppress(Exception):  # exiting anyway: one broken pipeline must not keep the others running
            pipe.stop(_EXIT_STOP_S)


atexit.register(_stop_at_exit)
