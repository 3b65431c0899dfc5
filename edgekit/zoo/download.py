"""Fetch a catalogue model into the user cache, safely.

Guarantees: the file in the cache is either absent or complete and verified.
Bytes stream into a temporary file in the cache folder; only after the size
and sha256 match does it get renamed into place (an atomic ``os.replace``).
A dropped connection, a wrong checksum or Ctrl-C leaves nothing behind.
Without a network the error says, in one sentence, which URL to fetch by hand
and where to save it.

Only the standard library is used (``urllib``), so pulling needs no extra package.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from edgekit._io import sha256_file, write_text_atomic
from edgekit.errors import DownloadError
from edgekit.progress import Progress, emit
from edgekit.zoo.catalog import CatalogEntry, get_entry
from edgekit.zoo.hub import cache_dir

_CHUNK = 1 << 16


def _manual_hint(entry: CatalogEntry, url: str, dest: Path) -> str:
    return f"download {url} by hand and save it as {dest} (sha256 {entry.sha256})"


def is_cached(entry: CatalogEntry, folder: Path | None = None) -> bool:
    """True when the cache holds the complete, verified file."""
    path = (folder or cache_dir()) / entry.filename
    return path.is_file() and path.stat().st_size == entry.size and sha256_file(path) == entry.sha256


def pull(
    name: str | CatalogEntry,
    *,
    base_url: str | None = None,
    cache: str | Path | None = None,
    force: bool = False,
    timeout: float = 30.0,
    progress: Progress | None = None,
) -> Path:
    """Download a catalogue model (if not cached), verify it and return its path.

    Args:
        name: catalogue name (``"mobilenetv2"``) or entry.
        base_url: hub root; default ``$EDGEKIT_HUB_URL`` or the ONNX Model Zoo.
        cache: folder to store into; default the user cache (``edgekit.zoo.hub.cache_dir``).
        force: download again even when a verified copy is cached.
        timeout: seconds to wait for the server on connect and on each read.
        progress: receives "download" :class:`~edgekit.progress.ProgressEvent` s (bytes done/total).

    Raises:
        DownloadError: no network / server error (with the manual fix), a
            connection cut mid-way, or a size/sha256 mismatch.

    Example:
        >>> path = pull("mobilenetv2")      # doctest: +SKIP
    """
    entry = name if isinstance(name, CatalogEntry) else get_entry(name)
    folder = Path(cache) if cache is not None else cache_dir()
    dest = folder / entry.filename
    if not force and is_cached(entry, folder):
        _write_card(entry, dest)
        return dest
    url = entry.url(base_url)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{entry.filename}.", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(url, out, entry, dest, timeout, progress)
        _verify(entry, tmp, digest, url, dest)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    _write_card(entry, dest)
    return dest


def _fetch(url: str, out, entry: CatalogEntry, dest: Path, timeout: float, progress) -> str:
    """Stream ``url`` into ``out``; return the sha256 of what was written."""
    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": "edgekit"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or entry.size)
            done = 0
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                emit(progress, "download", entry.filename, done=done, total=total, fraction=done / total if total else None)
    except urllib.error.HTTPError as exc:
        raise DownloadError(
            f"{url} answered HTTP {exc.code} {exc.reason}; {_manual_hint(entry, url, dest)}", path=dest
        ) from exc
    except http.client.IncompleteRead as exc:
        raise DownloadError(
            f"the connection to {url} was cut after {len(exc.partial)} more bytes; nothing was kept; "
            f"run edgekit pull {entry.name} again or {_manual_hint(entry, url, dest)}",
            path=dest,
        ) from exc
    except (TimeoutError, urllib.error.URLError, ConnectionError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(
            f"could not download {entry.name} ({type(exc).__name__}: {reason}); {_manual_hint(entry, url, dest)}",
            path=dest,
        ) from exc
    return digest.hexdigest()


def _verify(entry: CatalogEntry, tmp: Path, digest: str, url: str, dest: Path) -> None:
    size = tmp.stat().st_size
    if size != entry.size:
        raise DownloadError(
            f"the download of {entry.name} stopped at {size} of {entry.size} bytes (connection cut?); "
            f"run edgekit pull {entry.name} again or {_manual_hint(entry, url, dest)}",
            path=dest,
        )
    if digest != entry.sha256:
        raise DownloadError(
            f"{url} has sha256 {digest}, not the expected {entry.sha256}; the file was discarded "
            "(a changed or tampered file, or a proxy page); check the URL or EDGEKIT_HUB_URL",
            path=dest,
        )


def _write_card(entry: CatalogEntry, dest: Path) -> None:
    """Write ``X.json`` beside the model so ``load_model`` knows its preprocessing and labels."""
    card = dest.with_suffix(".json")
    if not card.is_file():
        write_text_atomic(card, json.dumps(entry.card(), indent=2) + "\n", force=True)
