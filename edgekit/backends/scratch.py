"""A private folder where backends keep compiled models for the length of one job.

Why: the planner compiles each candidate twice, once to score its accuracy and
once to time it, with the same settings. OpenVINO's compile is the slow one
(0.3-1.0 s per candidate for MobileNetV2 x0.5 on a 2-core EPYC; importing its
exported blob: 0.05-0.1 s), and its own ``CACHE_DIR`` is off unless asked for,
because a cache the user did not ask for would grow on their disk with every
file compiled. Inside :func:`compile_scratch` a backend whose cache is off
caches into a temporary folder that is removed when the job ends, so the
second compile of a file is an import and nothing is left behind.

onnxruntime ignores it: it keeps its optimized graphs in the user cache already.
The folder is held in a context variable, so a plan running in one thread (the
desktop app's worker) does not change what a benchmark in another compiles.
"""

from __future__ import annotations

import contextlib
import contextvars
import tempfile
from collections.abc import Iterator
from pathlib import Path

_FOLDER: contextvars.ContextVar[Path | None] = contextvars.ContextVar("edgekit_compile_scratch", default=None)


@contextlib.contextmanager
def compile_scratch() -> Iterator[Path]:
    """Compiled models made inside (in this thread) are kept in a temporary folder, removed at the end."""
    # a blob still mapped by a live compiled model cannot be deleted on Windows: left to the OS then
    with tempfile.TemporaryDirectory(prefix="edgekit-compiled-", ignore_cleanup_errors=True) as folder:
        token = _FOLDER.set(Path(folder))
        try:
            yield Path(folder)
        finally:
            _FOLDER.reset(token)


def scratch_folder() -> Path | None:
    """The folder of the :func:`compile_scratch` in force here, or ``None``."""
    return _FOLDER.get()
