"""What every page has: a title, an inline message banner, the shared state and a job runner."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from edgekit_gui.jobs import JobRunner
from edgekit_gui.state import AppState
from edgekit_gui.widgets.banner import MessageBanner


def event_fraction(event: Any) -> float | None:
    """The whole operation's 0..1 of a progress event (or its n/N when that is all it says)."""
    if event.fraction is not None:
        return event.fraction
    return event.done / event.total if event.done is not None and event.total else None


def describe_event(event: Any) -> str:
    """``building onnxruntime/cpu/int8: calibrating 120/300 samples · 1 min 10 s elapsed, ~2 min left``."""
    from edgekit.progress import format_duration

    text = f"{event.stage}: {event.message}" if event.message else event.stage
    times = []
    if event.elapsed_s is not None and event.elapsed_s >= 1:
        times.append(f"{format_duration(event.elapsed_s)} elapsed")
    if event.eta_s is not None and event.eta_s >= 1:
        times.append(f"~{format_duration(event.eta_s)} left")
    return text + (" · " + ", ".join(times) if times else "")


class Page(QWidget):
    """Base of the sidebar pages. Subclasses fill ``self.content`` (a vertical layout).

    A page that runs one cancellable job at a time keeps it in ``self.job`` and shows its
    :class:`edgekit.progress.ProgressEvent` s in ``self.progress`` (a QProgressBar) and ``self.status``
    (a QLabel): :meth:`cancel` and :meth:`_progress` serve such pages.
    """

    title = "Page"
    scrolls = True  # False for pages that manage their own space (live demo)
    job: Any = None  # the page's running Job, if any

    def __init__(self, state: AppState, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.setObjectName(type(self).__name__)
        outer = QVBoxLayout(self)
        # the banner shares the title's row: below it, a message appearing pushed the page's buttons down
        # under the pointer (a click aimed at Cancel as a job started could land on the next row)
        top = QHBoxLayout()
        heading = QLabel(f"<h2>{self.title}</h2>")
        top.addWidget(heading, 0, Qt.AlignmentFlag.AlignTop)
        top.addSpacing(12)
        self.banner = MessageBanner(self)
        top.addWidget(self.banner, 1, Qt.AlignmentFlag.AlignVCenter)
        heading.setMinimumHeight(self.banner.line_height())
        outer.addLayout(top)
        self.body = QWidget()
        self.content = QVBoxLayout(self.body)
        self.content.setContentsMargins(0, 0, 0, 0)
        if self.scrolls:
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setWidget(self.body)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            outer.addWidget(scroll, 1)
        else:
            outer.addWidget(self.body, 1)

    def start_job(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``self.runner.start(fn, ...)``, with the SDK's warnings raised in the worker shown in this page's
        banner (under whatever message it shows) instead of only in the log; the last job's are dropped."""
        from edgekit.errors import EdgekitWarning

        def warned(args: tuple) -> None:
            if isinstance(args[1], type) and issubclass(args[1], EdgekitWarning):  # not a library's deprecation
                self.banner.warn(str(args[0]))

        self.banner.forget_warnings()
        job = self.runner.start(fn, *args, **kwargs)
        job.signals.warned.connect(warned)
        return job

    def cancel(self) -> None:
        """Ask the running job to stop at its next progress report."""
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Cancelling…")

    def _show_cancelled(self, message: str) -> None:
        """The job stopped on request: the banner, the status line and the bar all say so (the
        status no longer reads "Cancelling…", the bar no longer stands where the job stopped)."""
        self.banner.show_info(message)
        self.status.setText(message)
        self.progress.setValue(0)

    def _progress(self, event: Any) -> None:
        """Show one :class:`~edgekit.progress.ProgressEvent`: the bar from its fraction, the text from it."""
        fraction = event_fraction(event)
        if fraction is not None:
            self.progress.setValue(round(100 * fraction))
        self.status.setText(describe_event(event))

    def on_shown(self) -> None:
        """Called when the page becomes visible (override to load lazily)."""

    def shutdown(self) -> None:
        """Called when the window closes: stop anything the page runs outside the runner."""
