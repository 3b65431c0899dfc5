"""``backend="auto"`` for a live run: the first backend that loads the model, unless its graph is
one that backends run very differently -- then the others are measured and the fastest is kept.

Why: a dynamic-INT8 ONNX (``ConvInteger``/``MatMulInteger``: every activation quantized at run
time; e.g. the real-data ``yolov8n_int8_op11``, an Ultralytics export passed through onnxruntime's
``quantize_dynamic``) is run by onnxruntime with nothing fused, while OpenVINO fuses the same graph:
measured with ``edgekit bench`` on a 2-core Xeon (AMX), yolov8n_int8_op11 took 425 ms per frame on
onnxruntime and 137 ms on OpenVINO, so a demo on the first backend played at a third of the frame
rate it could. Which runtime wins depends on the CPU
and the graph, so it is measured here (a few runs each, seconds at most), never assumed, and the
choice is said in the session's notes with the numbers. Speed is not all: a runtime whose outputs
on the probe input stray from the first runtime's by more than the precision's conversion rule
allows (:data:`edgekit.models.check.RELATIVE_RULE`: 15 % of the output range for dynamic INT8;
measured for yolov8n_int8_op11, OpenVINO vs onnxruntime: 2.5 %) is left out, however fast.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

RACE_S = 2.0  # timed runs per backend stop after this long (at least one run is timed)
RACE_RUNS = 3  # ... or after this many, after one untimed warm-up run
PREFIX = "auto:"  # starts the note that says what was measured and chosen
RACED_PRECISIONS = ("int8-dynamic",)  # execution precisions whose speed differs widely between runtimes


def needs_race(session: Any) -> bool:
    """The session runs a graph whose speed differs widely between runtimes (read from its precision,
    which each backend derives from the graph)."""
    return str(session.info.precision) in RACED_PRECISIONS


def race(first: Any, others: list[str], compile_one: Callable[[str], Any]) -> Any:
    """The fastest of ``first`` and the sessions ``compile_one(name)`` makes for ``others``, by the
    median of a few timed runs on the same seeded input; the rest are closed. A backend that fails
    to compile or run, or whose outputs disagree with the first working one's (:func:`_strays`),
    is left out (its reason goes into the note). The chosen session's ``info.notes`` says what was
    measured."""
    from edgekit.errors import EdgekitError

    model = first.model
    feed = probe_feed(model)
    made: list[Any] = []  # every session opened here, to close all but the one kept
    timed: list[tuple[float, Any]] = []
    left_out: list[str] = []
    reference: tuple[str, list[np.ndarray]] | None = None  # the first working runtime's outputs
    for name, make in [(first.info.backend, lambda: first)] + [(n, lambda n=n: compile_one(n)) for n in others]:
        try:
            made.append(make())
            ms, outputs = _measure(made[-1], feed)
        except (EdgekitError, RuntimeError, ValueError, OSError) as exc:
            left_out.append(f"{name}: {str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__}")
            continue
        if reference is None:
            reference = (name, outputs)
        elif why := _strays(outputs, reference, str(made[-1].info.precision)):
            left_out.append(f"{name}: {why}")
            continue
        timed.append((ms, made[-1]))
    if not timed:  # even the first failed to run: let the pipeline report it as it would have
        for session in made[1:]:
            session.close()
        return first
    best = min(timed, key=lambda pair: pair[0])[1]
    for session in made:
        if session is not best:
            session.close()
    measured = ", ".join(f"{s.info.backend} {ms:.1f} ms" for ms, s in sorted(timed, key=lambda pair: pair[0]))
    note = (f"{PREFIX} this model is {best.info.precision} (quantized at run time), which runtimes run very "
            f"differently; measured per frame here: {measured}; running on {best.info.backend}")
    if left_out:
        note += f" (not measured: {'; '.join(left_out)})"
    best.info = dataclasses.replace(best.info, notes=(*best.info.notes, note))
    return best


def said(*sessions: Any) -> list[str]:
    """What ``auto`` measured to choose the runtime of these sessions (``None`` entries skipped):
    the notes a front end shows the user (the CLI's notice, the app's banner)."""
    return [note for s in sessions for note in getattr(getattr(s, "info", None), "notes", ())
            if note.startswith(PREFIX)]


def _strays(outputs: list[np.ndarray], reference: tuple[str, list[np.ndarray]], precision: str) -> str:
    """Why ``outputs`` do not compute what the reference runtime did on the same input ("" when they
    do): a different structure, or a largest difference over the precision's share of the range."""
    from edgekit.models.check import RELATIVE_RULE

    name, ref = reference
    if [o.shape for o in outputs] != [r.shape for r in ref]:
        return f"its outputs {[o.shape for o in outputs]} differ in shape from {name}'s {[r.shape for r in ref]}"
    limit = {str(p): rule[0] for p, rule in RELATIVE_RULE.items()}.get(precision, 0.15)
    scale = max((float(np.abs(r).max()) for r in ref if r.size), default=0.0) or 1.0
    worst = max((float(np.abs(o - r).max()) for o, r in zip(outputs, ref) if r.size), default=0.0)
    if worst / scale <= limit:
        return ""
    return (f"its outputs differ from {name}'s on the same input by {worst / scale:.0%} of their range "
            f"(allowed for {precision}: {limit:.0%}), so it was not raced")


def _measure(session: Any, feed: dict) -> tuple[float, list[np.ndarray]]:
    """``(median ms, outputs)``: the warm-up run's outputs (float64) are kept for the agreement check."""
    outputs = [np.asarray(v, dtype=np.float64) for v in session.run(feed).values()]  # warm-up too
    return median_ms(session, feed), outputs


def probe_feed(model: Any) -> dict:
    """The seeded input every runtime of a race is timed on (``{input name: array}``)."""
    from edgekit.models.check import sample_inputs

    return {spec.name: array for spec, array in zip(model.inputs, sample_inputs(model, samples=1)[0])}


def median_ms(session: Any, feed: dict) -> float:
    """Median milliseconds of ``RACE_RUNS`` runs of ``feed`` (fewer when they pass ``RACE_S``)."""
    times: list[float] = []
    deadline = time.perf_counter() + RACE_S
    while len(times) < RACE_RUNS and (not times or time.perf_counter() < deadline):
        t0 = time.perf_counter()
        session.run(feed)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)
