"""``edgekit demo`` as a function: load, compile, run the live pipeline for a
while, record the annotated video and return the stats.

Headless by default. A window (OpenCV) opens only when asked for and a
display exists; in it, keys 0-9 declare what the camera shows, ``c`` clears
it, space pauses and ``q``/Esc quits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgekit._io import check_writable, write_text_atomic
from edgekit.vision.pipeline import LivePipeline
from edgekit.vision.readouts import Readouts
from edgekit.vision.recorder import VideoRecorder
from edgekit.vision.sources import open_source


@dataclass(frozen=True)
class DemoSettings:
    """What ``edgekit demo`` runs (the CLI and the GUI build the same object).

    Attributes:
        model: model path or name (``demo:digits``).
        source: ``demo``, ``synthetic``, a camera index, URL, video file or image folder.
        backend: ``auto``, ``onnxruntime``, ``openvino`` or ``torch``.
        device, precision: passed to ``compile_session``.
        compare: a second model run as the A/B reference (``None``: no A/B).
        compare_backend: backend for the reference (default: ``backend``).
        reference_every: run the reference on every Nth inferred frame.
        seconds: how long to run (``None``: until the source ends).
        fps: pace a file/generated source like a live camera at this rate.
        record: write the annotated video here.
        json_out: write the stats JSON here.
        window: show an OpenCV window when a display exists.
        force: replace existing ``record``/``json_out`` files.
    """

    model: str = "demo:digits"
    source: str = "demo"
    backend: str = "auto"
    device: str = "cpu"
    precision: str = "fp32"
    compare: str | None = None
    compare_backend: str | None = None
    reference_every: int = 1
    seconds: float | None = 15.0
    fps: float | None = None
    record: str | None = None
    json_out: str | None = None
    window: bool = False
    force: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DemoSettings:
        return cls(**data)


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


def compile_live_session(model: Any, backend: str = "auto", device: str = "cpu", precision: str = "fp32") -> Any:
    """Compile a session for the live pipeline.

    Capture and drawing threads share the cores with inference, so onnxruntime's
    intra-op threads must not spin-wait between frames (measured here: spinning
    threads halved the end-to-end FPS of a small model on 2 cores).
    """
    from edgekit.backends import compile_session
    from edgekit.backends.onnxruntime import OrtOptions

    options = OrtOptions(spin=False) if backend in ("auto", "onnxruntime") else None
    return compile_session(model, backend, device=device, precision=precision, options=options)


def _compile(model_name: str, backend: str, device: str, precision: str) -> Any:
    from edgekit.models import load_model

    return compile_live_session(load_model(model_name), backend, device, precision)


def run_demo(settings: DemoSettings, on_update: Callable[[Readouts], None] | None = None,
             notice: Callable[[str], None] | None = None) -> dict:
    """Run the demo and return the stats (also written to ``settings.json_out``).

    Args:
        settings: what to run.
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
    session = _compile(settings.model, settings.backend, settings.device, settings.precision)
    reference = None
    if settings.compare:
        reference = _compile(settings.compare, settings.compare_backend or settings.backend, settings.device,
                             "fp32")
    source = open_source(settings.source, fps=settings.fps)
    window = settings.window and _window_ok(notice)
    try:
        stats = _run(settings, session, reference, source, window, on_update)
    finally:
        for s in (session, reference):
            if s is not None:
                s.close()
    if settings.json_out:
        write_text_atomic(settings.json_out, json.dumps(stats, indent=2, default=str) + "\n", force=settings.force)
    return stats


def _window_ok(notice: Callable[[str], None]) -> bool:
    problem = display_problem()
    if problem:
        notice(f"--window: {problem}; running headless")
    return problem is None


def _run(settings: DemoSettings, session: Any, reference: Any, source: Any, window: bool,
         on_update: Callable[[Readouts], None] | None) -> dict:
    latest: dict[str, Any] = {}
    recorder = VideoRecorder(settings.record, force=settings.force) if settings.record else None

    def on_result(frame: np.ndarray, readouts: Readouts) -> None:
        if recorder is not None:
            if recorder.frames == 0:  # the source is open now: play back at its own rate
                recorder.fps = source.info.granted_fps or settings.fps or 30.0
            recorder.write(frame)
        latest["frame"] = frame

    pipe = LivePipeline(source, session, reference=reference, reference_every=settings.reference_every,
                        on_result=on_result)
    try:
        pipe.start()
        _loop(pipe, settings.seconds, window, latest, on_update)
    except BaseException:
        pipe.stop()
        if recorder is not None:
            recorder.abort()
        raise
    pipe.stop()
    stats = pipe.summary()
    if recorder is not None:
        written = recorder.close()
        stats["record"] = {"path": None if written is None else str(written), "frames": recorder.frames,
                           "fps": recorder.fps}
    stats["settings"] = settings.to_dict()
    stats["session"] = session.info.to_dict() if hasattr(session, "info") else None
    if pipe.error is not None:
        raise pipe.error
    return stats


def _loop(pipe: LivePipeline, seconds: float | None, window: bool, latest: dict,
          on_update: Callable[[Readouts], None] | None) -> None:
    """Wait for the time or the source to end, updating the terminal or the window."""
    deadline = None if seconds is None else time.monotonic() + seconds
    next_update = 0.0
    while not pipe.finished and (deadline is None or time.monotonic() < deadline):
        if window and "frame" in latest:
            if not _show(pipe, latest["frame"]):
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

