"""Starting and stopping a :class:`edgekit.vision.LivePipeline` off the GUI thread.

The page describes the run as an :class:`edgekit.vision.config.LiveConfig` -- the
same object ``edgekit demo`` builds and ``edgekit run live.yaml`` replays.
Compiling a model and opening a camera take from milliseconds to seconds,
so both happen in a worker; the pipeline then runs on its own threads with no
callback, and the page's :class:`~edgekit_gui.live.follow.FrameFollower` takes its newest frame
(a ``LiveFrame``, drawn when shown) at the view's rate.
"""

from __future__ import annotations

from typing import Any

from edgekit.errors import Cancelled
from edgekit.progress import emit


def start_pipeline(config: Any, progress: Any) -> tuple[Any, tuple, tuple]:
    """Worker: compile, open the source, start the pipeline; returns it running, the class names
    (the source's, else the model's) for the ground-truth picker, and the start-up notes for the
    page's banner (how ``auto`` chose, caveats on the accuracy shown).

    Raises:
        SourceError / ModelLoadError / BackendUnavailable / ConfigError: with the SDK's sentence.
    """
    from edgekit.vision import LivePipeline
    from edgekit.vision.config import sessions_and_source, startup_notes

    what = config.describe() + (f", A/B against {config.describe('compare')}" if config.has_reference else "")
    emit(progress, "compiling", what, fraction=0.0)
    # a detector on "demo": the labelled detection stream; a camera at its default rate: opened first
    main, reference, source = sessions_and_source(config)
    try:
        emit(progress, "opening", str(getattr(getattr(source, "info", None), "name", None) or config.source),
             fraction=0.6)
        pipe = LivePipeline(source, main, reference=reference, reference_every=config.reference_every)
        pipe.set_detection_view(config.conf, config.classes)  # the slider and class filter, checked first
    except BaseException:  # a cancel at "opening" too: nothing is left open
        source.close()
        for session in (main, reference):
            if session is not None:
                session.close()
        raise
    pipe.start()
    try:
        emit(progress, "running", "", fraction=1.0)
    except Cancelled:
        pipe.stop(timeout=1.0)
        raise
    classes = source.info.classes or getattr(main.model, "labels", None) or ()
    return pipe, tuple(str(c) for c in classes), tuple(startup_notes(main, reference))  # for the page's banner


def stop_pipeline(pipe: Any, progress: Any) -> dict:
    """Worker: stop the pipeline's threads and close its source; returns its summary."""
    pipe.stop(timeout=1.5)
    return pipe.summary()
