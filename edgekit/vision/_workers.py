"""One run on every core, or one run per core side by side? Measured per live session.

A live pipeline only needs frames per second; how quickly one frame comes back matters
less, within reason. A small model run by every core at once spends much of each run in
the runtime's threads handing work to each other and waiting (spinning) for the slowest:
measured on a 2-core EPYC VM with onnxruntime, MobileNetV2-0.5 at 224x224 ran 370 frames/s
as one 2-thread session and 561 frames/s as two 1-thread runs side by side (3.5 ms of CPU
per frame instead of 5.2), and the pipeline's own capture and drawing then slow one run
down instead of stalling every operator of both threads. A large model gains less, and
each frame waits longer (a 1-thread run takes up to ``cores`` times as long), so:

- the side-by-side form is measured only when one run on one thread stays within
  :data:`LATENCY_BUDGET_MS` (a frame shown that much later is not noticed), and
- it is kept only when it is faster by :data:`MARGIN` or more, in interleaved rounds
  (median of the per-round ratios), on the same seeded input; otherwise the all-cores
  session stays. Which wins depends on the CPU, the model and the neighbours' load, so it
  is measured here, never assumed; the session's notes say what was measured.
- a source that delivers frames on its own clock (a camera, a paced file) at ``rate``
  frames/s needs no more than that: when both forms do :data:`HEADROOM` times the rate,
  frames per second no longer decide, how soon each frame comes back does. Both are then
  timed one call at a time, ``1/rate`` apart as the frames will come (interleaved, median
  of :data:`PACED_CALLS`), and the quicker kept (one run on every core on a tie). Why
  measured and not assumed: at a camera's pace the runtime's threads sleep between frames,
  so a run on every core first wakes them; for ShuffleNet-v2 INT8 on a 2-core EPYC one
  thread answered sooner than two, while a larger model gains from every core.

Only backends whose one session may be called from several threads at once
(``BackendCapabilities.concurrent_predict``: onnxruntime) are considered.
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

LATENCY_BUDGET_MS = 50.0  # one frame on one thread may take this long, or side by side is not tried
MARGIN = 1.1  # side by side must be this much faster (it costs each frame latency)
ROUNDS = 3  # interleaved rounds per form
ROUND_S = 0.15  # seconds per form per round (at least two runs per worker)
PREFIX = "live workers:"  # starts the note that says what was measured
HEADROOM = 1.5  # a form this many times a paced source's rate keeps up with it (see choose)
PACED_CALLS = 7  # calls per form, at the source's pace, to compare how soon a frame comes back
MAX_GAP_S = 0.05  # the pause between paced calls is 1/rate, at most this
TIE = 1.05  # one-thread runs must answer this much sooner to replace the run on every core


def choose(session: Any, make_single: Callable[[], Any], rate: float | None = None) -> Any:
    """``session`` (running on ``info.threads`` threads) or a 1-thread session from ``make_single``
    serving that many calls at once (``info.workers``), whichever delivers more frames per second
    here; the other is closed. Anything failing while measuring keeps ``session`` as it was.

    ``rate``: frames per second the source delivers on its own clock (``None``: as fast as they
    are used); when both forms keep up with it, the one answering a frame sooner at that pace
    is kept instead (see the module docstring)."""
    from edgekit.errors import EdgekitError
    from edgekit.vision._auto_backend import median_ms, probe_feed

    cores = int(session.info.threads or 1)
    if cores < 2:
        return session
    try:
        feed = probe_feed(session.model)
        session.run(feed)  # warm-up
        all_ms = median_ms(session, feed)
    except (EdgekitError, RuntimeError, ValueError, OSError):
        return session  # the pipeline reports a session that cannot run, as it would have
    too_slow = (f"{PREFIX} one {cores}-thread run ({{}} ms per frame {{}}; one thread would take over the "
                f"{LATENCY_BUDGET_MS:.0f} ms a frame may wait: not measured side by side)")
    if all_ms > LATENCY_BUDGET_MS:  # one thread is slower still: not worth compiling it
        return _noted(session, too_slow.format(f"{all_ms:.0f}", "on every core"))
    try:
        single = make_single()
    except (EdgekitError, RuntimeError, ValueError, OSError):
        return session
    try:
        single.run(feed)  # warm-up
        one_ms = median_ms(single, feed)
        if one_ms > LATENCY_BUDGET_MS:
            single.close()
            return _noted(session, too_slow.format(f"{one_ms:.0f}", "on one thread"))
        if rate and min(1e3 / all_ms, cores * 1e3 / one_ms) >= HEADROOM * rate:
            return _paced(session, single, feed, rate, cores)
        ratios, rates = [], {"all": [], "side": []}
        for _ in range(ROUNDS):
            together = _rate(session, feed, 1)
            side = _rate(single, feed, cores)
            rates["all"].append(together)
            rates["side"].append(side)
            ratios.append(side / together if together else 0.0)
    except (EdgekitError, RuntimeError, ValueError, OSError):
        single.close()
        return session
    # the rates shown are the median round's, so they agree with the ratio (medians taken apart did
    # not: "1886 frames/s, beat one 2-thread run, 1941 frames/s (x1.59)" on a busy machine)
    middle = sorted(range(ROUNDS), key=ratios.__getitem__)[ROUNDS // 2]
    ratio, side_fps, all_fps = ratios[middle], rates["side"][middle], rates["all"][middle]
    rounds = f"x{ratio:.2f}, median of {ROUNDS} interleaved rounds"
    return _keep(session, single, cores, ratio >= MARGIN,
                 f"{PREFIX} {cores} one-thread runs side by side, {side_fps:.0f} frames/s, beat one {cores}-thread "
                 f"run, {all_fps:.0f} frames/s ({rounds}); {one_ms:.1f} ms per frame",
                 f"{PREFIX} one {cores}-thread run, {all_fps:.0f} frames/s; {cores} one-thread runs side by side "
                 f"made {side_fps:.0f} ({rounds}; x{MARGIN:.2f} needed to use them)")


def _paced(session: Any, single: Any, feed: dict, rate: float, cores: int) -> Any:
    """Of two forms that both keep up with a source sending ``rate`` frames/s, the one whose call
    returns sooner when called at that pace; the other is closed."""
    gap = min(1.0 / rate, MAX_GAP_S)
    times: dict[str, list[float]] = {"all": [], "one": []}
    for _ in range(PACED_CALLS):
        for key, which in (("all", session), ("one", single)):
            time.sleep(gap)  # the runtime's threads settle as they would between frames
            t0 = time.perf_counter()
            which.run(feed)
            times[key].append((time.perf_counter() - t0) * 1e3)
    all_ms, one_ms = statistics.median(times["all"]), statistics.median(times["one"])
    how = f"median of {PACED_CALLS} calls {gap * 1e3:.0f} ms apart, as the source's {rate:.3g} frames/s come"
    return _keep(session, single, cores, one_ms * TIE < all_ms,
                 f"{PREFIX} one-thread runs ({cores} side by side): a frame back in {one_ms:.2f} ms, sooner than "
                 f"one {cores}-thread run, {all_ms:.2f} ms ({how})",
                 f"{PREFIX} one {cores}-thread run: a frame back in {all_ms:.2f} ms; a one-thread run took "
                 f"{one_ms:.2f} ms ({how}; x{TIE:g} sooner needed to switch)")


def _keep(session: Any, single: Any, cores: int, use_single: bool, single_note: str, session_note: str) -> Any:
    """The form measured better, with the note that says so; the other is closed."""
    if use_single:
        return _use_single(session, single, cores, single_note)
    single.close()
    return _noted(session, session_note)


def _use_single(session: Any, single: Any, cores: int, note: str) -> Any:
    """``single`` serving ``cores`` calls at once, with ``session``'s notes (e.g. auto's race) and
    ``note``; ``session`` is closed."""
    session.close()
    carried = tuple(n for n in session.info.notes if n not in single.info.notes)
    single.info = dataclasses.replace(single.info, workers=cores, notes=(*single.info.notes, *carried))
    return _noted(single, note)


def _noted(session: Any, note: str) -> Any:
    session.info = dataclasses.replace(session.info, notes=(*session.info.notes, note))
    return session


def _rate(session: Any, feed: dict, callers: int) -> float:
    """Runs per second of ``callers`` threads each calling ``session.run`` for about ``ROUND_S``."""
    counts = [0] * callers
    start = threading.Barrier(callers + 1)
    errors: list[BaseException] = []

    def call(i: int) -> None:
        start.wait()
        t0 = time.perf_counter()
        try:
            while counts[i] < 2 or time.perf_counter() - t0 < ROUND_S:
                session.run(feed)
                counts[i] += 1
        except BaseException as exc:  # noqa: BLE001 - re-raised on the measuring thread
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(callers)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return sum(counts) / wall
