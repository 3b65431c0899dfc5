"""Notes, warnings and log lines in an 80-column terminal: wrapped at words under a hanging indent
(the terminal used to cut them mid-word: "which runti" / "mes run"), printed above the demo's live
readout (not after its "starting..."), and still one line each in a pipe, where scripts grep them."""

from __future__ import annotations

import io
import re
import warnings
from types import SimpleNamespace

import pytest
from rich.console import Console

from edgekit.cli import _console

NOTE = ("auto: this model is int8-dynamic (quantized at run time), which runtimes run very differently; "
        "measured per frame here: openvino 74.7 ms, onnxruntime 182.3 ms; running on openvino")
LOG = ("Rejected onnxruntime/cpu/int8-dynamic: ran 6.1x slower per image than its backend's FP32 while its "
       "accuracy was scored (26.4 ms vs 4.32 ms per image), so scoring stopped early; its latency is measured below")


def screen(data: str, columns: int = 80) -> list[str]:
    """What a ``columns``-wide terminal shows after ``data``: enough of a VT100 for rich's output
    (auto-wrap at the last column, CR, newline, cursor up/down/column, erase in line; colours ignored)."""
    rows: list[list[str]] = [[]]
    row = col = 0
    pending = False  # the cursor sits past the last column: the next character wraps
    for token in re.findall(r"\x1b\[[?0-9;]*[A-Za-z]|\x1b.|.", data, re.DOTALL):
        if token.startswith("\x1b["):
            n = int(re.sub(r"\D", "", token[2:-1]) or 1) if not token.startswith("\x1b[?") else 0
            kind = token[-1]
            if kind == "A":
                row = max(row - n, 0)
            elif kind == "B":
                row += n
            elif kind == "C":
                col = min(col + n, columns - 1)
            elif kind == "D":
                col = max(col - n, 0)
            elif kind == "G":
                col = n - 1
            elif kind == "K":
                mode = int(re.sub(r"\D", "", token[2:-1]) or 0)
                while len(rows) <= row:
                    rows.append([])
                line = rows[row]
                if mode == 2:
                    rows[row] = []
                elif mode == 0:
                    del line[col:]
                else:
                    line[:col + 1] = [" "] * min(col + 1, len(line))
            pending = pending and kind == "m"
            continue
        if token.startswith("\x1b"):
            continue
        if token == "\r":
            col, pending = 0, False
        elif token == "\n":  # a terminal's line discipline sends it as CR LF
            row, col, pending = row + 1, 0, False
        else:
            if pending:
                row, col, pending = row + 1, 0, False
            while len(rows) <= row:
                rows.append([])
            line = rows[row]
            line.extend(" " * (col + 1 - len(line)))
            line[col] = token
            if col == columns - 1:
                pending = True
            else:
                col += 1
        while len(rows) <= row:
            rows.append([])
    lines = ["".join(r).rstrip() for r in rows]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _terminal(columns: int = 80, file: io.StringIO | None = None) -> Console:
    return Console(file=file or io.StringIO(), force_terminal=True, width=columns, color_system="standard")


def _words_intact(lines: list[str], text: str) -> None:
    assert all(len(line) <= 80 for line in lines), lines
    assert " ".join(" ".join(lines).split()) == " ".join(text.split()), lines  # every word whole, none split


def test_a_message_wraps_at_words_under_a_hanging_indent_on_a_terminal():
    con = _terminal()
    _console.print_message(f"[yellow]warning:[/] {NOTE}", to=con)
    lines = screen(con.file.getvalue())
    assert len(lines) == 3 and lines[0].startswith("warning: auto:")
    assert all(line.startswith("  ") and not line.startswith("   ") for line in lines[1:]), lines
    _words_intact(lines, f"warning: {NOTE}")


def test_a_message_stays_one_line_in_a_pipe():
    con = Console(file=io.StringIO(), force_terminal=False, width=80)
    _console.print_message(f"note: {NOTE}", to=con)
    assert con.file.getvalue() == f"note: {NOTE}\n"


def test_a_word_longer_than_the_line_is_folded_not_lost():
    con = _terminal(40)
    _console.print_message("see " + "x" * 100 + " end", to=con)
    lines = con.file.getvalue().splitlines()
    assert all(len(line) <= 40 for line in lines) and "".join(lines).replace(" ", "") == "see" + "x" * 100 + "end"


@pytest.fixture
def shared_terminal(monkeypatch):
    """stdout and stderr on one 80-column terminal, as in a shell."""
    out = io.StringIO()
    monkeypatch.setattr(_console, "console", _terminal(file=out))
    monkeypatch.setattr(_console, "err_console", Console(file=out, force_terminal=True, width=80, stderr=True,
                                                         color_system="standard"))
    return out


def test_the_demo_prints_its_notes_above_the_live_readout_not_after_starting(shared_terminal, monkeypatch):
    """The first notes of `edgekit demo` followed "starting..." on its line, pre-wrapped at 80 columns,
    so the terminal broke them mid-word: "starting...auto: this ... which runti" / "mes run"."""
    import edgekit.vision.demo
    from edgekit.cli import demo

    def run_demo(config, on_update=None, notice=None):
        notice(NOTE)
        notice("live workers: 2 one-thread runs side by side, 451 frames/s, beat one 2-thread run, 219 frames/s "
               "(x2.29, median of 3 interleaved rounds); 2.6 ms per frame")
        return {}

    monkeypatch.setattr(edgekit.vision.demo, "run_demo", run_demo)
    monkeypatch.setattr(demo, "summary_table", lambda stats, seconds=None: "SUMMARY")
    demo.run_live(SimpleNamespace(seconds=3, record=None, json_out=None))
    lines = screen(shared_terminal.getvalue())
    assert not any("starting..." in line for line in lines), lines
    assert lines[0].startswith("auto: this model") and lines[-1] == "SUMMARY", lines
    _words_intact(lines[:3], NOTE)
    assert lines[3].startswith("live workers: 2") and lines[4].startswith("  "), lines


def test_the_live_readout_waits_for_a_rate_before_it_shows_numbers(shared_terminal, monkeypatch):
    """The first readout came with one frame shown, before any rate: "0.0 FPS shown ... e2e p50 0.0 ms"."""
    import edgekit.vision.demo
    from edgekit.cli import demo

    def run_demo(config, on_update=None, notice=None):
        on_update(SimpleNamespace(frames_displayed=1, line=lambda width=None: "   0.0 FPS shown"))
        on_update(SimpleNamespace(frames_displayed=9, line=lambda width=None: "  31.2 FPS shown"))
        return {}

    import contextlib

    shown: list[str] = []  # every readout handed to the live line (rich draws only some of them)

    @contextlib.contextmanager
    def live_line(text):
        yield SimpleNamespace(update=lambda renderable: shown.append(str(renderable)))

    monkeypatch.setattr(edgekit.vision.demo, "run_demo", run_demo)
    monkeypatch.setattr(_console, "live_line", live_line)
    monkeypatch.setattr(demo, "summary_table", lambda stats, seconds=None: "SUMMARY")
    demo.run_live(SimpleNamespace(seconds=3, record=None, json_out=None))
    assert shown == ["  31.2 FPS shown"]


def test_a_warning_during_the_live_readout_lands_above_it(shared_terminal):
    from rich.text import Text

    with _console.live_line("starting...") as live:
        live.update(Text("42 FPS"))
        live.refresh()
        _console.print_message(f"[yellow]warning:[/] {NOTE}")
        lines = screen(shared_terminal.getvalue())
        assert lines[-1] == "42 FPS" and lines[0].startswith("warning: auto:"), lines  # the readout redrawn below
    lines = screen(shared_terminal.getvalue())
    _words_intact(lines, f"warning: {NOTE}")  # and cleared at the end


def test_edgekit_warnings_and_errors_wrap_on_a_terminal(shared_terminal):
    from edgekit.cli import _show_warning
    from edgekit.errors import EdgekitWarning

    with warnings.catch_warnings():
        _show_warning(EdgekitWarning(NOTE), EdgekitWarning, "x.py", 1)
    lines = screen(shared_terminal.getvalue())
    assert len(lines) == 3 and lines[1].startswith("  "), lines
    _words_intact(lines, f"warning: {NOTE}")


def test_the_plan_decision_log_wraps_under_its_bullet_on_a_terminal(shared_terminal, monkeypatch):
    """`edgekit plan`'s log lines ran to the terminal's edge and on: "runs it as sto" / "red and ..."."""
    from edgekit.cli import plan

    monkeypatch.setattr(plan, "render", lambda report, width: "TABLE")
    plan.show(SimpleNamespace(log=[LOG, "Built openvino/cpu/fp16 in 0.2 s."]), as_json=False)
    lines = screen(shared_terminal.getvalue())
    log = lines[lines.index("Decision log") + 1:]
    assert log[0].startswith(" - Rejected") and log[-1] == " - Built openvino/cpu/fp16 in 0.2 s.", log
    assert all(line.startswith("   ") for line in log[1:-1]) and len(log) == 4, log
    _words_intact(log, f"- {LOG} - Built openvino/cpu/fp16 in 0.2 s.")


def test_the_plan_decision_log_stays_one_line_each_in_a_pipe(monkeypatch, capsys):
    from edgekit.cli import plan

    monkeypatch.setattr(_console, "console", Console(file=io.StringIO(), force_terminal=False))
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(plan, "render", lambda report, width: "TABLE")
    plan.show(SimpleNamespace(log=[LOG]), as_json=False)
    assert f" - {LOG}\n" in capsys.readouterr().out
