"""Keep Python's full garbage collections short while the app is busy.

With torch, onnx and OpenVINO loaded the heap holds ~100k objects and a full
(generation 2) collection takes ~75 ms; a live demo allocates fast enough to
trigger one every few seconds, each a visible stall. While a live run or a
plan is going, everything already alive is moved to the permanent generation
(``gc.freeze``), so collections only scan what is new; afterwards it is
released again so old cycles can still be collected.
"""

from __future__ import annotations

import gc

_holders = 0


def hold() -> None:
    """Freeze the current heap (nested holds are counted)."""
    global _holders
    _holders += 1
    gc.freeze()


def release() -> None:
    """Undo one :func:`hold`; the heap is unfrozen when the last holder releases."""
    global _holders
    _holders = max(0, _holders - 1)
    if _holders == 0:
        gc.unfreeze()
