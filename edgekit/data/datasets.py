"""Datasets as plain sequences of ``(image_bgr_uint8, label_int)`` with ``len()`` and ``.classes``.

Why so plain: every consumer (accuracy evaluation, calibration, pruning
fine-tune, the live demo) only needs to index images and labels; a class
with ``__len__``/``__getitem__``/``classes`` is enough and needs no
framework. Images are decoded lazily with OpenCV, so a large folder costs
nothing until it is read.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from edgekit._io import expand_user
from edgekit._text import first_few
from edgekit.errors import DataError, warn_caller
from edgekit.imagelimits import oversize

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
        """Every readable pair; an image found corrupt on reading is skipped (its dataset counts it).

        Raises:
            DataError: not one image decoded (every file corrupt or truncated): nothing to measure.
        """
        read, first = 0, None
        for i in range(len(self)):
            try:
                item = self[i]
            except UnreadableImage as exc:
                first = first or exc
                continue
            read += 1
            yield item
        if first is not None and not read:
            raise DataError(f"none of the {len(self)} image(s) could be decoded (corrupt or truncated, e.g. "
                            f"{first.path}); replace them", path=first.path) from first

    @property
    def labels(self) -> np.ndarray:
        """All labels (int64), without decoding images."""
        return np.asarray([self._label(i) for i in range(len(self))], np.int64)

    def _label(self, index: int) -> int:
        return self._load(index)[1]


def _int_labels(labels: Sequence[int]) -> np.ndarray:
    """Labels as int64; NaN, fractions or text are a DataError (numpy's own error named no argument)."""
    try:
        raw = np.asarray(labels)
        if raw.dtype.kind == "f" and not (np.isfinite(raw).all() and (raw == np.round(raw)).all()):
            raise ValueError("NaN, infinite or fractional")
        if raw.size and raw.dtype.kind not in "iufb":
            raise ValueError(f"of type {raw.dtype}")
        return raw.astype(np.int64).reshape(-1)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DataError(f"ArrayDataset labels must be whole class indices; got values {str(exc)[:80]}") from exc


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
        for name, value in (("images", images), ("labels", labels), ("classes", classes)):
            if value is None or isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
                raise TypeError(f"ArrayDataset {name} must be a sequence or array, not {type(value).__name__}")
        self.images = images
        self._labels = _int_labels(labels)
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
        self.oversized: list[str] = []
        self._items = [it for it in items if self._readable(it[0])]
        if self.skipped:
            shown = ", ".join(p.name for p in self.skipped_files[:3])
            reason = f"; {self.oversized[0]}" if self.oversized else ""
            warn_caller(f"{where}: skipped {self.skipped} of {len(items)} image(s), unreadable or too large ({shown}){reason}")
        if not self._items:
            raise DataError(f"{where} holds no readable images; add .jpg/.png files", path=where)

    def _readable(self, path: Path) -> bool:
        """Decode the header cheaply (shape only); on failure count the file as skipped."""
        try:
            ok = path.stat().st_size > 0 and cv2.haveImageReader(str(path))
        except OSError:
            ok = False
        too_large = oversize(path) if ok else None  # declared size read from the header, nothing decoded
        if too_large:
            self.oversized.append(too_large)
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
        warn_caller(f"{self.root}: skipped unreadable image {path.name} (corrupt or truncated; {self.skipped} skipped "
                    "in all); remove or replace it")

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
        # a folder made from a Windows list ("cat\r") or with a stray space is still the class "cat"
        super().__init__(items, [name.strip() for name in classes], root)


class ManifestDataset(_FileDataset):
    """A ``path,label`` CSV/TSV (or whitespace text) file, as users keep their labels.

    Paths are absolute or relative to the manifest's folder (or, when the files
    are not there, to its parent folder or the current directory); symlinks are fine
    when they lead to a readable image (a manifest is the user's own file, so a
    path leaving its folder is not an attack: bundles and archives are where
    paths must not escape). Labels are class names, or integers: integer labels
    are the model's output indices (``index_labels``), e.g. ImageNet's 0..999,
    and are matched to the model's labels by position. Extra columns are
    ignored. Missing files are skipped and reported with their row numbers;
    duplicated rows count once.

    Raises:
        DataError: no manifest, a malformed row, an unknown label, or no image
            that exists and decodes.
    """

    def __init__(self, path: str | Path, classes: Sequence[str] | None = None):
        manifest = Path(path)
        if not manifest.is_file():
            raise DataError(
                f"manifest {manifest} does not exist; give a CSV with path,label rows", path=manifest
            )
        if listed_images(manifest) is not None:  # `ls *.jpg > shots.txt`: said as such, not as a malformed row 1
            raise DataError(f"{manifest} lists images with no labels, so nothing can be scored (it plays live: "
                            f"edgekit demo --source {manifest.name}); give a label per image as 'path,label' rows, "
                            "or one sub-folder per class", path=manifest)
        rows = _unique_rows(manifest, _read_rows(manifest))
        found = [lab for _, _, lab in rows]
        self.index_labels = classes is None and all(_is_index(lab) for lab in found)
        if self.index_labels:
            names = [str(i) for i in range(max(int(lab) for lab in found) + 1)]
        else:
            names = list(classes) if classes is not None else sorted(set(found), key=_natural)
        index = {name: i for i, name in enumerate(names)}
        base = _base_folder(manifest, [rel for _, rel, _ in rows])
        items, missing = [], []
        for line, rel, lab in rows:
            key = str(int(lab)) if self.index_labels else lab
            if key not in index:
                raise DataError(
                    f"{manifest}, line {line}: label {lab!r} is not one of the classes {names[:10]}", path=manifest
                )
            file = expand_user(rel)
            file = file if file.is_absolute() else base / file
            if file.is_file():
                items.append((file, index[key]))
            else:
                missing.append((line, rel))
        if not self.index_labels and len(names) < 2:
            raise DataError(f"{manifest} names {len(names)} class(es); at least two are needed", path=manifest)
        _report_missing(manifest, missing, len(rows))
        super().__init__(items, names, manifest)


def listed_images(listing: Path) -> list[Path] | None:
    """The images of a list holding one image path per line and nothing else (no labels), resolved as
    :class:`ManifestDataset` resolves its paths, the missing ones left out; ``None`` when a line holds
    more than an image path (a ``path,label`` list is read by :class:`ManifestDataset`).

    Why: ``ls photos/*.jpg > shots.txt`` is a list of what to play live (``edgekit demo --source
    shots.txt``); read as a ``path,label`` list it was refused ("expected 'path,label'").
    """
    try:
        lines = [line.strip() for line in listing.read_text(encoding="utf-8-sig").splitlines()]
    except (OSError, UnicodeDecodeError):
        return None
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines or any("," in line or "\t" in line or not line.lower().endswith(IMAGE_SUFFIXES) for line in lines):
        return None
    base = _base_folder(listing, lines)
    files = (base / expand_user(line) for line in lines)  # an absolute path stays itself under "/"
    return [f for f in files if f.is_file()]


def _base_folder(manifest: Path, paths: list[str]) -> Path:
    """The folder relative paths start from: the manifest's own, else a parent of it or the current
    directory when that is where the first rows' files are (a CSV kept in ``labels/`` beside ``images/``)."""
    relative = [p for p in map(expand_user, paths[:20]) if not p.is_absolute()]
    candidates = [manifest.parent, *list(manifest.resolve().parents)[1:3], Path.cwd()]
    for folder in candidates:
        if not relative or any((folder / rel).is_file() for rel in relative):
            return folder
    return manifest.parent


def _is_index(label: str) -> bool:
    return label.isdecimal()


def _unique_rows(manifest: Path, rows: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """Rows with duplicated (path, label) pairs dropped, with a warning naming the first duplicate."""
    seen: dict[tuple[str, str], int] = {}
    unique, dupes = [], []
    for line, rel, lab in rows:
        if (rel, lab) in seen:
            dupes.append(line)
            continue
        seen[(rel, lab)] = line
        unique.append((line, rel, lab))
    if dupes:
        warn_caller(f"{manifest}: {len(dupes)} duplicated row(s) counted once (first at line {dupes[0]})")
    return unique


def _report_missing(manifest: Path, missing: list[tuple[int, str]], total: int) -> None:
    """Warn about (or, when nothing is left, refuse) rows whose file does not exist."""
    if not missing:
        return
    shown = first_few(f"line {n}: {rel}" for n, rel in missing)
    if len(missing) == total:
        raise DataError(f"{manifest}: none of its {total} image files exist ({shown}); paths are taken as "
                        "absolute or relative to the manifest's folder", path=manifest)
    warn_caller(f"{manifest}: skipped {len(missing)} of {total} rows whose file is missing ({shown})")


def _natural(label: str) -> tuple:
    return (0, int(label), "") if label.isdecimal() else (1, 0, label)


# header cells that name the path and label columns (case-insensitive); any other column is ignored
PATH_COLUMNS = ("path", "file", "filename", "image")
LABEL_COLUMNS = ("label", "class", "class_id", "target")


def _read_rows(manifest: Path) -> list[tuple[int, str, str]]:
    """``(line, path, label)`` for every data row (``#`` comments skipped).

    A first row that names its columns (``label,path``, ``path,name,label``) is a header: the
    path and label are taken from the columns it names, in any order. Without one, the first
    column is the path and the second the label. Why: a list exported with its columns in
    another order used to be read by position, so its labels became paths or its names labels.
    """
    try:
        text = manifest.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{manifest} is not a text manifest (path,label per line); give a CSV or a folder "
            "with one sub-folder of images per class",
            path=manifest,
        ) from exc
    rows: list[tuple[int, str, str]] = []
    columns: tuple[int, int] | None = None
    for n, row in enumerate(
        csv.reader(line.replace("\t", ",") if "," not in line else line for line in text), 1
    ):
        cells = [c.strip() for c in (row if len(row) > 1 else (row[0].split() if row else []))]
        if not cells or cells[0].startswith("#"):
            continue
        if columns is None:
            columns = _header_columns(manifest, n, cells)
            if columns is not None:
                continue
            columns = (0, 1)
        if len(cells) <= max(columns):
            raise DataError(
                f"{manifest}, line {n}: expected {_expected(columns)}, got {','.join(cells)!r}", path=manifest
            )
        rows.append((n, cells[columns[0]], cells[columns[1]]))
    if not rows:
        raise DataError(f"manifest {manifest} has no rows; add lines of the form path,label", path=manifest)
    return rows


def _expected(columns: tuple[int, int]) -> str:
    """What a row must hold, as the header (or the default) lays it out."""
    if columns == (0, 1):
        return "'path,label'"
    path, label = (c + 1 for c in columns)
    return f"at least {max(columns) + 1} columns (path in column {path}, label in column {label})"


def _header_columns(manifest: Path, line: int, cells: list[str]) -> tuple[int, int] | None:
    """``(path_column, label_column)`` when ``cells`` is a header row, ``None`` when it is data.

    A row is a header when it names a path or a label column and holds no image file name.
    With two columns, one named column places the other; with more, both must be named, unless
    the one named stands where the positional reading puts it (path first, or label second).

    Raises:
        DataError: a header naming two path (or two label) columns, or only one of them among
            three or more columns, naming the file and the column names it needs.
    """
    names = [c.lower() for c in cells]
    paths = [i for i, c in enumerate(names) if c in PATH_COLUMNS]
    labels = [i for i, c in enumerate(names) if c in LABEL_COLUMNS]
    if not (paths or labels) or any(c.endswith(IMAGE_SUFFIXES) for c in names):
        return None  # data, or a header naming neither column: read by position
    if len(paths) == 1 and len(labels) == 1:
        return paths[0], labels[0]
    if len(cells) == 2 and len(paths) + len(labels) == 1:  # the named column places the other
        return (paths[0], 1 - paths[0]) if paths else (1 - labels[0], labels[0])
    if (paths, labels) in (([0], []), ([], [1])):  # one named where the positional reading puts it:
        return 0, 1  # read as before ('image,category,source': path, then label)
    raise DataError(
        f"{manifest}, line {line}: the header {','.join(cells)!r} {_header_fault(cells, paths, labels)}; "
        f"name exactly one path column ({'/'.join(PATH_COLUMNS)}) and one label column "
        f"({'/'.join(LABEL_COLUMNS)}), e.g. 'path,label' (other columns are ignored)",
        path=manifest,
    )


def _header_fault(cells: list[str], paths: list[int], labels: list[int]) -> str:
    """What is wrong with a header row, in a few words."""
    for kind, found in (("path", paths), ("label", labels)):
        if len(found) > 1:
            return f"names {len(found)} {kind} columns ({', '.join(cells[i] for i in found)})"
    return "names no path column" if not paths else "names no label column"
