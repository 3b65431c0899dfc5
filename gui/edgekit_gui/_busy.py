"""Keep the GUI thread's stalls short while a live run or a plan is going.

Two interpreter-wide settings make a busy app stutter:

* Full garbage collections. With torch, onnx and OpenVINO loaded the heap
  holds ~100k objects and a full (generation 2) collection takes ~75 ms; a
  live demo allocates fast enough to trigger one every few seconds, each a
  visible stall. While busy, everything already alive is moved to the
  permanent generation (``gc.freeze``), so collections only scan what is new.
* The GIL switch interval. The pipeline's Python threads hold the GIL for up
  to ``sys.getswitchinterval()`` (5 ms by default) before the GUI thread gets
  it back; several such waits per paint add up. While busy it is 1 ms.

:func:`release` restores both when the last holder is done, so old cycles
are collected again and a script that embeds the app keeps its own settings.
"""

from __future__ import annotations

import gc
import sys

BUSY_SWITCH_INTERVAL_S = 0.001

_holders = 0
_saved_interval: float | None = None


def hold() -> None:
    """Enter the busy state (nested holds are counted)."""
    global _holders, _saved_interval
    _holders += 1
    gc.freeze()
    if _saved_interval is None:
        _saved_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(_saved_interval, BUSY_SWITCH_INTERVAL_S))


def release() -> None:
    """Undo one :func:`hold`; everything is restored when the last holder releases."""
    global _holders, _saved_interval
    _holders = max(0, _holders - 1)
    if _holders == 0:
        gc.unfreeze()
        if _saved_interval is not None:
            sys.setswitchinterval(_saved_interval)
            _saved_interval = None
