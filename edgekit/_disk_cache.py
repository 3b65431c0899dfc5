"""Caches on disk that stay within a size: the least recently used entries go first.

Why: onnxruntime's optimized graphs and the planner's results were kept forever. Their keys hold
each file's modification time, so every plan (its candidates built anew) added entries no later run
would read: 1.3 GB of optimized graphs and 186 MB of plans in one day on a development machine, and
a Raspberry Pi's SD card has no room for that. Each cache folder is trimmed to
``EDGEKIT_CACHE_MAX_MB`` (default :data:`DEFAULT_MAX_MB`) after an entry is written; reading an
entry marks it used (its modification time), so what is in use stays.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

DEFAULT_MAX_MB = 1024
ENV = "EDGEKIT_CACHE_MAX_MB"
IN_USE_S = 600.0


def max_bytes() -> int:
    """The size one cache folder may take: ``$EDGEKIT_CACHE_MAX_MB`` megabytes, else :data:`DEFAULT_MAX_MB`
    (a value that is not a positive number is ignored)."""
    try:
        mb = float(os.environ.get(ENV, ""))
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int((mb if mb > 0 else DEFAULT_MAX_MB) * 2**20)


def touch(*paths: Path) -> None:
    """Mark cache entries used now (a read-only cache is left as it is)."""
    for path in paths:
        try:
            os.utime(path)
        except OSError:
            pass


def trim(folder: Path, limit: int | None = None, *, keep: Path | None = None,
         entry: Callable[[str], str] = lambda name: name) -> int:
    """Remove the least recently used entries of ``folder`` until it holds at most ``limit`` bytes
    (default :func:`max_bytes`); return the bytes removed.

    ``entry(name)`` names the entry a top-level file or folder belongs to (a plan's ``KEY.json`` and
    ``KEY/`` are one entry), removed together; an entry's time is its newest part's. ``keep`` (the
    entry just written), names starting with a dot (files being written) and entries used in the
    last :data:`IN_USE_S` seconds (another process's plan still building there) are never removed."""
    limit = max_bytes() if limit is None else limit
    groups: dict[str, list] = {}
    try:
        children = list(folder.iterdir())
    except OSError:
        return 0
    for child in children:
        if child.name.startswith("."):
            continue
        size, when = _measure(child)
        group = groups.setdefault(entry(child.name), [0, 0.0, []])
        group[0] += size
        group[1] = max(group[1], when)
        group[2].append(child)
    total = sum(g[0] for g in groups.values())
    kept = entry(keep.name) if keep is not None else None
    recent = time.time() - IN_USE_S
    removed = 0
    for name, (size, when, parts) in sorted(groups.items(), key=lambda item: item[1][1]):
        if total <= limit or when > recent:
            break
        if name == kept:
            continue
        for part in parts:
            if part.is_dir() and not part.is_symlink():
                shutil.rmtree(part, ignore_errors=True)
            else:
                part.unlink(missing_ok=True)
        total -= size
        removed += size
    return removed


def _measure(path: Path) -> tuple[int, float]:
    """Bytes under ``path`` and its newest modification time (0 for what vanished meanwhile)."""
    try:
        if not path.is_dir() or path.is_symlink():
            stat = path.stat()
            return stat.st_size, stat.st_mtime
        size, newest = 0, path.stat().st_mtime
        for root, _dirs, files in os.walk(path):
            for name in files:
                try:
                    stat = os.stat(os.path.join(root, name))
                except OSError:
                    continue
                size += stat.st_size
                newest = max(newest, stat.st_mtime)
        return size, newest
    except OSError:
        return 0, time.time()  # gone, or unreadable: counted as new, so never picked first
