"""Do all backends compute the same thing? Run the same inputs through each and compare.

The reference is PyTorch eager when the model carries its module (the
original), else onnxruntime on the ONNX file. A backend that cannot run here
is listed with its reason, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgekit.backends.registry import compile_session, list_backends
from edgekit.errors import EdgekitError, require_argument


@dataclass(frozen=True)
class BackendParity:
    """How one backend's outputs compare with the reference's.

    Attributes:
        backend / device / precision: what ran (precision as the session reports it).
        max_abs_diff: largest absolute difference over every output element.
        mean_abs_diff: mean absolute difference.
        max_ref_abs: largest absolute reference value (scale for the diffs).
        top1_agreement: share of samples whose arg-max of the first output matches
            (``None`` when the first output is not a class score vector).
        samples: samples compared.
    """

    backend: str
    device: str
    precision: str
    max_abs_diff: float
    mean_abs_diff: float
    max_ref_abs: float
    top1_agreement: float | None
    samples: int

    def within(self, atol: float, min_top1: float = 1.0) -> bool:
        """True when the max abs diff is at most ``atol`` and top-1 agreement at least ``min_top1``."""
        top1_ok = self.top1_agreement is None or self.top1_agreement >= min_top1
        return self.max_abs_diff <= atol and top1_ok


@dataclass(frozen=True)
class ParityReport:
    """Parity of every backend tried against one reference.

    Attributes:
        model: model name.
        reference: backend used as the reference.
        results: one entry per backend compared (the reference is not repeated).
        skipped: ``(backend, reason)`` for backends that could not run.
        samples: inputs compared.
    """

    model: str
    reference: str
    results: tuple[BackendParity, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    samples: int = 0
    notes: tuple[str, ...] = field(default=())

    def get(self, backend: str) -> BackendParity:
        """The result for ``backend``; ``KeyError`` when it was skipped or not asked."""
        for result in self.results:
            if result.backend == backend:
                return result
        raise KeyError(backend)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "model": self.model,
            "reference": self.reference,
            "results": [vars(r).copy() for r in self.results],
            "skipped": [list(s) for s in self.skipped],
            "samples": self.samples,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ParityReport:
        """Inverse of :meth:`to_dict`."""
        return cls(
            model=data["model"],
            reference=data["reference"],
            results=tuple(BackendParity(**r) for r in data["results"]),
            skipped=tuple(tuple(s) for s in data.get("skipped", ())),
            samples=data.get("samples", 0),
            notes=tuple(data.get("notes", ())),
        )


def check_parity(
    model: Any,
    backends: list[str] | None = None,
    inputs: list[Any] | None = None,
    samples: int = 8,
    reference: str | None = None,
    device: str = "cpu",
    seed: int = 0,
) -> ParityReport:
    """Run the same inputs through every backend and compare with a reference.

    Args:
        model: an :class:`edgekit.models.Model`.
        backends: names to compare; ``None`` = every registered backend.
        inputs: batches (arrays or ``{name: array}``); ``None`` = ``samples``
            seeded random batches of batch size 1.
        samples: number of random batches when ``inputs`` is not given.
        reference: backend to compare against; ``None`` = torch when the model
            has a module, else onnxruntime.
        device: device every backend runs on.
        seed: seed of the random inputs.

    Raises:
        BackendUnavailable: the reference backend cannot run the model.

    Example:
        >>> report = check_parity(model)                       # doctest: +SKIP
        >>> report.get("openvino").max_abs_diff < 1e-4          # doctest: +SKIP
    """
    require_argument(model, "check_parity", "a Model (edgekit.load_model(path) makes one)")
    reference = reference or ("torch" if model.module is not None else "onnxruntime")
    batches = list(inputs) if inputs is not None else random_inputs(model, samples, seed)
    ref_out = _run_all(compile_session(model, reference, device), batches)
    results, skipped = [], []
    for name in backends or list_backends():
        if name == reference:
            continue
        try:
            session = compile_session(model, name, device)
        except EdgekitError as exc:
            skipped.append((name, str(exc)))
            continue
        results.append(_compare(session, _run_all(session, batches), ref_out))
    return ParityReport(model.name, reference, tuple(results), tuple(skipped), len(batches))


def random_inputs(model: Any, count: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """``count`` seeded batches (batch 1) matching the model's input specs.

    Floats are standard normal (what a normalised image looks like); integers
    are small non-negative values.
    """
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        feed = {}
        for spec in model.inputs:
            shape, dtype = spec.concrete_shape(), np.dtype(spec.dtype)
            if np.issubdtype(dtype, np.floating):
                feed[spec.name] = rng.standard_normal(shape).astype(dtype)
            else:
                feed[spec.name] = rng.integers(0, 10, shape).astype(dtype)
        batches.append(feed)
    return batches


def _run_all(session: Any, batches: list[Any]) -> list[list[np.ndarray]]:
    try:
        return [[np.asarray(v, dtype=np.float64) for v in session.run(b).values()] for b in batches]
    finally:
        session.close()


def _compare(session: Any, outs: list[list[np.ndarray]], refs: list[list[np.ndarray]]) -> BackendParity:
    diffs = [np.abs(o - r).ravel() for out, ref in zip(outs, refs) for o, r in zip(out, ref)]
    flat = np.concatenate(diffs) if diffs else np.zeros(1)
    ref_abs = max((float(np.abs(r).max()) for ref in refs for r in ref if r.size), default=0.0)
    info = session.info
    return BackendParity(
        backend=info.backend,
        device=info.device,
        precision=info.precision,
        max_abs_diff=float(flat.max()),
        mean_abs_diff=float(flat.mean()),
        max_ref_abs=ref_abs,
        top1_agreement=_top1(outs, refs),
        samples=len(outs),
    )


def _top1(outs: list[list[np.ndarray]], refs: list[list[np.ndarray]]) -> float | None:
    """Share of matching arg-max over the last axis of the first output."""
    if not refs or not refs[0] or refs[0][0].ndim < 1 or refs[0][0].shape[-1] < 2:
        return None
    pairs = [(np.argmax(o[0], axis=-1), np.argmax(r[0], axis=-1)) for o, r in zip(outs, refs)]
    agree = sum(int(np.sum(a == b)) for a, b in pairs)
    total = sum(int(np.size(b)) for _, b in pairs)
    return agree / total if total else None
