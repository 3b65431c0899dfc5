"""Private extractions of bundle zips in the temp folder, and the ones a killed process left.

Why: a zip bundle is opened by extracting it to a private folder that is removed
when the bundle is closed or the process exits. A process that is killed
(``kill -9``, the kernel's out-of-memory killer, a watchdog) runs no cleanup, so
its extraction stays: a server restarted in a loop by systemd after each OOM kill
left one copy of the model per restart, and on a Raspberry Pi the temp folder is
often RAM. So each extraction's name carries this host and the process that owns
it, and the next extraction removes those whose process is gone.

Only folders whose name says they belong to this host, whose process no longer
runs and which the current user owns are removed; on a system without POSIX
process checks nothing is.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
from pathlib import Path

PREFIX = "edgekit-bundle-"


def host_tag() -> str:
    """Six hex characters naming this host (a container with its own process ids has another name)."""
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def new_extraction() -> Path:
    """A new private folder for one zip's files, named ``edgekit-bundle-HOST-PID-XXXX``; the
    extractions of processes that died without cleaning up are removed first."""
    sweep_stale()
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{host_tag()}-{os.getpid()}-"))


def owner_pid(folder: Path, tag: str | None = None) -> int | None:
    """The process id in an extraction's name when it was made on this host; else ``None``."""
    head = f"{PREFIX}{tag or host_tag()}-"
    if not folder.name.startswith(head):
        return None
    pid = folder.name[len(head):].split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def alive(pid: int) -> bool:
    """Whether a process ``pid`` runs (someone else's counts as running; a zombie, killed and not
    yet reaped by its parent, does not: it answers ``kill(pid, 0)`` but will never clean up)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's, or cannot tell: keep its folder
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc (macOS): it runs
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def sweep_stale(temp: str | Path | None = None) -> list[Path]:
    """Remove the extractions in ``temp`` (the temp folder) left by this host's processes that no
    longer run; returns what was removed. Never raises: a folder that cannot be removed stays."""
    if os.name != "posix":  # os.kill(pid, 0) is not a check there
        return []
    import shutil

    root, tag, me = Path(temp or tempfile.gettempdir()), host_tag(), os.getpid()
    removed = []
    try:
        found = list(root.glob(f"{PREFIX}{tag}-*"))
    except OSError:
        return []
    for folder in found:
        pid = owner_pid(folder, tag)
        try:
            mine = folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid == os.getuid()
        except OSError:
            continue
        if pid is None or pid == me or not mine or alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed
