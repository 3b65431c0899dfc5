"""Long SDK calls on the global ``QThreadPool`` as superqt workers, with progress, cancel and results as signals.

A job wraps a plain function ``fn(*args, progress=report[, cancel=token])``
(``cancel`` is passed when ``fn`` has such a parameter: an
:class:`edgekit.progress.CancelToken` that SDK functions like ``bench`` and
``run_plan_process`` poll). The worker calls ``report(event)`` -- an
:class:`edgekit.progress.ProgressEvent`, the SDK's one progress vocabulary --
whenever it has news: the event travels to the GUI thread as ``progress`` and
the call is also a cancel point (it raises :class:`edgekit.errors.Cancelled`
once :meth:`Job.cancel` was asked). A generator function works too: each
``yield`` is reported and is a cancel point. Results and errors come back as
signals; the GUI thread never waits.

:class:`Job` is a superqt ``WorkerBase`` (the napari pattern): superqt runs it
on the pool and emits ``started``/``returned``/``errored``/``finished``; the
job adds ``progress`` and ``cancelled``, and turns a ``Cancelled`` (or any
error after a cancel request) into ``cancelled`` instead of ``errored``.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from superqt.utils import WorkerBase

from edgekit.errors import Cancelled
from edgekit.progress import CancelToken

MIN_INTERVAL_S = 0.05  # at most ~20 counting updates a second reach the GUI thread per job


class JobSignals(QObject):
    """What a job tells the GUI thread, in this order: started, progress*, returned|errored|cancelled, finished.

    The first six are the ones superqt's ``WorkerBase.run`` emits (its ``WorkerBaseSignals``,
    which superqt does not export); ``progress`` and ``cancelled`` are the job's own.
    """

    started = Signal()
    finished = Signal()
    _finished = Signal(object)  # superqt: drop the worker from its set of running workers
    returned = Signal(object)
    errored = Signal(object)  # the exception, with ``__traceback_text__`` set
    warned = Signal(tuple)  # ``warnings.showwarning`` arguments of a warning raised on the worker
    progress = Signal(object)  # an edgekit.progress.ProgressEvent (or what a generator yields)
    cancelled = Signal()


class Job(WorkerBase):
    """One call of ``fn`` on a pool thread; see the module docstring."""

    unfinished: ClassVar[set[Job]] = set()  # every job running and not finished, for a last-resort stop

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(SignalsClass=JobSignals)
        self.setAutoDelete(False)
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._cancel = CancelToken()
        self._last_sent = 0.0
        self.done = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next progress report or ``yield``."""
        self._cancel.cancel()
        self.quit()

    @property
    def cancel_requested(self) -> bool:
        """True once :meth:`cancel` was called (read by the worker)."""
        return self._cancel.cancelled

    def report(self, event: Any = None) -> None:
        """Send ``event`` to the GUI thread; raise ``Cancelled`` if a cancel was asked.

        Counting events (n/N images or samples) closer than :data:`MIN_INTERVAL_S` to the last one sent
        are dropped here: a batch-1 model evaluates hundreds of images a second, and the window
        needs no more than a few updates a second. Step events, the last of a count and the final
        event always go through; every call is still a cancel point.
        """
        self._cancel.check()
        now = time.monotonic()
        if _is_count(event) and now - self._last_sent < MIN_INTERVAL_S:
            return
        self._last_sent = now
        self.signals.progress.emit(event)

    def run(self) -> None:
        """superqt's run (started, work, returned|errored, finished), tolerating an app that closed meanwhile:
        once Qt has deleted the signal object nobody listens, and a traceback would only alarm the user."""
        try:
            super().run()
        except RuntimeError as exc:
            if "deleted" not in str(exc):
                raise
        finally:
            self.done.set()

    def work(self) -> Any:
        """superqt calls this on the pool thread; ``None`` with ``abort_requested`` set means cancelled."""
        Job.unfinished.add(self)
        try:
            if self.cancel_requested:  # cancelled before a pool thread picked it up
                raise Cancelled("cancelled before it started")
            result = self._call()
        except Cancelled:
            return self._cancelled()
        except BaseException as exc:  # every error goes to the GUI, none crashes the app
            if self.cancel_requested:
                return self._cancelled()
            exc.__traceback_text__ = traceback.format_exc()
            if not isinstance(exc, Exception):  # superqt reports Exceptions only
                exc = RuntimeError(f"{type(exc).__name__}: {exc}")
                exc.__traceback_text__ = traceback.format_exc()
            raise exc from None
        finally:
            Job.unfinished.discard(self)
            self.done.set()
        if self.cancel_requested:
            return self._cancelled()
        return result

    def _cancelled(self) -> None:
        self._abort_requested = True  # superqt then emits neither returned nor errored
        try:
            self.signals.cancelled.emit()
        except RuntimeError:  # the app closed and Qt deleted the signal object: nobody is listening
            pass

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
            extra["cancel"] = self._cancel  # a CancelToken the SDK polls between steps
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
        job.signals.warned.connect(_log_warning)
        job.signals.finished.connect(lambda: self._jobs.discard(job))
        self._jobs.add(job)
        # Queued: the caller can connect to ``job.signals`` before anything is emitted.
        QTimer.singleShot(0, self, job.start)
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


def _is_count(event: Any) -> bool:
    """A ProgressEvent in the middle of counting units (may be coalesced), not a step, a last unit or the end."""
    done, total = getattr(event, "done", None), getattr(event, "total", None)
    return done is not None and bool(total) and done < total and getattr(event, "fraction", None) != 1.0


def _log_warning(args: tuple) -> None:
    """A warning raised on a worker (superqt routes it here instead of stderr) goes to the log."""
    message, category = args[0], args[1]
    logging.getLogger("edgekit_gui").warning("%s: %s", getattr(category, "__name__", category), message)


def cancel_all_jobs(msecs: int = 2000) -> bool:
    """Cancel every unfinished job of any runner and wait up to ``msecs``; True when the pool is idle."""
    for job in list(Job.unfinished):
        job.cancel()
    return QThreadPool.globalInstance().waitForDone(msecs)
