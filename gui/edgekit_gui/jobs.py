"""Long SDK calls on the global ``QThreadPool``, with progress, cancel and results as signals.

A job wraps a plain function ``fn(*args, progress=report[, cancel=event])``
(``cancel`` is passed when ``fn`` has such a parameter: a ``threading.Event``
that SDK functions like ``bench`` poll). The worker
calls ``report(event)`` whenever it has news: the event travels to the GUI
thread as ``progress`` and the call is also a cancel point (it raises
:class:`edgekit.errors.Cancelled` once :meth:`Job.cancel` was asked). A
generator function works too: each ``yield`` is reported and is a cancel
point. Results and errors come back as signals; the GUI thread never waits.
"""

from __future__ import annotations

import inspect
import threading
import traceback
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from edgekit.errors import Cancelled


class JobSignals(QObject):
    """What a job tells the GUI thread, in this order: started, progress*, returned|errored|cancelled, finished."""

    started = Signal()
    progress = Signal(object)
    returned = Signal(object)
    errored = Signal(object)  # the exception, with ``__traceback_text__`` set
    cancelled = Signal()
    finished = Signal()


class Job(QRunnable):
    """One call of ``fn`` on a pool thread; see the module docstring."""

    unfinished: ClassVar[set[Job]] = set()  # every job started and not finished, for a last-resort stop

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = JobSignals()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._cancel = threading.Event()
        self.done = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next progress report or ``yield``."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        """True once :meth:`cancel` was called (read by the worker)."""
        return self._cancel.is_set()

    def report(self, event: Any = None) -> None:
        """Send ``event`` to the GUI thread; raise ``Cancelled`` if a cancel was asked."""
        if self._cancel.is_set():
            raise Cancelled("cancelled by the user")
        self.signals.progress.emit(event)

    def run(self) -> None:
        Job.unfinished.add(self)
        self.signals.started.emit()
        try:
            if self._cancel.is_set():  # cancelled before a pool thread picked it up
                raise Cancelled("cancelled before it started")
            result = self._call()
        except Cancelled:
            self.signals.cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - every error goes to the GUI, none crashes the app
            if self._cancel.is_set():
                self.signals.cancelled.emit()
            else:
                exc.__traceback_text__ = traceback.format_exc()
                self.signals.errored.emit(exc)
        else:
            if self._cancel.is_set():
                self.signals.cancelled.emit()
            else:
                self.signals.returned.emit(result)
        finally:
            Job.unfinished.discard(self)
            self.done.set()
            self.signals.finished.emit()

    def _call(self) -> Any:
        if inspect.isgeneratorfunction(self._fn):
            gen = self._fn(*self._args, **self._kwargs)
            try:
                while True:
                    self.report(next(gen))
            except StopIteration as stop:
                return stop.value
            finally:
                gen.close()
        extra = {"progress": self.report}
        if "cancel" in inspect.signature(self._fn).parameters:
            extra["cancel"] = self._cancel  # a threading.Event the SDK polls between steps
        return self._fn(*self._args, **extra, **self._kwargs)


class JobRunner(QObject):
    """Starts jobs, keeps them alive until they finish, and stops them all on close."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: set[Job] = set()

    def start(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_progress: Callable[[Any], None] | None = None,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_done: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> Job:
        """Run ``fn`` on the global thread pool and connect the given slots."""
        job = Job(fn, *args, **kwargs)
        for signal, slot in (
            (job.signals.progress, on_progress),
            (job.signals.returned, on_result),
            (job.signals.errored, on_error),
            (job.signals.finished, on_done),
        ):
            if slot is not None:
                signal.connect(slot)
        job.signals.finished.connect(lambda: self._jobs.discard(job))
        self._jobs.add(job)
        # Queued like superqt's workers: the caller can connect to ``job.signals`` before
        # anything is emitted, and the job starts as soon as the event loop turns.
        QTimer.singleShot(0, self, lambda: QThreadPool.globalInstance().start(job))
        return job

    @property
    def running(self) -> int:
        """Number of jobs not yet finished."""
        return sum(1 for j in self._jobs if not j.done.is_set())

    def stop_all(self, msecs: int = 2000) -> bool:
        """Cancel every job and wait up to ``msecs`` for the pool; True when all stopped."""
        for job in list(self._jobs):
            job.cancel()
        return QThreadPool.globalInstance().waitForDone(msecs)

    def __len__(self) -> int:
        return len(self._jobs)


def cancel_all_jobs(msecs: int = 2000) -> bool:
    """Cancel every unfinished job of any runner and wait up to ``msecs``; True when the pool is idle."""
    for job in list(Job.unfinished):
        job.cancel()
    return QThreadPool.globalInstance().waitForDone(msecs)
