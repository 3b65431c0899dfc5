"""Extract a zip bundle without trusting it.

A zip from elsewhere can name entries ``../../.bashrc`` or ``/etc/cron.d/x``,
hold symbolic links that point outside, or be a "zip bomb" that inflates a
few kilobytes into gigabytes. Every entry is checked before anything is
written, and bytes are counted while inflating (headers can lie).
"""

from __future__ import annotations

import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from edgekit.errors import BundleError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ZipLimits:
    """Size limits for one archive.

    Why these numbers: a bundle holds ~8 files (model, labels, sample, report...), an
    edge model is rarely over 1 GB, and models compress at most ~10x (ONNX weights are
    close to random; a sample of digit images ~50x). The old limits (4 GiB, ratio checked
    only above 1 MiB) let 1000 entries of exactly 1 MiB of zeros write 1 GB to disk.

    Attributes:
        max_total_bytes: largest total uncompressed size.
        max_ratio: largest uncompressed/compressed ratio of any entry over ``ratio_floor``
            bytes, and of the whole archive.
        max_entries: largest number of entries.
        ratio_floor: entries up to this size skip the per-entry ratio (a tiny text file
            can compress 300x without harm).
    """

    max_total_bytes: int = 2 << 30
    max_ratio: float = 200.0
    max_entries: int = 1_000
    ratio_floor: int = 64 << 10


def check_entries(archive: zipfile.ZipFile, limits: ZipLimits, where: Path) -> list[zipfile.ZipInfo]:
    """Return the entries to extract once every one is found safe.

    Raises:
        BundleError: naming the first unsafe entry and why.
    """
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise BundleError(f"{where} has {len(infos)} entries (limit {limits.max_entries}); refusing to extract", path=where)
    total, seen = 0, set()
    for info in infos:
        _check_name(info.filename, where)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise BundleError(f"{where} contains a symbolic link {info.filename!r}; bundles never do, refusing it", path=where)
        if info.filename in seen:
            raise BundleError(f"{where} names {info.filename!r} twice; refusing an ambiguous archive", path=where)
        seen.add(info.filename)
        total += info.file_size
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise BundleError(
                f"{where}: entry {info.filename!r} inflates {info.file_size / max(info.compress_size, 1):.0f}x "
                f"(limit {limits.max_ratio:.0f}x), which looks like a zip bomb; refusing it",
                path=where,
            )
    if total > limits.max_total_bytes:
        raise BundleError(f"{where} would extract to {total} bytes (limit {limits.max_total_bytes}); refusing it", path=where)
    packed = sum(i.compress_size for i in infos)
    if total > limits.ratio_floor * 16 and total > limits.max_ratio * max(packed, 1):
        raise BundleError(f"{where} inflates {total / max(packed, 1):.0f}x as a whole (limit {limits.max_ratio:.0f}x), "
                          "which looks like a zip bomb; refusing it", path=where)
    return infos


def _check_name(name: str, where: Path) -> None:
    pure = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or pure.is_absolute()
        or ".." in pure.parts
        or (len(name) > 1 and name[1] == ":")
    ):
        raise BundleError(f"{where} has an entry {name!r} that would land outside the bundle folder; refusing it", path=where)


def extract(zip_path: str | Path, dest: str | Path, limits: ZipLimits = ZipLimits()) -> Path:
    """Extract ``zip_path`` into the (new or empty) folder ``dest``.

    Returns:
        ``dest``.

    Raises:
        BundleError: not a zip, an unsafe entry, or over the size limits.
    """
    zip_path, dest = Path(zip_path), Path(dest)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            infos = check_entries(archive, limits, zip_path)
            dest.mkdir(parents=True, exist_ok=True)
            budget = min(limits.max_total_bytes, sum(i.file_size for i in infos))
            for info in infos:
                budget = _extract_one(archive, info, dest, budget, zip_path)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        # a central directory that lies about sizes ends in a CRC/EOF error; encrypted or
        # exotic compression in NotImplementedError/RuntimeError
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise BundleError(f"{zip_path} is not a valid bundle zip ({first}); copy the bundle again", path=zip_path) from exc
    except OSError as exc:
        raise BundleError(f"cannot extract {zip_path} ({exc.strerror or exc}); free disk space in the temporary "
                          "folder (TMPDIR) or extract it by hand", path=zip_path) from exc
    return dest


def _extract_one(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, budget: int, where: Path) -> int:
    target = dest.joinpath(*PurePosixPath(info.filename).parts)
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return budget
    target.parent.mkdir(parents=True, exist_ok=True)
    left = info.file_size  # the central directory's promise, enforced while inflating
    with archive.open(info) as src, open(target, "xb") as out:
        while chunk := src.read(_CHUNK):
            budget, left = budget - len(chunk), left - len(chunk)
            if budget < 0 or left < 0:
                raise BundleError(f"{where}: entry {info.filename!r} inflates past the size its zip directory declares; "
                                  "refusing it", path=where)
            out.write(chunk)
    return budget


def write_zip(folder: str | Path, zip_path: str | Path) -> Path:
    """Zip every regular file of ``folder`` (relative names, no links, deflated)."""
    folder = Path(folder)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.write(path, path.relative_to(folder).as_posix())
    return Path(zip_path)


def remove_tree(path: str | Path) -> None:
    """Remove an extracted folder, ignoring errors (used by finalizers)."""
    shutil.rmtree(path, ignore_errors=True)
