"""Short lists in messages: ``a, b, c ...``.

Why one helper: "the first few names, then ``...``" was spelled out in nine messages (skipped files,
unknown classes, labels, float layers), each with its own slice and its own count to compare.
"""

from __future__ import annotations

from collections.abc import Iterable


def first_few(items: Iterable[object], shown: int = 3) -> str:
    """The first ``shown`` of ``items`` joined by ", ", then " ..." when there are more."""
    items = list(items)
    return ", ".join(str(item) for item in items[:shown]) + (" ..." if len(items) > shown else "")
