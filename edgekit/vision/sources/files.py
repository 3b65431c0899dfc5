"""Frames from files: a video file, an image file and a folder of images (labels from sub-folders)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgekit._io import is_within
from edgekit._text import first_few
from edgekit.errors import SourceError
from edgekit.imagelimits import oversize
from edgekit.vision.sources.base import Frame, Pacer, SourceInfo

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
# containers and raw streams OpenCV's FFmpeg reads; a file with another suffix that does not decode
# is taken for something that is no video at all (a label list, a model), not a codec problem
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".wmv", ".asf", ".flv", ".mpg", ".mpeg",
                  ".mpe", ".ts", ".mts", ".m2ts", ".vob", ".3gp", ".3g2", ".ogv", ".ogg", ".mxf", ".dv",
                  ".gif", ".mjpeg", ".mjpg", ".h264", ".264", ".h265", ".265", ".hevc", ".y4m", ".ivf"}
SOURCE_CHOICES = ("--source takes demo, synthetic, a camera index (0), rtsp://..., a video file "
                  "(.mp4, .avi, .mov, .mkv, ...), an image file, a folder of images or a path,label list "
                  "(.csv, .tsv, .txt)")
LIST_SUFFIXES = {".csv", ".tsv", ".txt"}  # a path,label list, as `edgekit eval --data` takes


class VideoSource:
    """A video file read with OpenCV.

    Args:
        path: the video file.
        loop: start again at the end instead of finishing.
        realtime: pace frames at the file's own FPS, like a camera (frames
            are then dropped when the model is slower); by default frames
            are read as fast as they are consumed.

    Raises (from ``open``/``read``):
        SourceError: missing, unreadable or corrupt file, naming it.
    """

    def __init__(self, path: str | Path, loop: bool = False, realtime: bool = False) -> None:
        self.path = Path(path)
        self.loop, self.realtime = loop, realtime
        self.info = SourceInfo(self.path.name, "video", live=realtime)
        self._cap: cv2.VideoCapture | None = None
        self._pacer = Pacer(None)
        self._seq = 0

    def open(self) -> None:
        """Open the file at its first frame (an open source stays as it is until :meth:`close`)."""
        if self._cap is not None:
            return
        if not self.path.is_file():
            raise SourceError(f"video file {self.path} does not exist; check the path", path=self.path)
        cap = cv2.VideoCapture(str(self.path))
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            raise SourceError(_undecodable(self.path), path=self.path)
        cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or None
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        h, w = first.shape[:2]
        self.info = SourceInfo(self.path.name, "video", live=self.realtime, granted_size=(w, h), granted_fps=fps,
                               length=count)
        self._pacer = Pacer(fps if self.realtime else None)
        self._cap = cap

    def read(self) -> Frame | None:
        if self._cap is None:
            raise SourceError(f"video {self.path} is not open; call open() first", path=self.path)
        ok, image = self._cap.read()
        if not ok and self.loop and self._seq > 0:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
        if not ok or image is None:
            return None
        self._pacer.wait()
        frame = Frame(image, time.monotonic(), self._seq, None, self.info.name)
        self._seq += 1
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def _undecodable(path: Path) -> str:
    """Why a file gave no first frame, and the fix: re-encoding for a video suffix, the source choices
    for anything else. Why: ``--source labels.csv`` was told to re-encode its "video" with ffmpeg."""
    suffix = path.suffix.lower()
    if suffix and suffix not in VIDEO_SUFFIXES | IMAGE_SUFFIXES:
        return f"{path} is not a video or an image (a {suffix} file); {SOURCE_CHOICES}"
    if suffix in IMAGE_SUFFIXES:
        return f"image file {path} cannot be decoded (corrupt or truncated); replace it"
    return (f"video file {path} cannot be decoded (corrupt, truncated or an unsupported codec); "
            "re-encode it, e.g. `ffmpeg -i in -c:v libx264 out.mp4`")


class FolderSource:
    """Images in a folder, in sorted order; one sub-folder per class gives labels.

    ``dir/cat/1.jpg`` is labelled ``"cat"``; images directly in ``dir`` have
    no label. Files that do not decode are skipped and counted in
    ``skipped``; links that point outside the folder are ignored.

    Raises (from ``open``):
        SourceError: the folder is missing or holds no images.
    """

    def __init__(self, path: str | Path, loop: bool = False, fps: float | None = None) -> None:
        self.path = Path(path)
        self.loop = loop
        self.skipped: list[Path] = []
        self.info = SourceInfo(self.path.name or str(self.path), "folder", live=fps is not None, requested_fps=fps)
        self._pacer = Pacer(fps)
        self._files: list[tuple[Path, Any]] = []  # each image and what its frame carries (a class label here)
        self._index = 0
        self._seq = 0

    def open(self) -> None:
        """List the images (once: an open source stays as it is until :meth:`close`).

        Why once: a run checks its source before compiling the model and the pipeline then opens it
        (:func:`edgekit.vision.config.sessions_and_source`); listing a large folder, decoding a big
        photo or parsing a COCO json twice cost seconds."""
        if not self._files:
            self._open()

    def _open(self) -> None:
        if not self.path.is_dir():
            raise SourceError(f"image folder {self.path} does not exist; check the path", path=self.path)
        files = [p for p in sorted(self.path.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES
                 and p.is_file() and is_within(p, self.path)]
        if not files:
            raise SourceError(
                f"image folder {self.path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}); "
                "point --source at a folder of images", path=self.path,
            )
        listed = [(p, _label_of(p, self.path)) for p in files]
        labels = sorted({label for _, label in listed if label is not None})
        self._listed(listed, tuple(labels) or None)

    def _listed(self, files: list[tuple[Path, Any]], classes: tuple[str, ...] | None = None,
                **info: Any) -> None:
        """Start at the first of ``files`` (each image with what its frame carries); ``info``: more
        :class:`SourceInfo` fields than the count and ``classes`` (an image's size)."""
        self._files = files
        self.info = SourceInfo(self.info.name, self.info.kind, live=self.info.live,
                               requested_fps=self.info.requested_fps, granted_fps=self.info.requested_fps,
                               length=len(files), classes=classes, **info)
        self._index = 0
        self._pacer.reset()

    def read(self) -> Frame | None:
        if not self._files:
            raise SourceError(f"image folder {self.path} is not open; call open() first", path=self.path)
        while True:
            if self._index >= len(self._files):
                if not self.loop or len(self.skipped) >= len(self._files):
                    return None
                self._index = 0
            path, label = self._files[self._index]
            self._index += 1
            image = self._decode(path)
            if image is not None:
                break
            if path not in self.skipped:
                self.skipped.append(path)
        self._pacer.wait()
        frame = self._frame(image, label)
        self._seq += 1
        return frame

    def nothing_read(self) -> str | None:
        """Why the source ended without a frame, when every file failed to decode (else ``None``).

        Why: a folder of files none of which decodes ended at once, and the run printed a table
        of zeros, ending in "no labels"."""
        if not self._files or len(self.skipped) < len(self._files):
            return None
        return (f"none of the {len(self._files)} image(s) of {self.path} could be decoded "
                f"({first_few(p.name for p in self.skipped)}); replace them "
                "with images that open, or point --source at other images")

    def _decode(self, path: Path) -> np.ndarray | None:
        """``path`` decoded (``None``: it does not decode)."""
        return _imread(path)

    def _frame(self, image: np.ndarray, label: Any) -> Frame:
        """The frame of a decoded image and what :meth:`open` listed with it (its class label here)."""
        return Frame(image, time.monotonic(), self._seq, label, self.info.name)

    def close(self) -> None:
        """Forget the listing (the next :meth:`open` reads the folder again)."""
        self._files = []


class ImageSource(FolderSource):
    """One image file as a stream of one frame (over and over with ``loop``).

    Why not :class:`VideoSource`: OpenCV opens a still image as a one-frame video but does not
    rewind it after the first read, so ``--source photo.jpg`` played no frame at all.

    Raises (from ``open``):
        SourceError: the file is missing, does not decode or declares too many pixels, naming it.
    """

    def __init__(self, path: str | Path, loop: bool = False, fps: float | None = None) -> None:
        super().__init__(path, loop, fps)
        self.info = SourceInfo(self.path.name, "image", live=fps is not None, requested_fps=fps)
        self._image: np.ndarray | None = None

    def _decode(self, path: Path) -> np.ndarray | None:
        """The image ``open`` decoded, a copy per frame (a frame's image is the frame's own).

        Why: a looping photo was decoded again for every frame, 116 ms each for a 12 MP JPEG on a
        busy 2-core Xeon, where a copy took 12 ms."""
        return None if self._image is None else self._image.copy()

    def close(self) -> None:
        super().close()
        self._image = None

    def _open(self) -> None:
        if not self.path.is_file():
            raise SourceError(f"image file {self.path} does not exist; check the path", path=self.path)
        too_big = oversize(self.path)
        if too_big is not None:
            raise SourceError(too_big, path=self.path)
        image = _imread(self.path)
        if image is None:
            raise SourceError(_undecodable(self.path), path=self.path)
        h, w = image.shape[:2]
        self._image = image
        self._listed([(self.path, None)], granted_size=(w, h))


class BoxFolderSource(FolderSource):
    """Box-labelled photos, what ``edgekit eval --data`` reads for a detector (a YOLO folder of
    ``images/`` + ``labels/``, a VOC folder or a COCO ``.json``: :func:`edgekit.data.layouts.detection_layout`),
    in the dataset's order: each frame carries its ground-truth boxes (``Frame.boxes``), so a
    detector's live demo shows a running mAP on real photos, as on the labelled demo stream.

    Why its own source: as a plain :class:`FolderSource` the sub-folder ``images`` became every
    frame's class label and the boxes were never read.

    Raises (from ``open``):
        SourceError: the folder or its labels cannot be read, naming the file and the fix.
    """

    def _open(self) -> None:
        from edgekit.detection.datasets import open_detection_dataset  # only for labelled folders
        from edgekit.errors import DataError

        try:
            data = open_detection_dataset(self.path)
        except DataError as exc:
            raise SourceError(str(exc), path=self.path) from exc
        root = self.path.parent if self.path.is_file() else self.path  # a COCO .json: its images lie beside it
        files = [(s.path, s) for s in data.samples if is_within(s.path, root)]
        if not files:
            raise SourceError(f"labelled data {self.path} names no image inside {root}; check that its images "
                              "are there", path=self.path)
        self._listed(files, data.classes or None)

    def _frame(self, image: np.ndarray, sample: Any) -> Frame:
        truth = sample.truth(*image.shape[:2])
        return Frame(image, time.monotonic(), self._seq, None, self.info.name, boxes=(truth.boxes, truth.class_ids))


class ListSource(FolderSource):
    """The images of a ``path,label`` list (CSV, TSV or text: what ``edgekit eval --data`` reads, through
    :class:`~edgekit.data.datasets.ManifestDataset`), in its order, each frame labelled: a class name, or
    for integer labels the model's output index, so the demo shows a running accuracy on the user's
    own labelled photos. A list of image paths alone, one per line (``ls photos/*.jpg > shots.txt``),
    plays its photos unlabelled (:func:`~edgekit.data.datasets.listed_images`).

    Raises (from ``open``):
        SourceError: the list cannot be read or names no image that exists, naming the row and the fix.
    """

    def __init__(self, path: str | Path, loop: bool = False, fps: float | None = None) -> None:
        super().__init__(path, loop, fps)
        self.info = SourceInfo(self.path.name, "list", live=fps is not None, requested_fps=fps)

    def _open(self) -> None:
        from edgekit.data.datasets import ManifestDataset, listed_images
        from edgekit.errors import DataError

        plain = listed_images(self.path) if self.path.is_file() else None
        if plain is not None:  # one image path per line, no labels: the photos play unlabelled
            if not plain:
                raise SourceError(f"none of the images {self.path} lists exists; paths are absolute or relative "
                                  "to the list's folder", path=self.path)
            self._listed([(f, None) for f in plain])
            return
        try:
            data = ManifestDataset(self.path)
        except DataError as exc:
            raise SourceError(str(exc), path=self.path) from exc
        index_labels = data.index_labels
        self._listed([(p, int(label) if index_labels else data.classes[label])
                      for p, label in zip(data.paths, data.labels.tolist(), strict=True)],
                     None if index_labels else tuple(data.classes))


def _label_of(path: Path, root: Path) -> str | None:
    parts = path.relative_to(root).parts
    return parts[0].strip() if len(parts) > 1 else None  # "cat\r" (a folder made from a Windows list) is "cat"


def _imread(path: Path) -> np.ndarray | None:
    """Read with ``imdecode`` so non-ASCII paths work on Windows too; ``None`` when undecodable."""
    if oversize(path):  # declared too large: never decoded (a 25000x25000 PNG took 3.7 GB)
        return None
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None  # 8-bit BGR whatever the file holds
