"""One renderer for :class:`edgekit.progress.ProgressEvent` s on the terminal (a transient rich bar).

Why one: plan, bench, eval, compress, convert, profile and pull all report the
same events; each command opens :func:`progress_bar` and passes what it yields
as ``progress=``. The bar shows the stage, the message, n/N, the whole
operation's share, the elapsed time and the estimate of what is left. It is
silent when stderr is not a terminal, so a failing command prints exactly one
error line there and ``--json`` output stays clean.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.markup import escape

from edgekit.progress import Progress, ProgressEvent, format_duration


@contextlib.contextmanager
def progress_bar(description: str, *, disable: bool | None = None) -> Iterator[Progress]:
    """A transient bar on stderr for the ``with`` block; yields a ``Progress`` to hand to the SDK.

    Args:
        description: what the bar says before the first event.
        disable: ``None`` = show only when stderr is a terminal.
    """
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
    from rich.table import Column

    from edgekit.cli._console import err_console

    if disable is None:
        disable = not err_console.is_terminal
    bar_width, text_width = _widths(err_console.width)
    whole = {"table_column": Column(no_wrap=True)}  # the figures are never cut: the description gives way
    columns = (TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis",
                                                                    width=text_width)),
               *([BarColumn(bar_width=bar_width, **whole)] if bar_width else []), TaskProgressColumn(**whole),
               TimeElapsedColumn(**whole), TextColumn("{task.fields[left]}", **whole))
    with Progress(*columns, console=err_console, transient=True, disable=disable) as bar:
        task = bar.add_task(escape(description), total=None, left="")
        yield lambda event: _show(bar, task, event)


def _widths(width: int) -> tuple[int, int]:
    """``(bar, description)`` widths for a terminal ``width`` columns wide, so the line never wraps and
    the percentage, the elapsed time and the time left are whole. At 80 columns rich's own layout
    squeezed every column alike: "0:00:…", "~20 s le…". The bar goes first below 70 columns."""
    figures = 5 + 8 + 18  # " 100%", " 0:00:04", " ~59 min 59 s left"
    bar = 0 if width < 70 else 10 if width < 110 else 30
    return bar, max(12, width - figures - (bar + 1 if bar else 0) - 1)


def _show(bar, task, event: ProgressEvent) -> None:
    text = f"{event.stage}: {event.message}" if event.message else event.stage
    if event.done is not None and event.total and str(int(event.done)) not in event.message:
        text += f" ({event.done:g}/{event.total:g})"
    left = f"~{format_duration(event.eta_s)} left" if event.eta_s is not None and event.eta_s >= 1 else ""
    fraction = event.fraction
    if fraction is None and event.done is not None and event.total:
        fraction = event.done / event.total
    if fraction is None:
        bar.update(task, description=escape(text), left=left)
    else:
        bar.update(task, description=escape(text), total=1.0, completed=fraction, left=left)
