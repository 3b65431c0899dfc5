"""``edgekit demo`` as a function: load, compile, run the live pipeline for a
while, record the annotated video and return the stats.

Headless by default. A window (OpenCV) opens only when asked for and a
display exists; in it, keys 0-9 declare what the camera shows, ``c`` clears
it, space pauses and ``q``/Esc quits.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from edgekit._io import check_writable, write_text_atomic
from edgekit.errors import ConfigError, SourceError
from edgekit.vision.config import LiveConfig, is_detector, sessions_and_source, startup_notes
from edgekit.vision.live_frame import LiveFrame
from edgekit.vision.pipeline import LivePipeline
from edgekit.vision.readouts import Readouts
from edgekit.vision.recorder import VideoRecorder


def display_problem() -> str | None:
    """Why a window cannot open here, or ``None`` when it can."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display here ($DISPLAY and $WAYLAND_DISPLAY are unset)"
    import cv2

    gui = next((ln for ln in cv2.getBuildInformation().splitlines() if ln.strip().startswith("GUI:")), "")
    if gui.split(":", 1)[-1].strip().upper() == "NONE":
        return ("this OpenCV is the headless build (no windows); `pip install opencv-python` instead of "
                "opencv-python-headless, or use the desktop app: edgekit gui")
    return None


def run_demo(settings: LiveConfig, on_update: Callable[[Readouts], None] | None = None,
             notice: Callable[[str], None] | None = None) -> dict:
    """Run the demo and return the stats (also written to ``settings.json_out``).

    Args:
        settings: what to run (the same :class:`LiveConfig` the app's Live demo page builds).
        on_update: called with fresh readouts about four times a second.
        notice: called with messages for the user (e.g. why no window opened).

    Raises:
        SourceError, ModelLoadError, BackendUnavailable, OutputExists: each
            with what to do; outputs are checked before anything runs.
    """
    notice = notice or (lambda text: None)
    for out in (settings.record, settings.json_out):
        if out:
            check_writable(out, settings.force)
    # a detector on "demo": the labelled detection stream; a camera at its default rate: opened first
    session, reference, source = sessions_and_source(settings)
    for note in startup_notes(session, reference):  # how "auto" chose; caveats on the accuracy shown
        notice(note)
    try:
        predictor = _live_predictor(session, settings)  # a bad --conf/--classes fails before any frame
        window = settings.window and _window_ok(notice)
        stats = _run(settings, session, predictor, reference, source, window, on_update)
    finally:
        source.close()  # idempotent: the pipeline closed it, unless something failed before it ran
        for s in (session, reference):
            if s is not None:
                s.close()
    if settings.json_out:
        write_text_atomic(settings.json_out, json.dumps(stats, indent=2, default=str) + "\n", force=settings.force)
    return stats


def _live_predictor(session: Any, settings: LiveConfig) -> Any:
    """A detector runs adapted with the settings' confidence threshold and class filter, and with
    ``track`` an :class:`~edgekit.detection.track.IoUTracker` (ids across frames, a box that drops
    out for a frame or two is held: counts do not flicker); a classifier is left as is.

    Raises:
        ConfigError: ``conf``/``classes`` for a classifier, or a class the detector does not have.
    """
    if not is_detector(session):
        if settings.conf is not None or settings.classes is not None:
            raise ConfigError(f"conf and classes (--conf/--classes) apply to detection models; {settings.model} "
                              "is a classifier: leave them out")
        return session
    from edgekit.detection.track import IoUTracker
    from edgekit.vision.predictors import adapt

    predictor = adapt(session)
    predictor.show(settings.conf, settings.classes)
    if settings.track:
        predictor.tracker = IoUTracker()
    return predictor


def _window_ok(notice: Callable[[str], None]) -> bool:
    problem = display_problem()
    if problem:
        notice(f"--window: {problem}; running headless")
    return problem is None


def _run(settings: LiveConfig, session: Any, predictor: Any, reference: Any, source: Any, window: bool,
         on_update: Callable[[Readouts], None] | None) -> dict:
    latest: dict[str, Any] = {}
    recorder = VideoRecorder(settings.record, force=settings.force) if settings.record else None

    def on_frame(live: LiveFrame) -> None:
        """Render thread: the recorder draws every frame it writes (into one reused buffer)."""
        if recorder.frames == 0:  # the source is open now: play back at its own rate
            recorder.fps = source.info.granted_fps or settings.fps or 30.0
        latest["canvas"] = live.annotated(out=latest.get("canvas"))
        recorder.write(latest["canvas"])

    # without a recorder no callback: the window draws ``pipe.latest`` when it repaints (frames
    # nobody sees are never drawn), and a classifier's frames then need no hand-off to the render thread
    pipe = LivePipeline(source, predictor, reference=reference, reference_every=settings.reference_every,
                        on_frame=on_frame if recorder is not None else None)
    asked: list = []
    try:
        with _stop_signals_as_request(asked):
            pipe.start()
            _loop(pipe, settings.seconds, window, on_update, asked)
    except KeyboardInterrupt:  # a second Ctrl-C: still summary, JSON and video
        asked.append(signal.SIGINT)
    except BaseException:
        pipe.stop()
        if recorder is not None:
            recorder.abort()
        raise
    pipe.stop()
    stats = pipe.summary()
    stats["interrupted"] = bool(asked)
    stats["stopped_by"] = signal.Signals(asked[0]).name if asked else None  # "SIGINT", "SIGTERM", "SIGHUP"
    if recorder is not None:
        written = recorder.close()
        stats["record"] = {"path": None if written is None else str(written), "frames": recorder.frames,
                           "fps": recorder.fps}
    stats["settings"] = settings.to_dict()
    stats["session"] = session.info.to_dict() if hasattr(session, "info") else None
    if pipe.error is not None:
        raise pipe.error
    r = stats["readouts"]  # counted to the stop
    if r["frames_captured"] == 0 and r.get("source_error"):  # a table of zeros would hide why
        raise SourceError(f"no frame came from {r['source']} in {r['elapsed_s']:.0f} s ({r['source_reopens']} "
                          f"reopen(s)); last error: {r['source_error']}")
    return stats


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # the ones this platform has are caught (Windows: SIGINT, SIGTERM)


@contextlib.contextmanager
def _stop_signals_as_request(asked: list) -> Iterator[None]:
    """Ctrl-C, ``kill``/``timeout``/``systemctl stop`` (SIGTERM) and a closed terminal (SIGHUP) end
    the demo like its timer would: the first of them only appends its number to ``asked``, which the
    wait loop checks; a second one raises ``KeyboardInterrupt`` (still summary, JSON and video).

    Why not catch ``KeyboardInterrupt``: it lands between any two bytecodes of the main thread,
    also inside a library's lock (the terminal display's), which then stays held and hangs the
    summary that follows (seen once in CI: no output, no exit). A flag is read at one safe place.
    Why SIGTERM and SIGHUP too: their default ends the process at once, so ``timeout 60 edgekit
    demo --record run.mp4`` left no video and no JSON, only a hidden ``.run.<pid>.partial.mp4``.
    A signal the process ignores stays ignored: ``nohup edgekit demo ... &`` is meant to outlive
    the terminal (SIGHUP), and a shell's background job ignores Ctrl-C.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only: nothing to install from elsewhere
        return

    def request(signum: int, frame: Any) -> None:
        if asked:
            raise KeyboardInterrupt
        asked.append(signum)

    caught = [getattr(signal, name) for name in STOP_SIGNALS if hasattr(signal, name)]
    caught = [s for s in caught if signal.getsignal(s) is not signal.SIG_IGN]  # nohup, `&`: ignored stays ignored
    previous = {signum: signal.signal(signum, request) for signum in caught}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _loop(pipe: LivePipeline, seconds: float | None, window: bool,
          on_update: Callable[[Readouts], None] | None, asked: list | None = None) -> None:
    """Wait for the time, the source's end or Ctrl-C (``asked``), updating the terminal or the window."""
    deadline = None if seconds is None else time.monotonic() + seconds
    next_update, shown, drawn_for = 0.0, None, None
    while not pipe.finished and not asked and (deadline is None or time.monotonic() < deadline):
        if window and pipe.latest is not None:
            if pipe.latest is not drawn_for:  # drawn at the window's rate, into one buffer
                drawn_for = pipe.latest
                shown = drawn_for.annotated(out=shown)
            if not _show(pipe, shown):
                break
        else:
            time.sleep(0.05)
        now = time.monotonic()
        if on_update is not None and now >= next_update and pipe.readouts.frames_displayed:
            on_update(pipe.readouts)
            next_update = now + 0.25
    if window:
        import cv2

        cv2.destroyAllWindows()


def _show(pipe: LivePipeline, frame: np.ndarray) -> bool:
    """Show a frame and handle a key; ``False`` when the user quits."""
    import cv2

    cv2.imshow("edgekit demo (0-9: declare truth, c: clear, space: pause, q: quit)", frame)
    key = cv2.waitKey(15) & 0xFF
    if key in (ord("q"), 27):
        return False
    if ord("0") <= key <= ord("9"):
        pipe.set_ground_truth(chr(key))
    elif key == ord("c"):
        pipe.set_ground_truth(None)
    elif key == ord(" ") and pipe.paused:
        pipe.resume()
    elif key == ord(" "):
        pipe.pause()
    return True

