"""Run a Qt-free function in a short-lived child process and get its result back (pickled).

Why: importing torch, OpenVINO or OpenCV loads shared libraries while holding Python's GIL
(``dlopen`` inside ``import``), so a worker *thread* doing it froze the window for 0.6-1.4 s
on the first opening of the Benchmark and Live demo pages (and at start-up for the Hardware
page). In a child process the same imports cost the window nothing. The child is the app's:
its own process group, killed when the call is cancelled or fails, and it exits when its
stdin closes (the app died).

The child runs ``python -m edgekit_gui.child_call`` and must never import Qt.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import signal
import subprocess
import sys
import threading
from typing import Any

from edgekit.errors import EdgekitError
from edgekit.progress import check_cancel

POLL_S = 0.1


def call_in_child(target: str, *args: Any, cancel: Any = None, **kwargs: Any) -> Any:
    """``module:function(*args, **kwargs)`` run in a child; returns its result or raises its error.

    ``cancel`` (a job's :class:`~edgekit.progress.CancelToken`) is checked every :data:`POLL_S`:
    a cancel ends the child at once and raises ``Cancelled``.
    """
    child = subprocess.Popen([sys.executable, "-m", "edgekit_gui.child_call"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    chunks: list[bytes] = []
    # the answer is length-prefixed: a grandchild the runtimes started may keep stdout open past the answer
    reader = threading.Thread(target=lambda: chunks.append(_read_answer(child.stdout)), daemon=True)
    try:
        payload = pickle.dumps((target, args, kwargs))
        child.stdin.write(len(payload).to_bytes(8, "big") + payload)  # length first: the pipe stays open
        child.stdin.flush()  # stdin stays open: the child exits when it closes (see _exit_with_parent)
        reader.start()
        while reader.is_alive():
            check_cancel(cancel, f"{target} cancelled")
            reader.join(POLL_S)
    finally:
        _stop(child)
        _close_stdout(child, reader)
    out = b"".join(chunks)
    try:
        kind, value = pickle.loads(out)
    except Exception as exc:  # a crash in the child (e.g. a runtime aborting): no answer
        raise EdgekitError(f"{target} failed in its helper process (exit code {child.returncode})") from exc
    if kind == "error":
        raise value
    return value


def _read_answer(stream: Any) -> bytes:
    head = stream.read(8)
    return stream.read(int.from_bytes(head, "big")) if len(head) == 8 else b""


def _stop(child: subprocess.Popen) -> None:
    """End the child's process group (the child itself normally exits once it answered)."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=2 * POLL_S)
    # the whole group, always: a process the runtimes forked may outlive the child that answered
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        child.stdin.close()
    child.wait(timeout=5)


def _close_stdout(child: subprocess.Popen, reader: threading.Thread) -> None:
    """Close our end of the child's stdout once nothing reads it (an unclosed pipe is a
    ResourceWarning per call); with the group killed the reader ends at once, and a reader still
    blocked by a grandchild that escaped the group keeps the pipe rather than block us on close."""
    if reader.ident is not None:
        reader.join(1.0)
    if not reader.is_alive():
        with contextlib.suppress(OSError, ValueError):
            child.stdout.close()


def _serve() -> None:
    """Child side: read the call from stdin, write ``("ok", result)`` or ``("error", exc)``."""
    size = int.from_bytes(_read_exactly(8), "big")
    target, args, kwargs = pickle.loads(_read_exactly(size))  # pickle.load(stdin) may read past the call and block
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    module, name = target.split(":")
    try:
        data = pickle.dumps(("ok", getattr(importlib.import_module(module), name)(*args, **kwargs)))
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the app
        try:
            data = pickle.dumps(("error", exc))
        except Exception:  # noqa: BLE001 - an error that does not pickle: its words
            data = pickle.dumps(("error", EdgekitError(f"{type(exc).__name__}: {exc}")))
    sys.stdout.buffer.write(len(data).to_bytes(8, "big") + data)
    sys.stdout.flush()
    os._exit(0)  # no interpreter shutdown (runtimes' atexit hooks can hang)


def _read_exactly(n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = os.read(sys.stdin.fileno(), n - len(data))
        if not chunk:
            os._exit(1)  # the app went away before it finished asking
        data += chunk
    return data


def _exit_with_parent() -> None:
    """Stdin reaches its end when the app closed it or died: then this child has no one to answer."""
    sys.stdin.buffer.read()
    os._exit(1)


if __name__ == "__main__":
    _serve()
