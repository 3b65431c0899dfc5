"""Refuse an image by the size its header declares, before any pixel is decoded.

Why: a 0.6 MB PNG can declare 25000x25000 pixels; decoding it took ``eval`` and
``demo --source DIR`` to 3.7 GB of memory, and a 50000x50000 one ended in an
OpenCV assertion shown as "internal error". Reading the header costs a few
hundred bytes. The limit is ``EDGEKIT_MAX_IMAGE_PIXELS`` (default 64 MP), and
OpenCV's own decoder limit (``OPENCV_IO_MAX_IMAGE_PIXELS``, read by OpenCV when
it first decodes) is set to the same value for formats parsed here not at all
(TIFF, ...).

Example:
    >>> declared_size(b"\\x89PNG\\r\\n\\x1a\\n" + b"\\0\\0\\0\\rIHDR" + (25000).to_bytes(4, "big") * 2)
    ('png', 25000, 25000)
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

DEFAULT_MAX_PIXELS = 64_000_000
HEAD_BYTES = 256 << 10  # JPEG frame headers come after EXIF/ICC segments (64 KiB each at most)


def max_pixels() -> int:
    """The pixel limit: ``EDGEKIT_MAX_IMAGE_PIXELS`` when set to a positive integer, else 64 MP."""
    text = os.environ.get("EDGEKIT_MAX_IMAGE_PIXELS", "").strip()
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else DEFAULT_MAX_PIXELS


def _set_opencv_limit() -> None:
    os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(max_pixels()))


_set_opencv_limit()


def declared_size(head: bytes) -> tuple[str, int, int] | None:
    """``(format, width, height)`` from the first bytes of a PNG/JPEG/BMP/GIF/WebP/PNM; ``None`` if unknown."""
    try:
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return "png", width, height
        if head.startswith(b"\xff\xd8"):
            return _jpeg(head)
        if head.startswith(b"BM") and len(head) >= 26:
            width, height = struct.unpack("<ii", head[18:26])
            return "bmp", abs(width), abs(height)
        if head[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", head[6:10])
            return "gif", width, height
        if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
            return _webp(head)
        if head[:2] in (b"P1", b"P2", b"P3", b"P4", b"P5", b"P6"):
            return _pnm(head)
    except (struct.error, ValueError, IndexError):
        return None
    return None


def _jpeg(head: bytes) -> tuple[str, int, int] | None:
    pos = 2
    while pos + 9 < len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", head[pos + 2 : pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", head[pos + 5 : pos + 9])
            return "jpeg", width, height
        pos += 2 + length
    return None


def _webp(head: bytes) -> tuple[str, int, int] | None:
    kind = head[12:16]
    if kind == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return "webp", width, height
    if kind == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        return "webp", width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _pnm(head: bytes) -> tuple[str, int, int] | None:
    tokens = []
    for line in head[2:1024].split(b"\n"):
        tokens += line.split(b"#")[0].split()
        if len(tokens) >= 2:
            return "pnm", int(tokens[0]), int(tokens[1])
    return None


def oversize(path: str | Path, limit: int | None = None) -> str | None:
    """Why ``path`` must not be decoded (a sentence), or ``None`` when its header is within the limit.

    An unreadable or unknown header is ``None`` here: decoding decides about it.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
            if head.startswith(b"\xff\xd8") and _jpeg(head) is None:  # frame header after EXIF/ICC: walk segments
                head = _jpeg_head(fh)
    except OSError:
        return None
    return oversize_bytes(head, limit, str(path))


def _jpeg_head(fh) -> bytes:
    """The bytes up to and including a JPEG's frame header, read by seeking over segments
    (a folder of large photos is opened without reading their bodies)."""
    fh.seek(2)
    out = bytearray(b"\xff\xd8")
    while len(out) < HEAD_BYTES:
        marker = fh.read(4)
        if len(marker) < 4 or marker[0] != 0xFF:
            break
        length = struct.unpack(">H", marker[2:4])[0]
        if 0xC0 <= marker[1] <= 0xCF and marker[1] not in (0xC4, 0xC8, 0xCC):
            out += marker + fh.read(7)
            break
        out += marker + b"\0" * max(length - 2, 0)  # the segment's body is never read
        fh.seek(length - 2, 1)
    return bytes(out)


def oversize_bytes(head: bytes, limit: int | None = None, where: str = "image") -> str | None:
    """:func:`oversize` for bytes already in memory."""
    found = declared_size(head)
    limit = max_pixels() if limit is None else limit
    if found is None:
        return None
    kind, width, height = found
    if width * height > limit:
        return (f"{where} declares {width}x{height} pixels ({width * height / 1e6:.3g} MP), over the "
                f"{limit / 1e6:.3g} MP limit; shrink it, or raise EDGEKIT_MAX_IMAGE_PIXELS")
    if width == 0 or height == 0:
        return f"{where} declares a {width}x{height} {kind.upper()} image, which holds no pixels; replace it"
    return None


def read_image(path: str | os.PathLike) -> Any:
    """The BGR uint8 pixels of an image file, refused by its declared size before decoding.

    Why: ``Detector.detect("bus.jpg")`` answered "got shape ()" and ``Predictor.predict`` asked for
    ``cv2.imread`` first, which has no size limit and returns ``None`` for a missing file. Read as bytes
    and decoded in memory, so a path OpenCV cannot open (non-ASCII on Windows) reads too.

    Raises:
        InputMismatch: naming the file: missing, unreadable, not an image, or over the pixel limit.
    """
    import cv2
    import numpy as np

    from edgekit.errors import InputMismatch

    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        why = "no such file" if isinstance(exc, FileNotFoundError) else (exc.strerror or type(exc).__name__)
        raise InputMismatch(f"{path}: {why}; give the path of a JPEG/PNG image, or its pixels as a numpy "
                            "array", path=path) from None
    too_large = oversize_bytes(data[:HEAD_BYTES], where=str(path))
    if too_large:
        raise InputMismatch(too_large, path=path)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise InputMismatch(f"{path} could not be decoded as an image (empty, truncated or not an image); "
                            "replace it with a JPEG or PNG", path=path)
    return image


def pixels_of(image: Any) -> Any:
    """``image`` as it is, or for a path (``str``/``os.PathLike``) the pixels of that file (:func:`read_image`)."""
    return read_image(image) if isinstance(image, (str, os.PathLike)) else image
