"""OpenCV cameras (by index) and network streams (RTSP/HTTP), and camera discovery.

What the camera grants often differs from what was asked (a 1920x1080 @ 60
request may come back as 640x480 @ 30), so both are kept in
:class:`~edgekit.vision.sources.base.SourceInfo` and shown to the user.
"""

from __future__ import annotations

import glob
import os
import re
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2

from edgekit.errors import SourceError
from edgekit.vision.sources.base import Frame, SourceInfo

_TIMEOUT_MS = 5000


def _open_capture(target: int | str, timeout_ms: int | None = None) -> cv2.VideoCapture:
    """The hardware edge: open an OpenCV capture (tests replace this function).

    OpenCV's own warnings for a missing camera are silenced: the
    ``SourceError`` raised by the caller says the same with what to do. So is
    FFmpeg's log for a stream (``OPENCV_FFMPEG_LOGLEVEL``, read at each open;
    a value the user set, or ``EDGEKIT_DEBUG``, keeps it): a stream that fails
    and is reopened printed its "partial file" lines over the live table.
    """
    if not isinstance(target, int) and not os.environ.get("EDGEKIT_DEBUG"):
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        if isinstance(target, int):
            api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
            return cv2.VideoCapture(target, api)
        timeout_ms = _TIMEOUT_MS if timeout_ms is None else timeout_ms  # read now: the message says it too
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
        return cv2.VideoCapture(target, cv2.CAP_ANY, params)
    finally:
        cv2.utils.logging.setLogLevel(level)


class CameraSource:
    """A camera by index (``0``) or a stream by URL (``rtsp://...``, ``http://...``).

    Args:
        index_or_url: camera index or stream URL.
        width, height: requested resolution (``None``: the camera's default).
        fps: requested frame rate (``None``: the camera's default).

    Raises (from ``open``/``read``):
        SourceError: camera missing or busy, stream unreachable, or frames
            stopped coming (unplugged) - each with what to do.
    """

    def __init__(self, index_or_url: int | str = 0, width: int | None = None, height: int | None = None,
                 fps: float | None = None) -> None:
        target = index_or_url
        if isinstance(target, str) and target.strip().isdecimal():
            target = int(target)
        self.target = target
        self.requested = (width, height, fps)
        kind = "camera" if isinstance(target, int) else "stream"
        self.name = f"camera {target}" if kind == "camera" else redact_url(str(target))
        size = (width, height) if width and height else None
        self.info = SourceInfo(self.name, kind, live=True, requested_size=size, requested_fps=fps)
        self._cap: cv2.VideoCapture | None = None
        self._seq = 0

    def open(self) -> None:
        """Open the camera or stream; an open one stays as it is (it may be opened early to
        learn its rate, see :func:`edgekit.vision.config.sessions_and_source`)."""
        if self._cap is not None:
            return
        started = time.monotonic()
        cap = _open_capture(self.target)
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise SourceError(self._missing_message(time.monotonic() - started))
        width, height, fps = self.requested
        if width and height:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            cap.set(cv2.CAP_PROP_FPS, fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a queue of old ones
        granted_w, granted_h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        granted_fps = float(cap.get(cv2.CAP_PROP_FPS)) or None
        self.info = SourceInfo(
            self.name, self.info.kind, live=True, requested_size=self.info.requested_size,
            granted_size=(granted_w, granted_h) if granted_w and granted_h else None,
            requested_fps=fps, granted_fps=granted_fps,
        )
        self._cap = cap

    def read(self) -> Frame | None:
        if self._cap is None:
            raise SourceError(f"{self.name} is not open; call open() first")
        ok, image = self._cap.read()
        if not ok or image is None:
            raise SourceError(self._stopped_message())
        frame = Frame(image, time.monotonic(), self._seq, None, self.name)
        self._seq += 1
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _stopped_message(self) -> str:
        if isinstance(self.target, int):
            return (f"{self.name} stopped delivering frames (unplugged, asleep or taken by another app); "
                    "plug it back in or close the other app")
        return (f"stream {self.name} gave no frame (it ended or dropped, or it is a file served over HTTP "
                "without range requests, which FFmpeg cannot read); check that it plays in VLC/ffplay, "
                "or give the file as a path")

    def _missing_message(self, waited_s: float) -> str:
        """Why the camera or stream did not open. ``waited_s``: how long the open took; a stream that
        failed well before the timeout was refused or is no stream (it was said to have timed out)."""
        if isinstance(self.target, int):
            return (
                f"camera {self.target} could not be opened: it is missing, or busy in another app; "
                "run `edgekit demo --list-cameras` to see the cameras here, close apps using it, "
                "or pass another --source"
            )
        timeout_s = _TIMEOUT_MS / 1000
        why = (f"nothing answered within {timeout_s:g} s" if waited_s >= 0.8 * timeout_s else
               f"it failed after {waited_s:.1f} s: the connection was refused, or what answered is no stream")
        return (f"stream {self.name} could not be opened ({why}); check the URL, credentials and network, "
                "and that the stream plays in VLC/ffplay")


def redact_url(url: str) -> str:
    """Hide a password in ``rtsp://user:pass@host`` before it reaches a log or screen."""
    return re.sub(r"(//[^:/@]+):[^@/]+@", r"\1:***@", url)


@dataclass(frozen=True)
class CameraInfo:
    """A camera found by :func:`list_cameras`."""

    index: int
    name: str
    path: str = ""
    width: int | None = None
    height: int | None = None
    fps: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


def list_cameras(max_index: int = 8, probe: bool = False, timeout_s: float = 2.0,
                 dev_dir: str = "/dev") -> list[CameraInfo]:
    """Find cameras without hanging on indices that do not exist.

    On Linux the V4L2 device nodes (``/dev/video*``) are listed and only
    those are opened (and only with ``probe``); elsewhere each index up to
    ``max_index`` is tried in a helper thread that is abandoned after
    ``timeout_s``.

    Args:
        max_index: highest index to consider.
        probe: open each camera to read its default resolution and FPS.
        timeout_s: longest wait for one camera to answer.

    Returns:
        The cameras found, lowest index first (empty when there are none).
    """
    if sys.platform.startswith("linux"):
        found = []
        for node in sorted(glob.glob(f"{dev_dir}/video*")):
            match = re.fullmatch(r".*/video(\d+)", node)
            if not match or int(match.group(1)) > max_index or not _is_capture_node(node):
                continue
            index = int(match.group(1))
            name = _sysfs_name(index) or f"camera {index}"
            found.append(_probe(index, name, node, timeout_s) if probe else CameraInfo(index, name, node))
        return [c for c in found if c is not None]
    results = [_probe(i, f"camera {i}", "", timeout_s) for i in range(max_index + 1)]
    return [c for c in results if c is not None]


def _is_capture_node(node: str) -> bool:
    """V4L2 exposes metadata nodes too; a capture node's sysfs index is 0."""
    index_file = Path("/sys/class/video4linux") / Path(node).name / "index"
    try:
        return index_file.read_text().strip() == "0"
    except OSError:
        return True


def _sysfs_name(index: int) -> str:
    try:
        return (Path("/sys/class/video4linux") / f"video{index}" / "name").read_text().strip()
    except OSError:
        return ""


def _probe(index: int, name: str, path: str, timeout_s: float) -> CameraInfo | None:
    """Open camera ``index`` in a thread; give up (and return ``None``) after ``timeout_s``."""
    result: list[CameraInfo] = []

    def work() -> None:
        cap = _open_capture(index)
        try:
            if cap.isOpened():
                result.append(CameraInfo(index, name, path, int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                         int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                                         float(cap.get(cv2.CAP_PROP_FPS)) or None))
        finally:
            cap.release()

    thread = threading.Thread(target=work, daemon=True, name=f"edgekit-probe-camera-{index}")
    thread.start()
    thread.join(timeout_s)
    return result[0] if result else None
