"""A command's ``--help`` that reads in an 80-column terminal.

Why: typer's panels give each option five columns (required mark, name, negative name,
type with its range, description), and at 80 columns the description got 22 characters:
``edgekit plan --help`` ran to 128 lines, its sentences cut every two or three words
("Labelled image / folder (one / sub-folder per / class)"). Below
:data:`PANELS_FROM` columns (and in a pipe, which has none) a command's help is laid out
as click lays it out, name and type on the left and the description 46 characters wide;
wider terminals keep the panels. Only ``--help`` changes: errors keep typer's boxes.

The texts are written for typer's markdown mode, so here they lose their markup
(backticks, bold), and the examples become commands a shell takes as printed: a long
one is broken at spaces with ``\\`` continuations rather than wrapped mid-command.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import shutil
import textwrap
from collections.abc import Iterator
from typing import Any

PANELS_FROM = 100  # terminal columns from which typer's panels are used
_MARKUP = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`")
_NO_REWRAP = "\b"  # click: a paragraph starting with this line is printed as it is


def narrow() -> bool:
    """True where the help would be printed narrower than :data:`PANELS_FROM` columns
    (``COLUMNS`` first, as rich reads it; no terminal counts as 80)."""
    return shutil.get_terminal_size((80, 24)).columns < PANELS_FROM


def fit(command: Any, examples: list[str] | None = None) -> Any:
    """Make ``command`` (and a group's sub-commands) print the plain layout when :func:`narrow`;
    ``examples`` are the command lines its help ends with. Returns ``command``."""
    panels = command.format_help

    def format_help(ctx: Any, formatter: Any) -> None:
        if not narrow() or getattr(command, "rich_markup_mode", None) is None:
            return panels(ctx, formatter)
        saved = (command.rich_markup_mode, command.help, command.epilog,
                 [(p, p.help) for p in command.params if getattr(p, "help", None)])
        command.rich_markup_mode = None  # typer then hands the layout to click
        command.help = unmark(command.help)
        command.epilog = plain_examples(examples, formatter.width) if examples else unmark(command.epilog)
        for param, text in saved[3]:
            param.help = unmark(text)
        listed = [(sub, sub.short_help) for sub in getattr(command, "commands", {}).values()]
        for sub, short in listed:  # a group lists its commands' first sentences whole, not cut at "..."
            sub.short_help = short or unmark((sub.help or "").strip().split("\n\n")[0])
        try:
            with _whole_hyphenated_words(formatter):
                return panels(ctx, formatter)
        finally:
            command.rich_markup_mode, command.help, command.epilog = saved[:3]
            for param, text in saved[3]:
                param.help = text
            for sub, short in listed:
                sub.short_help = short

    command.format_help = format_help
    for sub in getattr(command, "commands", {}).values():  # `edgekit device add`, ...
        fit(sub)
    return command


@contextlib.contextmanager
def _whole_hyphenated_words(formatter: Any) -> Iterator[None]:
    """Click wraps at hyphens ("shorter-" / "crop", "--max-" / "accuracy-drop"): a flag or value cut
    there is typed wrong. Its wrapper is looked up from the ``_textwrap`` module beside the formatter's
    at each call (``typer._click`` in recent typer, the ``click`` package before), so one that keeps
    such words whole stands in while the help is written; where there is none, words wrap as click
    wraps them."""
    try:
        package = importlib.import_module(type(formatter).__module__).__package__
        _textwrap = importlib.import_module(f"{package}._textwrap")
        original = _textwrap.TextWrapper
    except (ImportError, AttributeError, TypeError):
        yield
        return

    class WholeWords(original):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.break_on_hyphens = False

    _textwrap.TextWrapper = WholeWords
    try:
        yield
    finally:
        _textwrap.TextWrapper = original


def unmark(text: str | None) -> str | None:
    """``text`` without its markdown: ``**Examples:**`` -> ``Examples:``, ```edgekit run``` -> ``edgekit run``."""
    if not text:
        return text
    return _MARKUP.sub(lambda m: m.group(1) or m.group(2), text)


def plain_examples(lines: list[str], width: int | None) -> str:
    """An ``Examples:`` block click prints as it is, each command broken with ``\\`` to fit ``width``."""
    room = (width or 78) - 4  # click indents the epilog by 2, and a continued line by 4 more
    shown = []
    for line in lines:
        parts = textwrap.wrap(line, room - 2, subsequent_indent="    ", break_long_words=False,
                              break_on_hyphens=False)
        shown.append(" \\\n".join(parts))
    return "Examples:\n\n" + "\n\n".join(f"{_NO_REWRAP}\n{text}" for text in shown)
