"""Run a plan in a child process that streams progress over a pipe, can be cancelled, and never outlives its parent.

Why a process: the planner builds, quantizes and measures models for minutes,
much of it in Python or in C code that holds the GIL; in a thread of an
interactive program (the desktop app, a notebook) that freezes it. In a child
the caller stays responsive and the planner's timings are not disturbed.

Who owns the child: it is started in its own process group (its own session
on POSIX), so stopping it also stops anything it started. When the run ends,
is cancelled, fails, or the parent exits normally, the group is sent SIGTERM
and, after ``grace_s``, SIGKILL. If the parent dies without cleaning up
(crash, ``kill -9``), the child notices -- its stdin pipe reaches end of file
and its parent id changes -- and kills its own group: no orphans.

Protocol (JSON lines): the parent writes one request line on the child's stdin
and may later write ``cancel``; the child answers ``{"event": ProgressEvent}``
lines, then one ``{"result": report_dict}``, ``{"cancelled": true}`` or
``{"error": {...}}`` line. Library chatter goes to stderr, so only protocol
lines reach the parent's pipe.

Example:
    >>> from edgekit.planner import PlanConfig
    >>> from edgekit.planner.process import run_plan_process
    >>> report = run_plan_process(PlanConfig(model="demo:digits-mnv2"), progress=print)  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from typing import Any

from edgekit.errors import Cancelled, EdgekitError, require_argument
from edgekit.planner.config import PlanConfig
from edgekit.progress import Cancel, Progress, ProgressEvent, check_cancel

MARK = "@@edgekit "
GRACE_S = 2.0
# The child yields the CPU to an interactive parent when both want it. On an idle machine (how
# plans should be measured) this changes nothing; on a busy one the parent's window keeps repainting.
CHILD_NICE = 5
_POLL_S = 0.1

_live: set[subprocess.Popen] = set()  # children not yet stopped, for the exit hook
_live_lock = threading.Lock()


def run_plan_process(
    config: PlanConfig,
    *,
    model: Any = None,
    progress: Progress | None = None,
    cancel: Cancel = None,
    grace_s: float = GRACE_S,
    nice: int = 0,
) -> Any:
    """Run ``config`` in a child process; relay its progress events; honour ``cancel``; return its Report.

    Args:
        config: what to plan (``config.model`` names the model unless ``model`` is given).
        model: a ``Model`` on disk to plan instead of ``config.model`` (keeps edited
            preprocessing and labels); in-memory PyTorch modules cannot cross a process.
        progress: receives the child's :class:`~edgekit.progress.ProgressEvent` s; may raise ``Cancelled``.
        cancel: a ``CancelToken``, ``threading.Event`` or callable, polled every 0.1 s.
        grace_s: seconds between SIGTERM and SIGKILL when the child has to be stopped.
        nice: niceness added to the child (the desktop app uses :data:`CHILD_NICE`).

    Returns:
        The :class:`~edgekit.planner.report.Report` (``report.config`` is ``config``).

    Raises:
        Cancelled: ``cancel`` fired or ``progress`` raised it (the child is stopped).
        EdgekitError: the planner's own error, rebuilt with its type and sentence
            (a ``BudgetNotMet`` keeps its closest candidates).
    """
    require_argument(config, "run_plan_process", "a PlanConfig")
    request = {"config": config.to_dict(), "parent": os.getpid(), "nice": nice,
               "model": None if model is None else _model_dict(model)}
    child = _spawn()
    lines: queue.Queue = queue.Queue()
    tail: deque[str] = deque(maxlen=20)  # the child's last stderr lines, for an unexpected exit
    threading.Thread(target=_pump, args=(child.stdout, lines.put), daemon=True).start()
    threading.Thread(target=_pump, args=(child.stderr, tail.append), daemon=True).start()
    try:
        child.stdin.write(json.dumps(request) + "\n")
        child.stdin.flush()
        return _relay(lines, tail, progress, cancel)
    finally:
        stop_child(child, grace_s)


def _model_dict(model: Any) -> dict:
    if getattr(model, "path", None) is None:
        raise EdgekitError(f"{model.name} lives only in memory; save it (edgekit convert) or plan it in this process "
                           "with edgekit.plan()")
    return model.to_dict()


def _spawn() -> subprocess.Popen:
    """Start the child in its own process group (a new session on POSIX)."""
    extra: dict[str, Any] = {"start_new_session": True} if os.name == "posix" else {
        "creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    child = subprocess.Popen([sys.executable, "-m", "edgekit.planner.process"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1, **extra)
    with _live_lock:
        _live.add(child)
    return child


def _relay(lines: queue.Queue, tail: deque, progress: Progress | None, cancel: Cancel) -> Any:
    from edgekit.planner.report import Report

    while True:
        check_cancel(cancel, "planning cancelled by the user")
        try:
            line = lines.get(timeout=_POLL_S)
        except queue.Empty:
            continue
        if line is None:
            said = "".join(x for x in list(tail)[-4:] if x).strip()
            raise EdgekitError(f"the planner process ended unexpectedly: {said or 'no message'}")
        if not line.startswith(MARK):
            continue
        msg = json.loads(line[len(MARK):])
        if "event" in msg:
            if progress is not None:
                progress(ProgressEvent.from_dict(msg["event"]))
        elif "result" in msg:
            return Report.from_dict(msg["result"])
        elif "cancelled" in msg:
            raise Cancelled("planning cancelled by the user")
        elif "error" in msg:
            raise _error(msg["error"])


def _pump(stream: Any, put: Any) -> None:
    """Copy lines from a pipe; ``None`` marks its end."""
    try:
        for line in stream:
            put(line)
    except (OSError, ValueError):  # the pipe was closed under us while stopping
        pass
    put(None)


def stop_child(child: subprocess.Popen, grace_s: float = GRACE_S) -> None:
    """Stop ``child`` and its process group: ``cancel`` on stdin, SIGTERM, then SIGKILL after ``grace_s``."""
    try:
        if child.poll() is None:
            _ask_cancel(child)
            _wait(child, min(0.5, grace_s))
        _signal_group(child, signal.SIGTERM)
        if not _wait(child, grace_s):
            _signal_group(child, getattr(signal, "SIGKILL", signal.SIGTERM))
            _wait(child, 1.0)
    finally:
        for pipe in (child.stdin, child.stdout, child.stderr):
            try:
                pipe.close()
            except (OSError, ValueError):
                pass
        with _live_lock:
            _live.discard(child)


def stop_all(grace_s: float = GRACE_S) -> int:
    """Stop every plan child this process started and has not stopped yet; returns how many.

    Called at interpreter exit; the desktop app also calls it when its window closes.
    """
    with _live_lock:
        children = list(_live)
    for child in children:
        stop_child(child, grace_s)
    return len(children)


atexit.register(stop_all, 0.5)


def _ask_cancel(child: subprocess.Popen) -> None:
    try:
        child.stdin.write("cancel\n")
        child.stdin.flush()
    except (OSError, ValueError):
        pass


def _wait(child: subprocess.Popen, seconds: float) -> bool:
    try:
        child.wait(seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _signal_group(child: subprocess.Popen, sig: int) -> None:
    """Signal the child's whole group (it leads it); the child alone where groups do not exist."""
    try:
        if os.name == "posix":
            os.killpg(child.pid, sig)
        elif child.poll() is None:
            child.kill() if sig != signal.SIGTERM else child.terminate()
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _error(data: dict) -> BaseException:
    """Rebuild the child's EdgekitError (with a BudgetNotMet's closest candidates)."""
    from edgekit import errors
    from edgekit.planner.report import Candidate

    kind = getattr(errors, data.get("type", ""), None)
    if not (isinstance(kind, type) and issubclass(kind, errors.EdgekitError)):
        kind = errors.EdgekitError
    if kind is errors.BudgetNotMet:
        return kind(data["message"], closest=[Candidate.from_dict(c) for c in data.get("closest", [])])
    return kind(data["message"])


# ---- child side ---------------------------------------------------------------------------------
def _child() -> int:
    """Read the request, run the plan, stream events, send the result or error; exit without cleanup."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # C-level and Python prints go to stderr from here on
    sys.stdout = sys.stderr
    request = json.loads(sys.stdin.readline() or "null")
    if not request:
        return 1
    if request.get("nice") and hasattr(os, "nice"):
        os.nice(int(request["nice"]))
    cancel = threading.Event()
    threading.Thread(target=_watch_stdin, args=(cancel,), daemon=True).start()
    threading.Thread(target=_watch_parent, args=(int(request["parent"]),), daemon=True).start()
    lock = threading.Lock()

    def send(obj: dict) -> None:
        with lock:
            proto.write(MARK + json.dumps(obj, default=str) + "\n")

    code = _plan_and_answer(request, send, cancel)
    proto.flush()
    return code


def _plan_and_answer(request: dict, send: Any, cancel: threading.Event) -> int:
    from edgekit.planner.planner import run_plan

    try:
        config = PlanConfig.from_dict(request["config"])
        model = None
        if request.get("model"):
            from edgekit.models import Model

            model = Model.from_dict(request["model"])
        report = run_plan(config, model=model, progress=lambda e: send({"event": e.to_dict()}), cancel=cancel)
    except Cancelled:
        send({"cancelled": True})
        return 2
    except EdgekitError as exc:
        closest = [c.to_dict() for c in getattr(exc, "closest", [])]
        send({"error": {"type": type(exc).__name__, "message": str(exc), "closest": closest}})
        return 1
    send({"result": report.to_dict()})
    return 0


def _watch_stdin(cancel: threading.Event) -> None:
    """``cancel`` asks for a clean stop; end of file means the parent is gone: stop the whole group now."""
    while True:
        line = sys.stdin.readline()
        if not line:
            _die()
        if line.strip() == "cancel":
            cancel.set()


def _watch_parent(parent: int) -> None:
    """Exit when the parent dies, even if the stdin pipe is still held open by someone else."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            _die()


def _die() -> None:
    """Kill this child's process group (itself and anything it started), at once."""
    if os.name == "posix":
        try:
            os.killpg(os.getpgid(0), signal.SIGKILL)
        except OSError:
            pass
    os._exit(3)


if __name__ == "__main__":
    code = _child()
    sys.stderr.flush()
    os._exit(code)  # no interpreter shutdown: runtime thread pools must not keep a finished child alive
