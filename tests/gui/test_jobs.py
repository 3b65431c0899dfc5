"""Workers (superqt-based jobs): progress events reach the GUI thread coalesced, cancel reaches the SDK."""

from __future__ import annotations

import pytest

from edgekit.progress import ProgressEvent, emit

pytestmark = pytest.mark.gui


def _count(n: int, progress) -> int:
    emit(progress, "counting", "start")
    for i in range(1, n + 1):
        emit(progress, "counting", f"{i}/{n}", done=i, total=n, fraction=i / n)
    return n


def test_counting_events_are_coalesced_but_steps_and_the_last_count_arrive(qtbot, recorder):
    from edgekit_gui.jobs import JobRunner

    runner = JobRunner()
    job = runner.start(_count, 20000)
    events = recorder(job)
    with qtbot.waitSignal(job.signals.finished, timeout=30000):
        pass
    got: list[ProgressEvent] = events.payloads("progress")
    assert events.payloads("returned") == [20000]
    assert got[0].message == "start" and got[-1].done == got[-1].total == 20000
    assert len(got) < 2000  # a window needs a few updates a second, not twenty thousand
    assert [e.done for e in got[1:]] == sorted(e.done for e in got[1:])


def _wait_for_cancel(progress, cancel) -> str:
    emit(progress, "waiting", "for cancel")
    while not cancel.is_set():  # an SDK call polling its cancel= argument
        pass
    return "stopped"


def test_cancel_reaches_a_function_that_polls_its_cancel_argument(qtbot, recorder):
    from edgekit_gui.jobs import JobRunner

    runner = JobRunner()
    job = runner.start(_wait_for_cancel)
    events = recorder(job)
    with qtbot.waitSignal(job.signals.progress, timeout=30000):
        pass
    # Cancel inside the block: a queued signal reaches only the slots connected when it was emitted, and
    # the worker, spinning on the token, may emit both before a blocker set up afterwards is listening.
    with qtbot.waitSignals([job.signals.cancelled, job.signals.finished], order="strict", timeout=30000):
        job.cancel()
    assert events.names == ["started", "progress", "cancelled", "finished"]
