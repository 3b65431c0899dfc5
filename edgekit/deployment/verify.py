"""``verify_bundle``: does this device give what the bundle's manifest promised?

Checks, in order: the bundle itself (every checksum and the schema, by
opening it), then the packaged sample re-run here: top-1 accuracy against the
promise, agreement with the top-1 recorded at deploy time (a detector: its boxes,
matched at IoU >= 0.5 with the same class), and p50 latency
against the plan's figure. Tolerances come from the manifest. A latency that
was only estimated (target absent when planning), measured for a backend
other than the one running here, or measured on another machine (a bundle
built on a laptop, checked on a Pi by a fleet update's post-install verify,
which would otherwise fail and roll back) is reported but not enforced.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from edgekit.deployment.predictor import Predictor
from edgekit.deployment.sample import SampleResult, rerun
from edgekit.hardware.cpu import machine_label

EXIT_OK, EXIT_FAILED = 0, 1  # exit 2 = the bundle was refused (any EdgekitError)


@dataclass(frozen=True)
class Check:
    """One promise compared with what this device measured.

    Attributes:
        name: what is compared.
        promised: the manifest's figure.
        measured: what this device gave.
        limit: the bound ``measured`` must stay within, in words.
        ok: ``True``/``False``; ``None`` when reported but not enforced.
        note: why it is not enforced, or what differed.
    """

    name: str
    promised: float | None
    measured: float | None
    limit: str
    ok: bool | None
    note: str = ""


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify_bundle`.

    Attributes:
        bundle: the path verified.
        backend: the backend that ran the sample here.
        checks: every comparison.
        sample: the raw figures of the re-run.
    """

    bundle: str
    backend: str
    checks: tuple[Check, ...]
    sample: SampleResult

    @property
    def passed(self) -> bool:
        """True when no enforced check failed."""
        return all(c.ok is not False for c in self.checks)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"bundle": self.bundle, "backend": self.backend, "passed": self.passed,
                "checks": [asdict(c) for c in self.checks], "sample": self.sample.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> VerifyReport:
        """Inverse of :meth:`to_dict`."""
        return cls(data["bundle"], data["backend"], tuple(Check(**c) for c in data["checks"]),
                   SampleResult.from_dict(data["sample"]))


def verify_bundle(bundle: str | Path, *, backend: str | None = None) -> VerifyReport:
    """Open (checksums, schema) and re-run the packaged validation sample.

    Raises:
        BundleError: the bundle is refused (modified, missing or extra file...).
        BackendUnavailable: no allowed backend can run here.

    Example:
        >>> report = verify_bundle("digits.zip")   # doctest: +SKIP
        >>> report.passed
        True
    """
    with Predictor.open(bundle, backend=backend) as predictor:
        agree = _box_agree(predictor)
        arrays = predictor.bundle.sample()
        result = rerun(predictor.session, predictor.preprocess, arrays, agree)
        m = predictor.manifest
        checks = (
            _accuracy(m.validation.get("accuracy"), result, m.tolerance.accuracy),
            _map(m.validation.get("map50"), agree, arrays, m.tolerance.accuracy),
            _plan_accuracy(m.accuracy, result, m.tolerance.accuracy),
            _agreement(result, m.tolerance.agreement, boxes=agree is not None),
            _latency(m, result, predictor.backend),
        )
        return VerifyReport(str(bundle), predictor.backend, tuple(c for c in checks if c is not None), result)


def _accuracy(promised: float | None, result: SampleResult, tol: float) -> Check | None:
    if promised is None or result.accuracy is None:
        return None
    return Check("sample accuracy", promised, result.accuracy, f">= {promised - tol:.4f}",
                 result.accuracy >= promised - tol - 1e-9)


def _plan_accuracy(promised: float | None, result: SampleResult, tol: float) -> Check | None:
    """The plan's accuracy on its whole validation set, against the sample with a 3-sigma margin."""
    if promised is None or result.accuracy is None:
        return None
    margin = max(tol, 3 * math.sqrt(max(promised * (1 - promised), 1e-12) / max(result.samples, 1)))
    return Check("plan accuracy (sample, 3-sigma)", promised, result.accuracy, f">= {promised - margin:.4f}",
                 result.accuracy >= promised - margin - 1e-9, f"{result.samples} sample images")


def _agreement(result: SampleResult, tol: float, *, boxes: bool = False) -> Check:
    name = "box agreement with deploy time (IoU>=0.5, same class)" if boxes else "top-1 agreement with deploy time"
    return Check(name, 1.0, result.agreement, f">= {1 - tol:.4f}",
                 (result.agreement or 0.0) >= 1 - tol - 1e-9, f"max output diff {result.max_abs_diff:.3g}")


def _box_agree(predictor: Predictor):
    """For a detection bundle with a one-output head: ``agree(outputs, recorded)`` = mean box agreement
    (matched at IoU >= 0.5, same class) of the decoded sample outputs. ``None`` for a classifier, or a
    head ending in NMS (the sample keeps only its first output; the max output difference still checks it)."""
    from edgekit.deployment.detection_sample import BoxCheck, decodable

    spec, model = predictor.detector_spec, predictor.session.model
    return BoxCheck(spec, model, predictor.labels) if decodable(spec, model) else None


def _map(promised: float | None, agree, arrays: dict, tol: float) -> Check | None:
    """A detection sample with ground truth: its mAP@0.5 here against the one measured at deploy time."""
    if agree is None or promised is None:
        return None
    measured = agree.sample_map(arrays).get("map50")
    if measured is None:
        return None
    return Check("sample mAP@0.5", promised, measured, f">= {promised - tol:.4f}", measured >= promised - tol - 1e-9,
                 "labelled detection images packaged at deploy time")


def _latency(m, result: SampleResult, backend: str) -> Check | None:
    promised = m.figures.get("latency_ms")
    if promised is None:
        return None
    tol = m.tolerance
    bound = promised * tol.latency_factor + tol.latency_slack_ms
    note, enforced = "", True
    measured_on, here = m.figures.get("measured_on"), None
    if measured_on and not m.figures.get("measured_on_device"):  # a device's own label is not a CPU name
        here = machine_label()
    if m.figures.get("source") != "measured":
        note, enforced = f"promise is {m.figures.get('source', 'an estimate')}, not a measurement; not enforced", False
    elif backend != m.backend:
        note, enforced = f"promise is for {m.backend}; ran on fallback {backend}; not enforced", False
    elif here is not None and here != measured_on:  # a bundle built on a laptop, checked on a Pi after a fleet update
        note, enforced = f"promise was measured on {measured_on}; this is {here}; not enforced", False
    ok = result.latency_ms <= bound if enforced else None
    return Check("p50 latency ms (batch 1)", promised, result.latency_ms, f"<= {bound:.3f}", ok, note)
