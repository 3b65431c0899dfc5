"""Validation and calibration inputs prepared once per (dataset, preprocessing), shared by every candidate.

Why: a plan scores many candidates (every backend x precision) on the same
images; preparing them once turns N decode+preprocess passes into one.
Small sets stay in memory (an LRU bounded by bytes, shared by plans in one
process, e.g. the GUI planning twice); a set larger than the bound is written
to the plan cache folder as ``.npy`` and memory-mapped, so a second plan on
the same data reads it back instead of decoding it again.

A dataset is recognised by its ``fingerprint`` attribute (demo sets), its
files (path, size, mtime) or, failing both, by identity (kept alive while
cached, so the key cannot be reused by another object).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgekit._io import atomic_path
from edgekit.data.prepared import Prepared, prepare
from edgekit.data.sampling import calibration_order
from edgekit.models.preprocess import RESIZING
from edgekit.planner.cache import cache_root, code_stamp
from edgekit.progress import Progress

DEFAULT_MAX_BYTES = 768 * 2**20


def dataset_token(ds: Any) -> str | None:
    """A stable identity of ``ds``'s content, or ``None`` when it cannot be had cheaply."""
    token = getattr(ds, "fingerprint", None)
    if isinstance(token, str) and token:
        return token
    base = getattr(ds, "base", None)
    if base is not None and hasattr(ds, "indices"):
        inner = dataset_token(base)
        return inner and f"{inner}[{_digest(np.asarray(ds.indices, np.int64).tobytes())}]"
    paths = getattr(ds, "paths", None)
    if isinstance(paths, (list, tuple)) and paths:
        h = hashlib.blake2b(digest_size=16)
        for p in paths:
            st = Path(p).stat()
            h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}|".encode())
        return f"files:{h.hexdigest()}:{','.join(map(str, ds.classes))}"
    return None


class DataCache:
    """Prepared inputs by (dataset, preprocessing, rows), bounded in memory, spilled to disk when large.

    Args:
        max_bytes: memory held at most; least recently used sets are dropped first.
        spill_dir: where sets larger than ``max_bytes`` go (``None``: the plan cache's ``data`` folder).
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, spill_dir: Path | None = None) -> None:
        self.max_bytes = max_bytes
        self.spill_dir = spill_dir
        self._mem: OrderedDict[str, tuple[Prepared, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, dataset: Any, preprocess: Any, indices: Sequence[int] | None = None,
            progress: Progress | None = None) -> Prepared:
        """The prepared inputs of ``dataset`` (rows ``indices``) under ``preprocess``; made once."""
        token = dataset_token(dataset)
        stable = token is not None
        rows = "all" if indices is None else _digest(np.asarray(indices, np.int64).tobytes())
        key = _digest(json.dumps([token or f"id:{id(dataset)}", preprocess.to_dict(), rows, RESIZING,
                                  code_stamp()]).encode())  # a set on disk, prepared by older code, is not reused
        with self._lock:
            if key in self._mem:
                self._mem.move_to_end(key)
                self.hits += 1
                return self._mem[key][0]
        found = self._from_disk(key) if stable else None
        if found is None:
            self.misses += 1
            found = prepare(dataset, preprocess, indices, progress=progress)
            if found.nbytes > self.max_bytes and stable:
                found = self._to_disk(key, found)
        else:
            self.hits += 1
        self._remember(key, found, None if stable else dataset)
        return found

    def clear(self) -> None:
        """Drop every set held in memory (files spilled to disk stay for the next plan)."""
        with self._lock:
            self._mem.clear()

    def _remember(self, key: str, value: Prepared, keep_alive: Any) -> None:
        with self._lock:
            self._mem[key] = (value, keep_alive)
            while len(self._mem) > 1 and self._held() > self.max_bytes:
                self._mem.popitem(last=False)

    def _held(self) -> int:
        return sum(p.nbytes for p, _ in self._mem.values() if not isinstance(p.inputs, np.memmap))

    def _folder(self) -> Path:
        if self.spill_dir is None:
            return cache_root() / "data"
        return Path(self.spill_dir)

    def _to_disk(self, key: str, data: Prepared) -> Prepared:
        folder = self._folder()
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / f"{key}.npy", force=True) as tmp, open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(data.inputs))
        with atomic_path(folder / f"{key}.meta.npz", force=True) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, labels=data.labels, indices=data.indices, classes=np.asarray(data.classes),
                     skipped=np.asarray(data.skipped), index_labels=np.asarray(data.index_labels))
        return self._from_disk(key) or data

    def _from_disk(self, key: str) -> Prepared | None:
        folder = self._folder()
        try:
            inputs = np.load(folder / f"{key}.npy", mmap_mode="r")
            with np.load(folder / f"{key}.meta.npz", allow_pickle=False) as meta:
                index = bool(meta["index_labels"]) if "index_labels" in meta.files else False
                return Prepared(inputs, meta["labels"], tuple(str(c) for c in meta["classes"]),
                                int(meta["skipped"]), meta["indices"], index)
        except (OSError, ValueError, KeyError):
            return None


def calibration_feeds(ds: Any, model: Any, n: int = 300, seed: int = 0,
                      cache: DataCache | None = None) -> list[dict[str, np.ndarray]]:
    """What :func:`edgekit.data.calibration_set` returns, prepared once per (dataset, preprocessing, rows):
    every INT8 build of a plan (and the next plan on the same data) reads the same arrays.

    Raises:
        DataError: as :func:`edgekit.data.calibration_set`.
    """
    order = calibration_order(ds, model, n, seed)
    data = (cache or shared_cache()).get(ds, model.preprocess, order)
    return data.feeds(model.inputs[0].name)


def _digest(blob: bytes) -> str:
    return hashlib.blake2b(blob, digest_size=12).hexdigest()


_SHARED = DataCache()


def shared_cache() -> DataCache:
    """The process-wide cache the planner uses."""
    return _SHARED
