"""The terminal progress line at 80 columns: the description gives way, the figures stay whole.

Why: rich's own layout squeezed every column alike, so a plan at 80 columns showed "0:00:…" and
"~20 s le…" beside a description cut mid-word."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from edgekit.cli import _console, _progress
from edgekit.progress import ProgressEvent

LONG = "openvino/cpu/int8: demo:digits-mnv2 for OpenVINO with NNCF on 100 samples, fast bias correction"


def shown(monkeypatch, width: int) -> list[str]:
    """The lines the bar draws for one long event on a terminal ``width`` columns wide."""
    con = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)
    monkeypatch.setattr(_console, "err_console", con)
    with _progress.progress_bar("planning") as progress:
        progress(ProgressEvent(stage="calibrating", message=LONG, fraction=0.31, eta_s=21.0))
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", con.file.getvalue())
    return [line for line in re.split(r"[\r\n]", text) if "calibrating" in line]


@pytest.mark.parametrize("width", [60, 80, 120])
def test_the_figures_stay_whole_and_the_line_never_wraps(monkeypatch, width):
    lines = shown(monkeypatch, width)
    assert lines
    for line in lines:
        assert len(line.rstrip()) <= width, line
        assert "31%" in line and "~21 s left" in line, line
        assert re.search(r"\d:\d\d:\d\d", line), line  # the elapsed time, not "0:00:…"
        assert "calibrating: openvino" in line and "…" in line  # the description is what gives way
