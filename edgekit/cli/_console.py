"""Shared rich consoles and helpers for printing results as tables or JSON."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from rich.live import Live
    from rich.table import Table
    from rich.text import Text

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (for ``--json``), nothing else."""
    print(json.dumps(data, indent=2, default=str))


def shell_arg(value: Any) -> str:
    """``value`` (a path, a model name) as it must be typed in a command we suggest, quoted for a
    POSIX shell where needed and escaped for rich markup: ``edgekit verify 'my bundle'``.

    Why: a hint such as ``edgekit verify my bundle`` for a folder with a space fails when pasted."""
    import shlex

    from rich.markup import escape

    return escape(shlex.quote(str(value)))


def key_value_table(title: str, rows: list[tuple[str, str]]) -> Table:
    """A two-column rich table (bold cyan keys, folded values) of ``rows``."""
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


NARROW = 120  # below this many columns, wide tables drop their secondary columns (never "…" for a number)


def table_console(wide: int) -> Console:
    """The console to print a wide table on: a terminal's own width; for a pipe or file,
    ``$COLUMNS`` when set (``COLUMNS=80 edgekit plan ... > log``), else ``wide``."""
    import os

    if console.is_terminal:
        return console
    columns = os.environ.get("COLUMNS", "")
    return Console(width=int(columns) if columns.isdecimal() and int(columns) > 0 else wide)


# -- messages: notes, warnings, errors and log lines -------------------------------------------------------

_live = None  # the transient one-line readout on ``console`` now (see live_line), or None
_live_lock = threading.RLock()


def print_message(text: str | Text, *, to: Console | None = None, indent: int = 2, markup: bool = True) -> None:
    """Print one message (a note, warning, error or log line) on ``to`` (default: stderr).

    On a terminal it is word-wrapped at the terminal's width, the lines after the first indented by
    ``indent`` (a hanging indent), never split mid-word by the terminal; while a :func:`live_line`
    readout is on screen it lands above the readout, not after it. Not on a terminal (a pipe, a file),
    it stays one line, however long: scripts grep for it.

    Args:
        text: rich markup (escape what comes from outside) unless ``markup=False``, or a ``Text``.
        to: the console; ``None`` = ``err_console``.
        indent: columns the second and later lines are indented by.
        markup: read ``text`` as rich markup.
    """
    con = err_console if to is None else to
    if isinstance(text, str):
        text = con.render_str(text, markup=markup, highlight=False)
    if not con.is_terminal:
        con.print(text, soft_wrap=True, highlight=False)
        return
    wrapped = hanging_indent(text, con.width, indent)
    with _live_lock:
        live = _live if _live is not None and _live.console is not con else None  # on its own console: rich does it
        if live is not None:
            live.stop()  # transient: the readout's line is cleared and the cursor is back at its start
        try:
            con.print(wrapped, soft_wrap=True, highlight=False)  # wrapped already: printed as is
        finally:
            if live is not None:
                live.start(refresh=True)


def hanging_indent(text: Text, width: int, indent: int = 2) -> Text:
    """``text`` word-wrapped at ``width`` columns, each line after a paragraph's first indented by ``indent``
    (a word longer than a line is folded); its own line breaks are kept."""
    from rich.text import Text

    width = max(width, 1)
    indent = min(max(indent, 0), width // 2)
    lines: list[Text] = []
    for paragraph in text.split("\n", allow_blank=True):
        first = paragraph.wrap(console, width, overflow="fold")
        if len(first) <= 1:
            lines.append(paragraph)
            continue
        lines.append(first[0].copy())
        lines[-1].rstrip()
        rest = paragraph[len(first[0].plain):]
        rest = rest[len(rest.plain) - len(rest.plain.lstrip()):]  # the spaces the line broke at
        for line in rest.wrap(console, width - indent, overflow="fold"):
            line.rstrip()
            lines.append(Text(" " * indent) + line)
    return Text("\n").join(lines)


@contextlib.contextmanager
def live_line(text: str) -> Iterator[Live]:
    """A transient one-line readout on stdout (a terminal) for the ``with`` block; ``update`` it with
    ``live.update(Text(...))``. What :func:`print_message` prints meanwhile (also on stderr) goes above it."""
    global _live
    from rich.live import Live
    from rich.text import Text

    with Live(Text(text), console=console, refresh_per_second=4, transient=True) as live:
        with _live_lock:
            _live = live
        try:
            yield live
        finally:
            with _live_lock:
                _live = None
