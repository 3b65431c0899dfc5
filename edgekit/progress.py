"""One progress/cancel vocabulary for every long operation (plan, bench, compress, eval, deploy, download).

Why: four callback shapes had grown (``(done, total)``, ``(fraction, message)``,
``(message)``, ``(what, fraction)``); the CLI, the GUI and a child process each
had to translate them. Now every long operation takes ``progress: Progress``, a
callable receiving one :class:`ProgressEvent`. Cancelling works the same way
everywhere: the callback (or :meth:`CancelToken.check`) raises
:class:`~edgekit.errors.Cancelled`, and the operation stops at the next event,
cleaning up what it wrote.

Example:
    >>> from edgekit.progress import ProgressEvent, emit
    >>> seen = []
    >>> emit(seen.append, "calibrating", "int8 on onnxruntime", done=3, total=10)
    >>> seen[0].stage, seen[0].done, seen[0].total
    ('calibrating', 3, 10)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Union

from edgekit.errors import Cancelled


@dataclass(frozen=True)
class ProgressEvent:
    """A step of a long operation.

    ``stage`` names what is going on (``"building"``, ``"calibrating"``,
    ``"accuracy"``, ``"benchmark"``, ``"download"``, ...); ``done``/``total``
    count units inside that stage when they are known (images, bytes,
    candidates); ``fraction`` is the whole operation's 0..1 when the operation
    can tell; ``eta_s`` the seconds it expects are left of the whole operation,
    if it can estimate them; ``elapsed_s`` the seconds since it started.
    """

    stage: str
    message: str = ""
    done: float | None = None
    total: float | None = None
    fraction: float | None = None
    eta_s: float | None = None
    elapsed_s: float | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict (the form sent over a pipe by a child process)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ProgressEvent:
        """The event :meth:`to_dict` wrote."""
        names = ("stage", "message", "done", "total", "fraction", "eta_s", "elapsed_s")
        return cls(**{k: data[k] for k in names if k in data})

    def describe(self) -> str:
        """One line for a terminal or a status bar: ``calibrating int8 (3/10)``."""
        text = f"{self.stage}: {self.message}" if self.message else self.stage
        if self.done is not None and self.total:
            text += f" ({self.done:g}/{self.total:g})"
        if self.eta_s is not None and self.eta_s >= 1:
            text += f", ~{format_duration(self.eta_s)} left"
        return text


Progress = Callable[[ProgressEvent], None]
"""What every long operation accepts as ``progress=``; it may raise ``Cancelled``."""

Cancel = Union["CancelToken", threading.Event, Callable[[], bool], None]
"""What an operation with a ``cancel=`` parameter accepts: a token, an Event, or a callable returning True."""


def emit(progress: Progress | None, stage: str, message: str = "", **counts: float | None) -> None:
    """Send one event to ``progress`` if there is one (``counts``: done, total, fraction, eta_s, elapsed_s)."""
    if progress is not None:
        progress(ProgressEvent(stage, message, **counts))


def check_cancel(cancel: Cancel, what: str = "cancelled by the user") -> None:
    """Raise :class:`Cancelled` (with ``what``) when ``cancel`` has fired; ``None`` never fires."""
    if cancel is None:
        return
    fired = cancel.is_set() if hasattr(cancel, "is_set") else bool(cancel())
    if fired:
        raise Cancelled(what)


def scaled(progress: Progress | None, start: float, end: float, stage: str | None = None) -> Progress | None:
    """A ``Progress`` for a sub-operation that fills ``start..end`` of the caller's fraction.

    Why: a plan runs ``bench`` and ``evaluate`` inside it; their own 0..1 becomes
    a slice of the plan's bar, while their stage, message and counts pass through
    (``stage`` renames the sub-operation's stage, e.g. ``"benchmarking"``).
    """
    if progress is None:
        return None

    def report(event: ProgressEvent) -> None:
        inner = event.fraction
        if inner is None and event.done is not None and event.total:
            inner = event.done / event.total
        fraction = None if inner is None else start + (end - start) * min(1.0, max(0.0, inner))
        progress(replace(event, stage=stage or event.stage, fraction=fraction, eta_s=None))

    return report


class CancelToken:
    """A thread-safe cancel flag a caller hands in and flips from another thread.

    Example:
        >>> token = CancelToken()
        >>> token.cancel()
        >>> token.check()
        Traceback (most recent call last):
        edgekit.errors.Cancelled: cancelled by the user
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the operation to stop at its next progress event."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def is_set(self) -> bool:
        """Same as :attr:`cancelled` (so a token goes wherever a ``threading.Event`` does)."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancel was asked for."""
        if self._event.is_set():
            raise Cancelled("cancelled by the user")

    def wrap(self, progress: Progress | None = None) -> Progress:
        """A ``Progress`` that checks this token, then forwards to ``progress``."""

        def report(event: ProgressEvent) -> None:
            self.check()
            if progress is not None:
                progress(event)

        return report


class StageClock:
    """Estimates the time left from how long finished units took.

    Why: a plan that sits at 51 % for minutes looks hung; an estimate from the
    stage timings seen so far says it is not.
    """

    def __init__(self, total_units: float) -> None:
        self.total = float(total_units)
        self.start = time.monotonic()

    @property
    def elapsed(self) -> float:
        """Seconds since the clock started."""
        return time.monotonic() - self.start

    def eta(self, done_units: float) -> float | None:
        """Seconds left at ``done_units`` of ``total``; None before the first unit."""
        if done_units <= 0 or self.total <= 0:
            return None
        return max(0.0, self.elapsed * (self.total - done_units) / done_units)


def format_duration(seconds: float) -> str:
    """``42 s`` or ``3 min 05 s``."""
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
