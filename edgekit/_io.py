"""File helpers every writer in edgekit uses: atomic writes, no overwrites, hashes.

Why: a crash or Ctrl-C half-way through writing a model must never leave a
truncated file where a good one was, and a user's existing file must never be
replaced unless they asked for it (``force``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from edgekit._owned import check_replaceable
from edgekit.errors import OutputExists

_CHUNK = 1 << 20


def expand_user(path: str | Path) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded.

    Why not ``Path.expanduser``: for ``~name`` of no user on this machine (a manifest row, a
    typo) it raises ``RuntimeError`` from inside pathlib; here such a path stays as written,
    so the caller's own "no such file" error names it."""
    path = Path(path)
    try:
        return path.expanduser()
    except RuntimeError:
        return path


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_files(paths: list[Path]) -> str:
    """Return one sha256 over several files (in the given order), e.g. IR .xml + .bin.

    For a single file it is that file's own sha256 (what ``sha256sum`` prints),
    so ``edgekit info`` shows a hash a user can check; for several it is the
    sha256 of their hex digests, one after the other.
    """
    if len(paths) == 1:
        return sha256_file(paths[0])
    digest = hashlib.sha256()
    for path in paths:
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()


def check_writable(path: str | Path, force: bool = False) -> Path:
    """Refuse to overwrite an existing output unless ``force``.

    Raises:
        OutputExists: when ``path`` exists and ``force`` is false.
    """
    path = Path(path)
    for parent in path.parents:  # `--out notes.txt/bundle`: say so, instead of "File exists" from mkdir
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                from edgekit.errors import ConfigError

                raise ConfigError(f"cannot write {path}: {parent} is a file, not a folder; choose an output "
                                  "inside a folder", path=path)
            break
    if path.exists() and not force:
        raise OutputExists(
            f"{path} already exists; choose another output or pass --force to replace it",
            path=path,
        )
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    The temporary file lives in the same folder so the final ``os.replace`` is
    atomic. On any exception the temporary file is removed and ``path`` is
    untouched.

    Example:
        >>> with atomic_path("out.onnx") as tmp:   # doctest: +SKIP
        ...     onnx.save(model, tmp)
    """
    path = check_writable(path, force)
    with _unwritable(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; the user's file gets the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | Path, force: bool = False,
               owned: Callable[[Path], set[str] | None] | None = None) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; move it into place on success.

    With ``force`` an existing folder is replaced only after the new one is
    complete, so a failure leaves the old one as it was. ``owned(folder)`` lists the
    files edgekit wrote in such a folder (see :mod:`edgekit._owned`): given, a folder
    holding anything else is refused (before the work and again before the swap).

    Raises:
        OutputExists: ``path`` exists without ``force``, or holds files ``owned`` does not list.
    """
    path = check_writable(path, force)
    if owned is not None:
        check_replaceable(path, owned)
    with _unwritable(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        yield tmp
        if path.exists() or path.is_symlink():
            if owned is not None:
                check_replaceable(path, owned)  # a file added while the new output was being made
            # park the old output in a folder only this call created (random name), never in a
            # fixed sibling such as `.NAME.old` that could be the user's own
            holder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, holder / path.name)
            os.replace(tmp, path)
            shutil.rmtree(holder, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _unwritable(path: Path) -> Iterator[None]:
    """An output folder that cannot be created or written to, named as the user gave it (not our temp name)."""
    try:
        yield
    except OSError as exc:
        from edgekit.errors import ConfigError

        raise ConfigError(f"cannot write {path} ({exc.strerror or exc}); choose an output in a folder you can "
                          "write to", path=path) from exc


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` would, for every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def write_text_atomic(path: str | Path, text: str, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically; return the path."""
    with atomic_path(path, force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def is_within(child: str | Path, parent: str | Path) -> bool:
    """True when ``child`` resolves to a path inside ``parent`` (symlinks resolved)."""
    try:
        Path(child).resolve().relative_to(Path(parent).resolve())
    except ValueError:
        return False
    return True
