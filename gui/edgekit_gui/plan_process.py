"""Running the planner in a child process, so its CPU-heavy Python never holds the GUI's GIL.

Why a process: the planner builds, quantizes and measures models for tens of
seconds, much of it in Python or in C code that keeps the GIL; in a thread
that freezes the window for up to a second at a time. In a child process
the GUI stays smooth and the planner's timings are not disturbed by painting.

Protocol (JSON lines): the parent writes one request line on stdin and may
later write ``cancel``; the child answers ``{"progress": [fraction, message]}``
lines, then one ``{"result": report_dict}`` or ``{"error": {...}}`` line.
Library chatter on stdout goes to stderr, so only protocol lines reach the parent.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections import deque
from typing import Any

MARK = "@@edgekit "
# The child yields the CPU to the window when both want it. On an otherwise idle machine (how
# plans should be measured) this changes nothing; on a busy one the window keeps repainting.
CHILD_NICE = 5


def _child() -> int:
    """Child side: read the request, run ``plan``, stream progress, send the result or error."""
    if hasattr(os, "nice"):
        os.nice(CHILD_NICE)
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # C-level and Python prints go to stderr from here on
    sys.stdout = sys.stderr
    request = json.loads(sys.stdin.readline())
    cancel = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), cancel.set()), daemon=True).start()

    def send(obj: dict) -> None:
        proto.write(MARK + json.dumps(obj, default=str) + "\n")

    from edgekit.errors import EdgekitError
    from edgekit.models import Model
    from edgekit.planner import plan

    model = Model.from_dict(request["model"]) if isinstance(request["model"], dict) else request["model"]
    try:
        report = plan(model, target=request["target"], progress=lambda f, m: send({"progress": [f, m]}),
                      cancel=cancel.is_set, **request["kwargs"])
    except EdgekitError as exc:
        closest = [c.to_dict() for c in getattr(exc, "closest", [])]
        send({"error": {"type": type(exc).__name__, "message": str(exc), "closest": closest}})
        return 1
    send({"result": report.to_dict()})
    return 0


def _error(data: dict) -> BaseException:
    """Rebuild the child's EdgekitError (with a BudgetNotMet's closest candidates)."""
    from edgekit import errors
    from edgekit.planner import Candidate

    kind = getattr(errors, data.get("type", ""), None)
    if not (isinstance(kind, type) and issubclass(kind, errors.EdgekitError)):
        kind = errors.EdgekitError
    if kind is errors.BudgetNotMet:
        return kind(data["message"], closest=[Candidate.from_dict(c) for c in data.get("closest", [])])
    return kind(data["message"])


def run_plan_process(model: Any, target: str, kwargs: dict, progress: Any, cancel: threading.Event) -> Any:
    """Parent side (on a worker thread): run the child, relay progress, honour cancel; returns a Report.

    Raises:
        Cancelled: the user cancelled (the child is stopped, killed after 1.5 s).
        EdgekitError: the planner's own error, rebuilt with its type and sentence.
    """
    from edgekit.errors import Cancelled, EdgekitError
    from edgekit.planner import Report

    request = {"model": model.to_dict() if model.path is not None else str(model.name), "target": target,
               "kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}}
    child = subprocess.Popen([sys.executable, "-m", "edgekit_gui.plan_process"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    lines: queue.Queue = queue.Queue()
    tail: deque[str] = deque(maxlen=20)  # the child's last stderr lines, for an unexpected exit
    threading.Thread(target=_pump, args=(child.stdout, lines.put), daemon=True).start()
    threading.Thread(target=_pump, args=(child.stderr, tail.append), daemon=True).start()
    child.stdin.write(json.dumps(request) + "\n")
    child.stdin.flush()
    try:
        while True:
            if cancel.is_set():
                raise Cancelled("planning cancelled by the user")
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                raise EdgekitError("the planner process ended unexpectedly: " + "".join(x for x in list(tail)[-4:] if x).strip())
            if not line.startswith(MARK):
                continue
            msg = json.loads(line[len(MARK):])
            if "progress" in msg:
                progress(tuple(msg["progress"]))
            elif "result" in msg:
                return Report.from_dict(msg["result"])
            elif "error" in msg:
                raise _error(msg["error"])
    finally:
        _stop(child)


def _pump(stream: Any, put: Any) -> None:
    """Copy lines from a pipe; ``None`` marks its end."""
    for line in stream:
        put(line)
    put(None)


def _stop(child: subprocess.Popen) -> None:
    """Ask the child to stop, then kill it if it has not within 1.5 s."""
    if child.poll() is None:
        try:
            child.stdin.write("cancel\n")
            child.stdin.flush()
        except OSError:
            pass
        try:
            child.wait(1.5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(1.0)


if __name__ == "__main__":
    sys.exit(_child())
