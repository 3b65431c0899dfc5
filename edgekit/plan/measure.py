"""Measure candidates: accuracy on the validation data, latency with the shared benchmark.

Latency: every candidate is a different model, so the candidates are run
*interleaved* through :mod:`edgekit.evaluate.bench`'s own warm-up and timing
loop (A B C A B C ...): drift on a shared, noisy machine hits all alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgekit.errors import EdgekitError
from edgekit.models.model import Model


def bench_interleaved(
    items: list[tuple[Model, str, str, str]],
    seconds: float,
    cancel: Any = None,
    progress: Callable[[float, str], None] | None = None,
) -> list[Any]:
    """``BenchResult`` for each ``(model, backend, device, precision)``, measured interleaved.

    Combinations that ended with no timed run (a hiccup on a busy machine ate
    the whole budget) are measured once more, with twice the time.
    """
    results = _bench_once(items, seconds, cancel, progress)
    again = [i for i, r in enumerate(results) if r.ok and r.latency_ms.get("p50") is None]
    if again:
        for i, r in zip(again, _bench_once([items[i] for i in again], 2 * seconds, cancel, progress)):
            results[i] = r
    return results


def _bench_once(items, seconds, cancel, progress) -> list[Any]:
    import importlib

    B = importlib.import_module("edgekit.evaluate.bench")

    settings = B.BenchSettings(mode="latency", seconds=seconds, warmup_seconds=min(2.0, seconds))
    report = progress or (lambda f, m: None)
    runs = [B._Run(B.BenchResult(m.name, b, d, p, mode="latency", settings=settings)) for m, b, d, p in items]
    try:
        for run, (model, *_rest) in zip(runs, items):
            B._check(cancel)
            B._prepare(run, model, settings, None)
        B._warm_up(runs, settings, cancel, report)
        B._measure(runs, settings, cancel, report)
    finally:
        for run in runs:
            if run.session is not None:
                run.session.close()
    return [B._finish(run, model, settings, None) for run, (model, *_r) in zip(runs, items)]


def accuracy(model: Model, dataset: Any, backend: str, device: str, precision: str) -> Any:
    """``EvalResult`` of ``model`` on ``dataset``.

    A device that is not here (a GPU/NPU of another target) is stood in for by
    this CPU running the same file; FP16 execution becomes FP32 there (the
    weights stay FP16), so the accuracy is that of the file, not of the device.
    """
    from edgekit.evaluate import evaluate

    if device != "cpu":
        device, precision = "cpu", ("fp32" if precision in ("fp16", "bf16") else precision)
    try:
        return evaluate(model, dataset, backend, device=device, precision=precision)
    except EdgekitError:
        if backend != "openvino" or model.format.value != "onnx":
            raise
        return evaluate(model, dataset, "onnxruntime", device="cpu", precision=precision)
