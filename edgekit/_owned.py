"""What edgekit wrote into an output folder, so ``--force`` replaces only that.

Why: ``--force`` used to replace a whole output folder, and with it a ``notes.txt``
the user had put beside ``report.json`` or a file dropped into a bundle folder.
Now an existing output is replaced only when every file in it is on the list of
files edgekit wrote there; anything else (a file not on the list, a folder that
is no edgekit output, a list that cannot be read) is refused with
:class:`~edgekit.errors.OutputExists` naming those files, and nothing is touched.

Where the list comes from:

- a bundle: its ``manifest.json`` (``files`` plus the manifest pair), which
  :mod:`edgekit.deployment.bundle` reads; bundles must not hold any other file
  (integrity checks reject extra files), so no marker is added to them;
- a plan's ``--out`` folder: :data:`OWN_LIST` (``.edgekit-files``), one relative
  path a line, written by :func:`write_list` once the run has finished. A file of
  its own rather than a field of ``report.json`` because the planner writes models
  into the folder while it runs and ``report.json`` before the plot, so only the
  guard that owns the folder for the whole run knows the final list, and the same
  list serves any folder output without changing a report's schema.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from edgekit.errors import OutputExists

OWN_LIST = ".edgekit-files"
_SHOWN = 3


def write_list(folder: str | Path) -> Path:
    """Write :data:`OWN_LIST` in ``folder``: every file now under it (and the list itself).

    Call it only on a folder edgekit created or emptied for this run, once the run is complete.
    """
    folder = Path(folder)
    names = sorted({*_files(folder), OWN_LIST})
    path, tmp = folder / OWN_LIST, folder / f"{OWN_LIST}.tmp"  # not edgekit._io: it imports this module
    tmp.write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_list(folder: Path) -> set[str] | None:
    """The relative paths :data:`OWN_LIST` names, or ``None`` when there is no readable list."""
    try:
        text = (folder / OWN_LIST).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return {line.strip() for line in text.splitlines() if line.strip()}


def foreign_files(folder: Path, owned: Iterable[str]) -> list[str]:
    """Entries under ``folder`` that are not in ``owned`` (relative POSIX paths, sorted).

    A symlink or a special file counts as foreign; an empty sub-folder does not (it holds
    nothing to lose, and the planner leaves an empty ``models/`` when no model was built).
    """
    owned = set(owned)
    foreign: list[str] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        base = Path(root).relative_to(folder)
        foreign += [(base / name).as_posix() for name in dirs if (Path(root) / name).is_symlink()]
        for name in files:
            rel = (base / name).as_posix()
            path = Path(root) / name
            if rel not in owned or path.is_symlink() or not path.is_file():
                foreign.append(rel)
    return sorted(foreign)


def check_replaceable(path: str | Path, owned: Callable[[Path], set[str] | None] = read_list,
                      what: str = "an edgekit output") -> None:
    """Refuse to replace ``path`` unless everything in it is something edgekit wrote.

    ``owned(folder)`` returns the relative paths edgekit wrote there, or ``None`` when the folder
    is not ``what`` at all. A missing or empty folder is always replaceable.

    Raises:
        OutputExists: naming ``path``, up to three foreign files and the fix.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_dir():
        raise OutputExists(f"{path} is not {what} (a file or link edgekit did not write), so it will not be "
                           "replaced; move it away, or choose another output (--out)", path=path)
    if not any(path.iterdir()):
        return
    listed = owned(path)
    foreign = foreign_files(path, listed or ())
    if listed is not None and not foreign:
        return
    shown = ", ".join(foreign[:_SHOWN]) + (f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else "")
    kind = "holds files edgekit did not write" if listed is not None else f"is not {what}; it holds"
    raise OutputExists(f"{path} {kind} ({shown}), so it will not be replaced; move them out of it, "
                       "or choose another output (--out)", path=path)


def _files(folder: Path) -> list[str]:
    return [(Path(root) / n).relative_to(folder).as_posix()
            for root, _dirs, files in os.walk(folder, followlinks=False) for n in files]
