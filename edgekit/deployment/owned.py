"""Which files of an existing bundle edgekit wrote, so ``deploy --force`` replaces only a bundle.

Why from the manifest: a bundle lists every file it holds (integrity checks
reject any other), so ``manifest.json``'s ``files`` plus the manifest pair is
exactly what ``deploy`` wrote; a marker file would itself be an unlisted file.
A file a user added to a bundle folder, a folder that is no bundle, or a
``.zip`` that does not read as one is refused (see :mod:`edgekit._owned`).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from edgekit._owned import check_replaceable
from edgekit.deployment.manifest import MANIFEST, MANIFEST_DIGEST
from edgekit.errors import OutputExists

_WHAT = "an edgekit bundle"


def bundle_files(folder: Path) -> set[str] | None:
    """The relative paths a bundle folder's manifest lists (plus the manifest pair); ``None``: no bundle."""
    try:
        return _listed(json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def check_bundle_replaceable(out: Path) -> None:
    """Refuse to replace ``out`` (folder or ``.zip``) unless it is an edgekit bundle and nothing else.

    Raises:
        OutputExists: ``out`` holds files its manifest does not list, or is not a bundle; names them and the fix.
    """
    if out.suffix.lower() != ".zip" or out.is_dir():
        check_replaceable(out, bundle_files, _WHAT)
    elif out.exists() or out.is_symlink():
        _check_zip(out)


def _check_zip(out: Path) -> None:
    try:
        with zipfile.ZipFile(out) as archive:
            names = {i.filename for i in archive.infolist() if not i.is_dir()}
            listed = _listed(json.loads(archive.read(MANIFEST).decode("utf-8")))
    except (OSError, KeyError, UnicodeDecodeError, ValueError, zipfile.BadZipFile):
        listed, names = None, set()
    if out.is_symlink() or listed is None or not names <= listed:
        raise OutputExists(f"{out} is not {_WHAT} zip, so it will not be replaced; move it away, or choose "
                           "another output (--out)", path=out)


def _listed(data: object) -> set[str] | None:
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return None
    return {str(rel) for rel in files} | {MANIFEST, MANIFEST_DIGEST}
