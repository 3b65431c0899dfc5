"""The window fits common screens: every page's primary button and the status bar are unclipped.

Rule (what a user at that screen size sees without hunting):
- no page needs horizontal scrolling: the page's outer scroll area shows no horizontal scroll bar;
- a page's primary button, once the scroll area(s) holding it scrolled it into view (as a user
  scrolls down, or a keyboard focus change does), is entirely visible: its visible region equals
  its rectangle (no parent clips it) and its rectangle mapped to the window lies inside the
  window's central area;
- the status bar and its three labels lie inside the window and are fully visible.

With ``EDGEKIT_DOCS_SHOTS=1`` screenshots of a few pages are written to
``docs/img/layout-WxH-page.png`` (small, for the README); a plain test run leaves the tree clean.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt, QThreadPool
from PySide6.QtWidgets import QScrollArea, QWidget

pytestmark = pytest.mark.gui

SIZES = [(1024, 640), (1280, 720), (1366, 768), (1920, 1080)]
PRIMARY = {"HardwarePage": "refresh_button", "ModelPage": "open_button", "BenchmarkPage": "run_button",
           "OptimizePage": "run_button", "DeployPage": "deploy_button", "LiveDemoPage": "start_button"}
# panels that get squeezed rather than scrolled: the least width at which they stay readable
ROOM = {"OptimizePage": {"results": 400}, "LiveDemoPage": {"panel": 240, "plots": 560}}
SHOTS = {(1024, 640): ("OptimizePage", "LiveDemoPage"), (1280, 720): ("OptimizePage", "LiveDemoPage", "BenchmarkPage")}
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def _scroll_into_view(widget: QWidget) -> None:
    """Scroll every scroll area holding ``widget`` so that it shows (innermost first)."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            parent.ensureWidgetVisible(widget, 0, 0)
        parent = parent.parentWidget()


def _settle(qtbot, done, timeout_ms: int = 3000) -> None:
    """Let Qt process events until ``done()`` or ``timeout_ms`` passed (the check after it judges)."""
    from pytestqt.exceptions import TimeoutError as QtTimeout

    try:
        qtbot.waitUntil(done, timeout=timeout_ms)
    except QtTimeout:  # the caller's own check says what is wrong
        pass


def _unclipped(widget: QWidget, window: QWidget) -> str:
    """'' when ``widget`` is entirely visible in ``window``, else what is wrong."""
    if not widget.isVisible():
        return "hidden"
    seen = widget.visibleRegion().boundingRect()
    if seen != widget.rect():
        return f"clipped to {seen.getRect()} of {widget.rect().getRect()}"
    top_left = widget.mapTo(window, widget.rect().topLeft())
    mapped = QRect(top_left, widget.size())
    if not window.rect().contains(mapped):
        return f"at {mapped.getRect()}, outside the window {window.rect().getRect()}"
    return ""


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_page_fits_and_shows_its_primary_button_and_the_status_bar(window, qtbot, size):
    window.resize(*size)
    qtbot.waitUntil(lambda: window.size().width() == size[0])
    problems = []
    for name, attr in PRIMARY.items():
        page = window.show_page(name)
        qtbot.wait(30)
        outer = window.stack.currentWidget()
        assert isinstance(outer, QScrollArea)
        for area in (outer, *page.findChildren(QScrollArea)):
            if area.isVisible() and area.horizontalScrollBar().isVisible():
                inner = area.widget()
                problems.append(f"{name}: {area.objectName() or 'a scroll area'} needs horizontal scrolling "
                                f"({inner.minimumSizeHint().width()} px wide in {area.viewport().width()} px)")
        for attr_name, least in ROOM.get(name, {}).items():
            got = getattr(page, attr_name).width()
            if got < least:
                problems.append(f"{name}.{attr_name}: {got} px wide, needs {least}")
        button = getattr(page, attr)
        _scroll_into_view(button)
        _settle(qtbot, lambda b=button: not _unclipped(b, window))  # a loaded machine lays out late
        central = window.centralWidget()
        wrong = _unclipped(button, window) or ("" if central.geometry().contains(
            QRect(button.mapTo(window, button.rect().topLeft()), button.size())) else "outside the central area")
        if wrong:
            problems.append(f"{name}.{attr} ({button.text()!r}): {wrong}")
        bar = window.statusBar()
        for label in (bar, window.model_label, window.target_label, window.backend_label):
            wrong = _unclipped(label, window)
            if wrong:
                problems.append(f"{name}: status bar {label.objectName() or type(label).__name__}: {wrong}")
        if name in SHOTS.get(size, ()) and os.environ.get("EDGEKIT_DOCS_SHOTS") == "1":
            outer.verticalScrollBar().setValue(0)
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            short = name.removesuffix("Page").lower()
            shot = window.grab().scaledToWidth(round(window.width() * 0.75), Qt.TransformationMode.SmoothTransformation)
            shot.save(str(DOCS_IMG / f"layout-{size[0]}x{size[1]}-{short}.png"))
    # the pages' first-open jobs (backends, targets, cameras) finish before the window closes
    pool = QThreadPool.globalInstance()
    qtbot.waitUntil(lambda: pool.activeThreadCount() == 0, timeout=120_000)
    assert not problems, "\n".join(problems)


def _in_view(widget: QWidget, window: QWidget) -> str:
    """'' when ``widget`` lies inside the viewport of every scroll area holding it, as they are now
    (nothing scrolled for it), and inside the window; else where it is."""
    if not widget.isVisible():
        return "hidden"
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            port = parent.viewport()
            rect = QRect(widget.mapTo(port, widget.rect().topLeft()), widget.size())
            if not port.rect().contains(rect):
                return f"at {rect.getRect()}, outside the {port.width()}x{port.height()} view of a scroll area"
        parent = parent.parentWidget()
    rect = QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())
    return "" if window.rect().contains(rect) else f"at {rect.getRect()}, outside the window"


# what a page shows while its job runs: the user watches the bar and may press Cancel / Stop
JOB_PARTS = {"BenchmarkPage": ("run_button", "cancel_button", "progress", "status"),
             "OptimizePage": ("run_button", "cancel_button", "use_button", "progress", "status"),
             "LiveDemoPage": ("start_button", "stop_button", "status", "plots")}
TWO_LINES = ("auto: this model is int8-dynamic (quantized at run time), which runtimes run very differently; "
             "measured per frame here: openvino 170.3 ms, onnxruntime 555.3 ms; running on openvino")


@pytest.mark.parametrize("size", SIZES[1:], ids=[f"{w}x{h}" for w, h in SIZES[1:]])
def test_progress_and_cancel_are_in_view_without_scrolling_even_under_a_banner(window, qtbot, size):
    """From 1280x720 up, a page running a job shows its bar, status, Cancel/Stop (and the live
    plots) without the user scrolling, also when a two-line message sits above: at 1280x720 the
    plan's bar sat below the settings column's fold, and a two-line banner on Live demo pushed the
    plots out of the window (the banner made the page size itself by its preferred height)."""
    window.resize(*size)
    qtbot.waitUntil(lambda: window.size().width() == size[0])
    problems = []
    for name, parts in JOB_PARTS.items():
        page = window.show_page(name)
        if name == "OptimizePage":  # the target cards (the column's tallest part) load in a worker
            qtbot.waitUntil(lambda p=page: p.cards.current() is not None, timeout=60_000)
        idle_bar = page.progress.isHidden() if hasattr(page, "progress") else None
        if idle_bar:
            page.progress.setVisible(True)  # as while its job runs (hidden while idle)
        page.banner.show_info(TWO_LINES)
        outer = window.stack.currentWidget()
        _settle(qtbot, lambda o=outer: not o.verticalScrollBar().isVisible() and o.widget().width() == o.viewport().width())
        if outer.verticalScrollBar().maximum():
            problems.append(f"{name}: the page scrolls by {outer.verticalScrollBar().maximum()} px under the banner")
        for attr in parts:
            wrong = _in_view(getattr(page, attr), window)
            if wrong:
                problems.append(f"{name}.{attr}: {wrong}")
        page.banner.clear_message()
        if idle_bar:
            page.progress.setVisible(False)
    pool = QThreadPool.globalInstance()
    qtbot.waitUntil(lambda: pool.activeThreadCount() == 0, timeout=120_000)
    assert not problems, "\n".join(problems)


def test_no_page_sizes_itself_by_its_preferred_height(window):
    """A page whose layout answers height-for-width (a word-wrapped label outside an inner scroll area)
    makes the window's scroll area size it by its *preferred* height, not its minimum: the Optimize page
    grew to 805 px in a 680 px view once a plan's table and chart were filled, and Run / Cancel left the
    window. Every page must size by its minimum."""
    wrong = [name for name, page in window.pages.items() if page.layout().hasHeightForWidth()]
    for name in ("OptimizePage", "LiveDemoPage"):  # with their banners up too
        window.pages[name].banner.show_info(TWO_LINES)
        if window.pages[name].layout().hasHeightForWidth():
            wrong.append(f"{name} (banner shown)")
    assert not wrong, wrong


@pytest.mark.parametrize("name", list(PRIMARY))
def test_a_one_line_message_does_not_move_the_pages_buttons(window, qtbot, name):
    """The banner sat between the title and the page: a message appearing as a job started
    ("writing: bundle.zip…") pushed every button 32 px down, under a pointer on its way to Cancel.
    It shares the title's row now; a one-line message moves nothing."""
    from PySide6.QtCore import QPoint

    window.resize(1280, 720)
    page = window.show_page(name)
    button = getattr(page, PRIMARY[name])
    pool = QThreadPool.globalInstance()  # what a page loads on first show (Hardware profiles the machine) is in
    qtbot.waitUntil(lambda: button.isVisible() and pool.activeThreadCount() == 0, timeout=120_000)
    qtbot.wait(100)  # its result laid out
    before = button.mapTo(window, QPoint(0, 0))
    page.banner.show_info("writing: /root/edgekit/bundles/model-bundle.zip…")
    _settle(qtbot, lambda: page.banner.isVisible() and page.banner.height() > 0)
    qtbot.wait(50)
    assert page.banner.isVisible() and button.mapTo(window, QPoint(0, 0)) == before
    # after a message that wraps, a one-line one gives the room back (a banner kept the tallest height
    # it had had: Hardware's "Profiling this machine…", first shown while the page was narrow, 54 px)
    page.banner.show_error("x " * 400)
    _settle(qtbot, lambda: button.mapTo(window, QPoint(0, 0)) != before)
    page.banner.show_info("writing: /root/edgekit/bundles/model-bundle.zip…")
    _settle(qtbot, lambda: button.mapTo(window, QPoint(0, 0)) == before)
    assert button.mapTo(window, QPoint(0, 0)) == before
    page.banner.clear_message()
