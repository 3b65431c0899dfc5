"""Measure candidates: accuracy on the validation data, latency with the shared benchmark.

Latency: every candidate is a different model, so the candidates are run
*interleaved* through :func:`edgekit.evaluation.benchmark.bench_items`' warm-up and
timing loop (A B C A B C ...): drift on a shared, noisy machine hits all alike.
"""

from __future__ import annotations

from typing import Any

from edgekit.backends.registry import backends_for, get_backend
from edgekit.errors import Cancelled, DataError, EdgekitError
from edgekit.evaluation.batched import TooSlow, evaluate_prepared
from edgekit.evaluation.benchmark import BenchSettings, bench_items
from edgekit.models.model import Model
from edgekit.planner.datacache import shared_cache
from edgekit.progress import Cancel, Progress

RATIO_SECONDS = 1.0  # an INT8 candidate timed against its FP32 here, for an absent target's estimate
RACE_AFTER = 0.25  # share of --seconds after which a candidate clearly slower than the fastest stops


def bench_interleaved(
    items: list[tuple[Model, str, str, str]],
    seconds: float,
    cancel: Cancel = None,
    progress: Progress | None = None,
    warmup: float | None = None,
) -> list[Any]:
    """``BenchResult`` for each ``(model, backend, device, precision)``, measured interleaved
    (A B C A B C ...) by the same procedure as ``edgekit bench``, as a race: a candidate whose
    interval lies wholly above the fastest's stops after ``RACE_AFTER`` of its time (see
    ``BenchSettings.race_after``); ``warmup``: most seconds of
    warm-up each (``None``: as long as the timed budget, at most 2 s)."""
    warm = min(2.0, seconds) if warmup is None else warmup
    settings = BenchSettings(mode="latency", seconds=seconds, warmup_seconds=warm, race_after=RACE_AFTER)
    return bench_items(items, settings, progress=progress, cancel=cancel)


def accuracy(model: Model, dataset: Any, backend: str, device: str, precision: str,
             progress: Progress | None = None, max_seconds_per_image: float | None = None,
             timing: dict | None = None) -> Any:
    """``EvalResult`` of ``model`` on ``dataset``.

    The images are decoded and preprocessed once per (dataset, preprocessing)
    (:mod:`edgekit.planner.datacache`) and every candidate reads the same
    array, in batches where its batch dimension is dynamic. ``progress`` gets
    "preparing" events while the images are prepared (first call only), then "accuracy" events.

    A device that is not here (a GPU/NPU of another target) is stood in for by
    this CPU running the same file; FP16 execution becomes FP32 there (the
    weights stay FP16), so the accuracy is that of the file, not of the device.

    ``max_seconds_per_image`` / ``timing``: see :func:`edgekit.evaluation.batched.evaluate_prepared`
    (raises its ``TooSlow``).
    """
    if device != "cpu":
        device, precision = "cpu", ("fp32" if precision in ("fp16", "bf16") else precision)
    if model.preprocess is None:
        raise DataError(f"model {model.name} has no preprocessing; load it with preprocess=... (size, mean, std)")
    data = shared_cache().get(dataset, model.preprocess, progress=progress)  # once for all candidates
    try:
        return evaluate_prepared(model, data, backend, device=device, precision=precision, progress=progress,
                                 max_seconds_per_image=max_seconds_per_image, timing=timing)
    except (Cancelled, TooSlow):
        raise
    except EdgekitError:
        stand_in = _stand_in(backend, model)
        if stand_in is None or get_backend(backend).available()[0]:
            raise  # a backend that is here and fails on this model is a failed candidate, never stood in for
        return evaluate_prepared(model, data, stand_in, device="cpu", precision=precision, progress=progress)


def _stand_in(backend: str, model: Model) -> str | None:
    """The backend measuring a file's accuracy when ``backend`` cannot run it here: the registry's
    reference for the file's format (the accuracy is the file's); ``None`` when that is ``backend``."""
    found = backends_for(model.format, "fp32", device="cpu", needs_module=False)
    return found[0] if found and found[0] != get_backend(backend).name else None
