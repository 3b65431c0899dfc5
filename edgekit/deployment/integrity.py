"""Checksums of a bundle folder: write them when a bundle is made, check them before it runs.

Why every file and not just the model: a swapped ``validation/sample.npz``
would make ``edgekit verify`` pass on a wrong model, and an added file could be
code someone hopes a later tool will run. So a bundle is accepted only when
its files are exactly the ones the manifest lists, byte for byte.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

from edgekit._io import sha256_file
from edgekit.deployment.manifest import MANIFEST, MANIFEST_DIGEST, Manifest
from edgekit.errors import BundleError

_FIX = "re-create the bundle with edgekit deploy, or copy it again from its source"


def list_files(folder: Path) -> list[str]:
    """Bundle-relative POSIX paths of every file except the manifest pair.

    Raises:
        BundleError: a symlink or a special file is inside the bundle.
    """
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                raise BundleError(f"bundle file {rel} is a symbolic link, which bundles never contain; {_FIX}", path=path)
            if name in files and not path.is_file():
                raise BundleError(f"bundle entry {rel} is not a regular file; {_FIX}", path=path)
        found += [(Path(root) / n).relative_to(folder).as_posix() for n in files]
    return sorted(f for f in found if f not in (MANIFEST, MANIFEST_DIGEST))


def manifest_digest(text: bytes) -> str:
    """The sha256 written to ``manifest.sha256``."""
    return hashlib.sha256(text).hexdigest()


def check_relpath(rel: str) -> None:
    """Refuse manifest paths that would leave the bundle folder."""
    pure = PurePosixPath(rel)
    if not rel or pure.is_absolute() or ".." in pure.parts or "\\" in rel or ":" in rel:
        raise BundleError(f"manifest lists an unsafe path {rel!r} (outside the bundle); {_FIX}")


def verify_folder(folder: str | Path) -> Manifest:
    """Check the manifest digest, the schema version and every file's sha256 and size.

    Returns:
        The manifest, once everything matched.

    Raises:
        BundleError: naming the first file that is modified, missing or extra.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"bundle {folder} does not exist or is not a folder/zip", path=folder)
    _check_manifest_digest(folder)
    manifest = Manifest.read(folder)
    listed = dict(manifest.files)
    for rel in listed:
        check_relpath(rel)
    present = list_files(folder)
    extra = [f for f in present if f not in listed]
    if extra:
        raise BundleError(f"bundle has a file its manifest does not list: {extra[0]}; {_FIX}", path=folder / extra[0])
    for rel, entry in sorted(listed.items()):
        _check_one(folder, rel, entry)
    return manifest


def _check_manifest_digest(folder: Path) -> None:
    manifest, digest = folder / MANIFEST, folder / MANIFEST_DIGEST
    for path in (manifest, digest):
        if not path.is_file() or path.is_symlink():
            raise BundleError(f"{folder} is not a complete bundle: {path.name} is missing; {_FIX}", path=path)
    expected = digest.read_text(encoding="ascii", errors="replace").split()[:1]
    if expected != [manifest_digest(manifest.read_bytes())]:
        raise BundleError(f"bundle file {MANIFEST} was modified (its sha256 differs from {MANIFEST_DIGEST}); {_FIX}", path=manifest)


def _check_one(folder: Path, rel: str, entry: dict) -> None:
    path = folder / rel
    if not path.is_file():
        raise BundleError(f"bundle file {rel} is missing; {_FIX}", path=path)
    if path.stat().st_size != entry.get("size") or sha256_file(path) != entry.get("sha256"):
        raise BundleError(f"bundle file {rel} was modified (sha256/size differ from the manifest); {_FIX}", path=path)
