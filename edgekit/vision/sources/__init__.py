"""Frame sources: cameras and streams, video files, image folders, the labelled
demo stream, a test pattern and in-memory arrays; :func:`open_source` picks one
from a short text spec (what ``--source`` takes)."""

from __future__ import annotations

from edgekit._io import expand_user
from edgekit.data.layouts import detection_layout
from edgekit.errors import SourceError
from edgekit.vision.sources.base import Frame, FrameSource, SourceInfo
from edgekit.vision.sources.camera import CameraInfo, CameraSource, list_cameras
from edgekit.vision.sources.files import (
    IMAGE_SUFFIXES,
    LIST_SUFFIXES,
    BoxFolderSource,
    FolderSource,
    ImageSource,
    ListSource,
    VideoSource,
)
from edgekit.vision.sources.generated import ArraySource, DemoSource, DetectionDemoSource, SyntheticSource

__all__ = [
    "STREAM_SCHEMES", "ArraySource", "BoxFolderSource", "CameraInfo", "CameraSource", "DemoSource", "DetectionDemoSource",
    "FolderSource", "Frame", "FrameSource", "ImageSource", "ListSource", "SourceInfo", "SyntheticSource", "VideoSource", "is_stream_url", "list_cameras", "open_source",
]

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


def is_stream_url(text: str) -> bool:
    """Whether ``text`` is a network stream :func:`open_source` opens with FFmpeg (rtsp://, http://, ...)."""
    text = text.strip().lower()
    return text.startswith(STREAM_SCHEMES) and len(text) > text.index("://") + 3


def open_source(spec: str | int, *, fps: float | None = None, loop: bool = False,
                size: tuple[int, int] | None = None) -> FrameSource:
    """Build (not open) a source from ``--source`` text.

    ``"demo"`` labelled demo stream, ``"demo-det"`` labelled detection demo stream
    (boxes per frame), ``"synthetic"`` test pattern, ``"0"``
    camera index, ``"rtsp://..."``/``"http://..."`` stream, a folder of
    images, box-labelled photos (a YOLO folder of ``images/`` + ``labels/``, a VOC folder or a COCO
    ``.json``: each frame with its boxes), an image file, a ``path,label`` list
    (``.csv``/``.tsv``/``.txt``: labelled frames; one image path per line: unlabelled), or a video file.

    Args:
        spec: the text (or a camera index).
        fps: pace generated/file frames like a live camera at this rate;
            for cameras, the frame rate requested.
        loop: loop files and folders.
        size: ``(height, width)`` for generated frames; requested camera size.

    Raises:
        SourceError: the spec names nothing that exists, with the choices.
    """
    text = str(spec).strip()
    if text == "demo":
        return DemoSource(fps=fps, **({"size": size} if size else {}))
    if text == "demo-det":
        return DetectionDemoSource(fps=fps, **({"size": size} if size else {}))
    if text == "synthetic":
        return SyntheticSource(fps=fps, **({"size": size} if size else {}))
    if text.isdecimal():
        h, w = size if size else (None, None)
        return CameraSource(int(text), width=w, height=h, fps=fps)
    if is_stream_url(text):
        return CameraSource(text, fps=fps)
    path = expand_user(text)
    if detection_layout(path) is not None:  # YOLO/VOC folder, COCO .json: frames with their boxes
        return BoxFolderSource(path, loop=loop, fps=fps)
    if path.is_dir():
        return FolderSource(path, loop=loop, fps=fps)
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path, loop=loop, fps=fps)
    if path.is_file() and path.suffix.lower() in LIST_SUFFIXES:  # path,label rows: labelled frames
        return ListSource(path, loop=loop, fps=fps)
    if path.is_file():
        return VideoSource(path, loop=loop, realtime=fps is not None)
    raise SourceError(
        f"source {text!r} is not a camera index, URL, folder or file that exists; use demo, synthetic, "
        "a camera index (0), rtsp://..., a video file, an image file, a folder of images or a path,label "
        "list (.csv)", path=path,
    )
