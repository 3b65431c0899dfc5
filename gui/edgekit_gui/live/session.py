"""Starting and stopping a :class:`edgekit.vision.LivePipeline` off the GUI thread.

Compiling a model and opening a camera take from milliseconds to seconds,
so both happen in a worker; the pipeline then runs on its own threads and
hands every annotated frame to ``on_result`` (which posts it to the GUI's
newest-wins :class:`~edgekit_gui.live.bridge.FrameBridge`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edgekit.errors import Cancelled


@dataclass(frozen=True)
class PredictorChoice:
    """What to run: a Model, a plan Candidate or a model name, on a backend (``"as planned"`` = the candidate's)."""

    source: Any
    backend: str = "auto"

    def describe(self) -> str:
        src = self.source
        name = getattr(src, "key", None) or getattr(src, "name", None) or str(src)
        return f"{name} on {self.backend}"


@dataclass(frozen=True)
class LiveRequest:
    """Everything the worker needs to start a run (plain values, safe to pass across threads)."""

    source: Any  # open_source() text ("demo", "0", a file or folder) or a FrameSource
    fps: float | None
    main: PredictorChoice
    reference: PredictorChoice | None = None
    loop: bool = True


def compile_choice(choice: PredictorChoice) -> Any:
    """A compiled session for ``choice`` (loads names, honours a candidate's backend/device/precision)."""
    from edgekit.models import Model, load_model
    from edgekit.vision.demo import compile_live_session

    src = choice.source
    if hasattr(src, "key") and hasattr(src, "model"):  # a plan Candidate
        model = src.model_obj if src.model_obj is not None else Model.from_dict(src.model)
        backend = src.backend if choice.backend in ("as planned", "auto") else choice.backend
        return compile_live_session(model, backend, device=src.device, precision=src.precision)
    model = src if isinstance(src, Model) else load_model(str(src))
    return compile_live_session(model, choice.backend)


def start_pipeline(request: LiveRequest, on_result: Callable[[Any, Any], None], progress: Any) -> tuple[Any, tuple]:
    """Worker: compile, open the source, start the pipeline; returns it running and the class names
    (the source's, else the model's) for the ground-truth picker.

    Raises:
        SourceError / ModelLoadError / BackendUnavailable: with the SDK's sentence.
    """
    from edgekit.vision import LivePipeline, open_source

    progress(f"Compiling {request.main.describe()}…")
    main = compile_choice(request.main)
    reference = None
    if request.reference is not None:
        progress(f"Compiling {request.reference.describe()} for A/B…")
        reference = compile_choice(request.reference)
    spec = request.source
    progress(f"Opening source {getattr(getattr(spec, 'info', None), 'name', spec)}…")
    source = open_source(spec, fps=request.fps, loop=request.loop) if isinstance(spec, (str, int)) else spec
    pipe = LivePipeline(source, main, reference=reference, on_result=on_result)
    pipe.start()
    try:
        progress("Running.")
    except Cancelled:
        pipe.stop(timeout=1.0)
        raise
    classes = source.info.classes or getattr(main.model, "labels", None) or ()
    return pipe, tuple(str(c) for c in classes)


def stop_pipeline(pipe: Any, progress: Any) -> dict:
    """Worker: stop the pipeline's threads and close its source; returns its summary."""
    pipe.stop(timeout=1.5)
    return pipe.summary()
