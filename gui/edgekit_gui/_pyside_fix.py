"""Work around a PySide6 reference-count bug that crashes busy apps.

PySide6 6.12.0 (shiboken6 6.12.0) drops one reference to ``True`` on every
``SignalInstance.emit()`` called from Python (``sys.getrefcount(True)`` falls
by one per emit; see ``tests/gui/test_pyside_fix.py``). A live demo emits
hundreds of signals a second, pyqtgraph emits on every redraw, so within
seconds to minutes ``True`` reaches zero and the interpreter aborts with
"Fatal Python error: bool_dealloc". On Python < 3.12 we give ``True`` and
``False`` a reserve of 2**40 references once per process (they are never
freed anyway; Python 3.12+ makes them immortal, so nothing is done there).
"""

from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 40
_done = False


def protect_bool_singletons() -> None:
    """Add a large, permanent reserve to the refcounts of True and False (idempotent)."""
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        _done = True
        return
    for obj in (True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += RESERVE  # ob_refcnt is the first field
    _done = True
