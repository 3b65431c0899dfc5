"""Decode an uploaded JPEG/PNG without letting it exhaust memory.

A 50 kB PNG can declare 60000 x 60000 pixels and inflate to ~10 GB, so the
declared size is read from the header and checked before OpenCV decodes.
Only PNG and JPEG are accepted: they are what cameras and browsers send.
"""

from __future__ import annotations

import struct

import numpy as np

from edgekit.serve.protocol import RequestError

MAX_PIXELS = 40_000_000
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def declared_size(data: bytes) -> tuple[str, int, int]:
    """``(kind, width, height)`` from a PNG or JPEG header.

    Raises:
        RequestError: 415 for other formats, 400 for a header that cannot be read.
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise RequestError(400, "PNG image has no IHDR header; the upload is truncated or corrupt")
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data[:2] == b"\xff\xd8":
        return ("jpeg", *_jpeg_size(data))
    raise RequestError(415, "body is not a JPEG or PNG image; send the encoded image bytes as the body "
                            "(curl --data-binary @photo.jpg URL) or as one file of a form (curl -F image=@photo.jpg URL)")


def image_body(body: bytes, content_type: str | None) -> bytes:
    """The image bytes of a request: the body itself, or the one file of a ``multipart/form-data``
    body (``curl -F image=@photo.jpg``, an HTML form, ``requests.post(url, files=...)``).

    Why: a form upload is how browsers and most HTTP clients send a file; read as raw bytes it
    starts with the form's boundary and was refused as "not a JPEG or PNG image", which the user
    had just sent. Parsed with the standard library's MIME parser (no extra dependency on a device).

    Raises:
        RequestError: 400 for a form with no file or several files, or a form with no boundary.
    """
    if not (content_type or "").lower().lstrip().startswith("multipart/form-data"):
        return body
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise RequestError(400, "multipart/form-data body without a boundary or parts; send the image as one form "
                                "file (curl -F image=@photo.jpg URL) or the bytes as the body")
    files = [part for part in message.iter_parts() if part.get_filename() is not None
             or part.get_content_maintype() == "image"]
    if len(files) != 1:
        found = "no file" if not files else f"{len(files)} files"
        raise RequestError(400, f"the form holds {found}; send exactly one image per request "
                                "(curl -F image=@photo.jpg URL)")
    return files[0].get_payload(decode=True) or b""


def _jpeg_size(data: bytes) -> tuple[int, int]:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            pos += 1
            continue
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            pos += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    raise RequestError(400, "JPEG image has no frame header; the upload is truncated or corrupt")


def decode(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode to BGR uint8 after checking the declared size.

    Raises:
        RequestError: 415 not JPEG/PNG, 413 over ``max_pixels`` (or ``EDGEKIT_MAX_IMAGE_PIXELS`` when lower,
            see :mod:`edgekit.imagelimits`), 400 undecodable.
    """
    import cv2

    from edgekit.imagelimits import max_pixels as configured

    kind, width, height = declared_size(data)
    max_pixels = min(max_pixels, configured())  # EDGEKIT_MAX_IMAGE_PIXELS lowers it, as everywhere else
    if width * height > max_pixels:
        raise RequestError(413, f"{kind.upper()} declares {width}x{height} pixels (limit {max_pixels}); send a smaller image")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise RequestError(400, f"could not decode the {kind.upper()} image; the upload is truncated or corrupt")
    return image
