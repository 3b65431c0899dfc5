"""While the app runs, Python's cyclic garbage is freed on the GUI thread only, never in a worker.

Why: a worker thread that frees a Qt object deadlocked the Optimize page tests in CI (the GUI thread
waiting for Qt's connection lock, the worker's garbage collection waiting for the GIL)."""

from __future__ import annotations

import gc
import threading
from typing import ClassVar


class Cycle:
    """An object in a reference cycle that records the thread that frees it."""

    freed_in: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.freed_in.append(threading.current_thread().name)


class Junk:
    def __init__(self) -> None:
        self.me = self


def churn() -> None:
    """Leave far more cyclic garbage than generation 0's threshold: a collection is due."""
    for _ in range(3):
        [Junk() for _ in range(gc.get_threshold()[0] * 2)]


def test_a_worker_thread_never_collects_and_the_gui_thread_does(qapp, qtbot):
    from edgekit_gui import main_thread_gc
    from edgekit_gui.app import create_app

    create_app([])
    try:
        assert not gc.isenabled()
        Cycle.freed_in.clear()
        Cycle()  # unreachable at once, but only the cyclic collector can free it
        worker = threading.Thread(target=churn, name="worker")
        worker.start()
        worker.join()
        assert Cycle.freed_in == []  # the worker's allocations collected nothing
        churn()  # garbage enough that a collection is due
        qtbot.waitUntil(lambda: Cycle.freed_in != [], timeout=5000)  # the timer collects
        assert Cycle.freed_in == [threading.main_thread().name]
    finally:
        main_thread_gc.stop()
    assert gc.isenabled()  # given back: a plain script's collection is as Python's own
