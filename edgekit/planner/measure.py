"""Measure candidates: accuracy on the validation data, latency with the shared benchmark.

Latency: every candidate is a different model, so the candidates are run
*interleaved* through :func:`edgekit.evaluation.benchmark.bench_items`' warm-up and
timing loop (A B C A B C ...): drift on a shared, noisy machine hits all alike.
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
    """``BenchResult`` for each ``(model, backend, device, precision)``, measured interleaved
    (A B C A B C ...) by the same procedure as ``edgekit bench``."""
    from edgekit.evaluation.benchmark import BenchSettings, bench_items

    settings = BenchSettings(mode="latency", seconds=seconds, warmup_seconds=min(2.0, seconds))
    return bench_items(items, settings, progress=progress, cancel=cancel)


def accuracy(model: Model, dataset: Any, backend: str, device: str, precision: str) -> Any:
    """``EvalResult`` of ``model`` on ``dataset``.

    A device that is not here (a GPU/NPU of another target) is stood in for by
    this CPU running the same file; FP16 execution becomes FP32 there (the
    weights stay FP16), so the accuracy is that of the file, not of the device.
    """
    from edgekit.evaluation import evaluate

    if device != "cpu":
        device, precision = "cpu", ("fp32" if precision in ("fp16", "bf16") else precision)
    try:
        return evaluate(model, dataset, backend, device=device, precision=precision)
    except EdgekitError:
        if backend != "openvino" or model.format.value != "onnx":
            raise
        return evaluate(model, dataset, "onnxruntime", device="cpu", precision=precision)
