"""A plan's ``out`` folder for one run: new or empty, or (``force``) replaced only when edgekit wrote it all.

Why here and not in the CLI: ``edgekit plan --out``, ``edgekit run plan.yaml`` and
``edgekit.plan(out=..., force=True)`` must refuse and replace the same way. A finished
run writes :data:`edgekit._owned.OWN_LIST` (every file it put in the folder), so a
later ``force`` replaces that folder only while it holds nothing else: a ``notes.txt``
a user put beside ``report.json`` makes it refuse, naming the file, and nothing is moved.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from edgekit._io import expand_user
from edgekit._owned import check_replaceable, write_list
from edgekit.errors import ConfigError, OutputExists


def check_out(out: str | Path | None, force: bool, setting: str = "--out") -> Path | None:
    """``out`` as a path, refused when it holds anything and ``force`` is not given, or when
    ``force`` is given but it holds files this plan's earlier run did not write.

    Why: the planner writes into the folder as it goes, so an old report there would be
    silently mixed with (or replaced by) the new one.

    Raises:
        OutputExists: ``out`` exists and is not an empty folder (``setting`` names where it was
            set), or holds files edgekit did not write.
    """
    if not out:
        return None
    path = expand_user(out)
    if path.exists() and not force and not (path.is_dir() and not any(path.iterdir())):
        raise OutputExists(f"{path} (set by {setting}) already exists and is not an empty folder; "
                           f"change {setting}, or pass --force to replace it", path=path)
    if force:
        check_replaceable(path, what="a plan's output folder")
    return path


@contextlib.contextmanager
def report_folder(out: str | Path | None, force: bool, setting: str = "--out") -> Iterator[None]:
    """Guard the plan's ``out`` folder for one run: all or nothing.

    The old folder (``force``) is moved aside and put back if the run fails or is
    cancelled, else deleted; a folder the run created is removed on failure, so a
    retry is not refused. Not a temp-folder-then-rename: the report's model paths
    point into ``out``, so the planner has to write there. On success the folder's
    list of files is written (:func:`edgekit._owned.write_list`).

    Raises:
        OutputExists: as :func:`check_out`.
        ConfigError: ``out`` holds the current working folder.
    """
    path = check_out(out, force, setting)
    if path is None:
        yield
        return
    was_empty = path.is_dir() and not any(path.iterdir())
    old = _park(path, setting) if path.exists() and not was_empty else None
    try:
        yield
    except BaseException:
        _remove(path)
        if old is not None:
            os.replace(old, path)
            _remove(old.parent)
        elif was_empty:
            path.mkdir()
        raise
    if path.is_dir():
        write_list(path)
    if old is not None:
        _remove(old.parent)


def _park(path: Path, setting: str) -> Path:
    """Move the old folder into a holder this run created (random name, never a fixed
    ``.NAME.old`` the user may own); return where it went."""
    if Path.cwd().resolve().is_relative_to(path.resolve()):  # e.g. --out . : never move the work folder
        raise ConfigError(f"{path} (set by {setting}) holds the current folder and cannot be replaced; "
                          f"change {setting} to a new folder")
    holder = Path(tempfile.mkdtemp(prefix=f".{path.resolve().name}.", suffix=".old", dir=path.resolve().parent))
    old = holder / path.resolve().name
    os.replace(path, old)
    return old


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
