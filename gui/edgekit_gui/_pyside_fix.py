"""Work around a PySide6 reference-count bug that aborts busy apps.

PySide6 6.12.0 (shiboken6 6.12.0) drops one reference to ``True`` on every
``SignalInstance.emit()`` and one to ``None`` on every call of a ``void`` Qt
method from Python (``QLabel.setText``, ``QWidget.update``...): watch
``sys.getrefcount(None)`` fall by one per call (``tests/gui/test_pyside_fix.py``).
The live demo makes hundreds of such calls a second, so within minutes the
count reaches zero and the interpreter aborts with "Fatal Python error:
none_dealloc" (or ``bool_dealloc``). On Python < 3.12 we give ``None``,
``True`` and ``False`` a reserve of 2**40 references once per process: they
are never freed anyway, and Python 3.12+ makes them immortal (nothing is
done there). Remove this module once PySide6 is fixed.
"""

from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 40
_done = False


def protect_singletons() -> None:
    """Add a large, permanent reserve to the refcounts of None, True and False (idempotent)."""
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        _done = True
        return
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += RESERVE  # ob_refcnt is the first field
    _done = True
