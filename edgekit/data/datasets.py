"""Datasets as plain sequences of ``(image_bgr_uint8, label_int)`` with ``len()`` and ``.classes``.

Why so plain: every consumer (accuracy evaluation, calibration, pruning
fine-tune, the live demo) only needs to index images and labels; a class
with ``__len__``/``__getitem__``/``classes`` is enough and needs no
framework. Images are decoded lazily with OpenCV, so a large folder costs
nothing until it is read.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from edgekit.errors import DataError, EdgekitWarning

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


class UnreadableImage(DataError):
    """An image file whose body does not decode: iteration (and ``evaluate``) skips it, also
    through a view such as a split; the dataset counts it in ``skipped``."""


class Dataset:
    """Base: indexable ``(image, label)`` pairs; subclasses define ``_load(i)`` and ``__len__``."""

    classes: tuple[str, ...] = ()

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} images")
        return self._load(index % len(self))

    def _load(self, index: int) -> tuple[np.ndarray, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __iter__(self) -> Iterator[tuple[np.ndarray, int]]:
        """Every readable pair; an image found corrupt on reading is skipped (its dataset counts it)."""
        for i in range(len(self)):
            try:
                yield self[i]
            except UnreadableImage:
                continue

    @property
    def labels(self) -> np.ndarray:
        """All labels (int64), without decoding images."""
        return np.asarray([self._label(i) for i in range(len(self))], np.int64)

    def _label(self, index: int) -> int:
        return self._load(index)[1]


class ArrayDataset(Dataset):
    """Images and labels already in memory.

    Args:
        images: a sequence of BGR uint8 images (or an ``(N, H, W[, C])`` array).
        labels: class indices, one per image.
        classes: class names; index ``i`` names label ``i``.

    Raises:
        DataError: lengths differ, no images, or a label outside ``classes``.
    """

    def __init__(
        self, images: Sequence[np.ndarray] | np.ndarray, labels: Sequence[int], classes: Sequence[str]
    ):
        self.images = images
        self._labels = np.asarray(labels, np.int64)
        self.classes = tuple(str(c) for c in classes)
        if len(images) != len(self._labels):
            raise DataError(
                f"ArrayDataset got {len(images)} images but {len(self._labels)} labels; give one label per image"
            )
        if len(self._labels) == 0:
            raise DataError("ArrayDataset got no images; pass at least one")
        if self._labels.min() < 0 or self._labels.max() >= len(self.classes):
            raise DataError(
                f"ArrayDataset labels must lie in 0..{len(self.classes) - 1} (one per class name)"
            )

    def __len__(self) -> int:
        return len(self._labels)

    def _load(self, index: int) -> tuple[np.ndarray, int]:
        return np.asarray(self.images[index]), int(self._labels[index])

    def _label(self, index: int) -> int:
        return int(self._labels[index])


class _FileDataset(Dataset):
    """Images read from files; unreadable ones are skipped, counted and warned about once.

    Opening checks each file's header only (cheap on a large folder), so a file
    whose body is corrupt or cut short is found when it is decoded: iteration
    then skips it, adds it to ``skipped``/``skipped_files`` and warns once for
    it, exactly like a file refused at open time. ``len()`` still counts it (the
    indices of splits made before stay valid); indexing it raises ``DataError``.
    """

    def __init__(self, items: list[tuple[Path, int]], classes: Sequence[str], where: Path):
        self.classes = tuple(classes)
        self.root = where
        self.skipped = 0
        self.skipped_files: list[Path] = []
        self._items = [it for it in items if self._readable(it[0])]
        if self.skipped:
            shown = ", ".join(p.name for p in self.skipped_files[:3])
            warnings.warn(
                f"{where}: skipped {self.skipped} unreadable image(s) ({shown})", EdgekitWarning, stacklevel=3
            )
        if not self._items:
            raise DataError(f"{where} holds no readable images; add .jpg/.png files", path=where)

    def _readable(self, path: Path) -> bool:
        """Decode the header cheaply (shape only); on failure count the file as skipped."""
        try:
            ok = path.stat().st_size > 0 and cv2.haveImageReader(str(path))
        except OSError:
            ok = False
        if not ok:
            self.skipped += 1
            self.skipped_files.append(path)
        return ok

    def __len__(self) -> int:
        return len(self._items)

    def _load(self, index: int) -> tuple[np.ndarray, int]:
        path, label = self._items[index]
        image = None if path in self.skipped_files else cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            self._skip_late(path)
            raise UnreadableImage(f"{path} could not be decoded as an image; remove or replace it", path=path)
        return image, label

    def _skip_late(self, path: Path) -> None:
        """Count a file whose header passed but whose body does not decode (once per file)."""
        if path in self.skipped_files:
            return
        self.skipped += 1
        self.skipped_files.append(path)
        warnings.warn(
            f"{self.root}: skipped unreadable image {path.name} (corrupt or truncated; {self.skipped} skipped "
            "in all); remove or replace it",
            EdgekitWarning,
            stacklevel=4,
        )

    def _label(self, index: int) -> int:
        return self._items[index][1]

    @property
    def paths(self) -> list[Path]:
        """The image files, in dataset order."""
        return [p for p, _ in self._items]


class ImageFolder(_FileDataset):
    """One sub-folder per class (ImageNet layout); class names are the sorted sub-folder names.

    Raises:
        DataError: the folder is missing or empty, has fewer than two classes,
            or holds no readable image.

    Example:
        >>> ds = ImageFolder("data/val")          # doctest: +SKIP
        >>> image, label = ds[0]; ds.classes[label]  # doctest: +SKIP
    """

    def __init__(self, path: str | Path):
        root = Path(path)
        if not root.is_dir():
            raise DataError(f"{root} is not a folder; give a folder with one sub-folder per class", path=root)
        classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if len(classes) < 2:
            raise DataError(
                f"{root} has {len(classes)} class sub-folder(s); an image folder needs one sub-folder per class "
                "and at least two classes",
                path=root,
            )
        items = [
            (f, label)
            for label, name in enumerate(classes)
            for f in sorted((root / name).rglob("*"))
            if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()
        ]
        if not items:
            raise DataError(
                f"{root} has class folders but no images ({', '.join(IMAGE_SUFFIXES)})", path=root
            )
        super().__init__(items, classes, root)


class ManifestDataset(_FileDataset):
    """A ``path,label`` CSV (or whitespace text) file; paths relative to the manifest's folder.

    Labels may be class names or integers. With ``classes`` given, names must
    be among them; otherwise the sorted set of labels found is used. Paths may
    not escape the manifest's folder.

    Raises:
        DataError: missing file, malformed row, unknown label, escaping path, no images.
    """

    def __init__(self, path: str | Path, classes: Sequence[str] | None = None):
        from edgekit._io import is_within

        manifest = Path(path)
        if not manifest.is_file():
            raise DataError(
                f"manifest {manifest} does not exist; give a CSV with path,label rows", path=manifest
            )
        rows = _read_rows(manifest)
        names = list(classes) if classes is not None else sorted({lab for _, lab in rows}, key=_natural)
        index = {name: i for i, name in enumerate(names)}
        items = []
        for rel, lab in rows:
            if lab not in index:
                raise DataError(
                    f"{manifest}: label {lab!r} is not one of the classes {names[:10]}", path=manifest
                )
            file = manifest.parent / rel
            if not is_within(file, manifest.parent):
                raise DataError(
                    f"{manifest}: path {rel!r} points outside the manifest's folder", path=manifest
                )
            items.append((file, index[lab]))
        if len(names) < 2:
            raise DataError(
                f"{manifest} names {len(names)} class(es); at least two are needed", path=manifest
            )
        super().__init__(items, names, manifest)


def _natural(label: str) -> tuple:
    return (0, int(label), "") if label.isdigit() else (1, 0, label)


def _read_rows(manifest: Path) -> list[tuple[str, str]]:
    try:
        text = manifest.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{manifest} is not a text manifest (path,label per line); give a CSV or a folder "
            "with one sub-folder of images per class",
            path=manifest,
        ) from exc
    rows: list[tuple[str, str]] = []
    for n, row in enumerate(
        csv.reader(line.replace("\t", ",") if "," not in line else line for line in text), 1
    ):
        cells = [c.strip() for c in (row if len(row) > 1 else (row[0].split() if row else []))]
        if not cells or cells[0].startswith("#"):
            continue
        if n == 1 and cells[0].lower() in ("path", "file", "filename", "image"):
            continue
        if len(cells) < 2:
            raise DataError(
                f"{manifest}, line {n}: expected 'path,label', got {','.join(cells)!r}", path=manifest
            )
        rows.append((cells[0], cells[1]))
    if not rows:
        raise DataError(f"manifest {manifest} has no rows; add lines of the form path,label", path=manifest)
    return rows
