"""Real handwriting for the demo models: the UCI optical digits (scikit-learn's ``load_digits``).

1797 8x8 scans of digits written by 43 people, 16 grey levels. A fixed,
stratified 30% of them is held out: the demo models never see it in
training, and it is what their accuracy is measured on.

The scans and the split are stored in ``assets/data/digits.npz`` (a few
tens of kB) so that neither scikit-learn nor a network is needed at run
time; :func:`build_npz` re-creates that file from scikit-learn.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from edgekit._assets import assets_dir
from edgekit._io import atomic_path
from edgekit.data import render
from edgekit.data.datasets import Dataset
from edgekit.data.render import clean_handwriting
from edgekit.errors import DataError
from edgekit.models.preprocess import Preprocess

TEST_FRACTION = 0.3
SPLIT_SEED = 0
CLASSES = tuple(str(d) for d in range(10))


def npz_path() -> Path:
    """Where the bundled scans live."""
    return assets_dir("data") / "digits.npz"


def build_npz(out: str | Path, *, force: bool = False) -> Path:
    """Write the scans + fixed held-out mask from scikit-learn's copy (needs scikit-learn).

    The split is drawn here with numpy (per class, ``SPLIT_SEED``), so it does
    not change with the scikit-learn version.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    test = np.zeros(len(labels), bool)
    rng = np.random.default_rng(SPLIT_SEED)
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        test[rng.choice(idx, round(len(idx) * TEST_FRACTION), replace=False)] = True
    with atomic_path(out, force=force) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, images=images, labels=labels, test=test)
    return Path(out)


def demo_preprocess(size: int) -> Preprocess:
    """The demo digit models' preprocessing at ``size``: centre square crop, RGB, (x/255 - 0.5) / 0.25.

    Their cards carry it; this is for building a stand-in (an untrained
    network of the same shape) when the bundled file is absent.
    """
    return Preprocess(
        size=(size, size),
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        channel_order="RGB",
        resize="center_crop",
        crop_ratio=1.0,
    )


@lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    path = npz_path()
    if not path.is_file():
        raise DataError(
            f"the bundled handwriting scans {path} are missing; re-create them with: "
            "python tools/train_demo.py --data-only (in a source checkout)",
            path=path,
        )
    with np.load(path, allow_pickle=False) as data:
        return data["images"], data["labels"], data["test"]


def scans(split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images (N, 8, 8) uint8 0..16, labels (N,))`` of ``split`` ("train", "test" or "all")."""
    images, labels, test = _load()
    if split == "all":
        return images, labels
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train', 'test' or 'all', not {split!r}")
    keep = test if split == "test" else ~test
    return images[keep], labels[keep]


def _render_version() -> str:
    """Changes when the scans or the rendering code change (for :attr:`DemoDigits.fingerprint`)."""
    parts = [npz_path(), Path(render.__file__)]
    return ":".join(f"{p.stat().st_size}-{p.stat().st_mtime_ns}" for p in parts if p.is_file())


def demo_digits(split: str = "test", size: int = 64):
    """The real handwriting, rendered as ``size`` x ``size`` BGR photos of ink on paper.

    Each scan gets its own paper tone, ink colour and mild light/noise, seeded
    by its index in the full set, so the images are the same on every call.
    ``split="test"`` is the held-out part no demo model was trained on.

    Returns:
        An indexable dataset of ``(image_bgr_uint8, label)`` with classes "0".."9".

    Example:
        >>> ds = demo_digits("test")
        >>> len(ds), ds.classes[:3]
        (539, ('0', '1', '2'))
    """
    if size < 8:
        raise DataError(f"demo_digits size must be at least 8 pixels, not {size}")
    images, labels = scans(split)
    _, _, test = _load()
    full_index = (
        np.flatnonzero(test if split == "test" else ~test) if split != "all" else np.arange(len(labels))
    )

    class DemoDigits(Dataset):
        classes = CLASSES
        # what the images are made of: caches of prepared inputs key on it (edgekit.planner.datacache)
        fingerprint = f"demo_digits:{split}:{size}:{_render_version()}"

        def __len__(self) -> int:
            return len(labels)

        def _load(self, index: int) -> tuple[np.ndarray, int]:
            return clean_handwriting(images[index], size, seed=1_000_003 + int(full_index[index])), int(
                labels[index]
            )

        def _label(self, index: int) -> int:
            return int(labels[index])

    return DemoDigits()
