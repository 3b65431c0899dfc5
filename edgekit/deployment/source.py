"""What ``deploy`` is given -> one :class:`Choice`: model, backend, device, precision, figures.

``deploy`` accepts a planner ``Report`` (its ``best`` candidate), a
``Candidate``, a saved plan JSON file, a :class:`~edgekit.models.Model`, or
anything ``load_model`` accepts (a path, ``"demo:digits"``). Explicit
``backend``/``precision``/``device`` arguments override the plan's choice.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.errors import BundleError, EdgekitWarning
from edgekit.models.model import Model
from edgekit.types import Format

BUNDLE_BACKENDS = ("onnxruntime", "openvino")  # runtimes a bundle may name (torch is the CUDA dev path)


@dataclass(frozen=True)
class Choice:
    """The resolved deployment decision.

    Attributes:
        model: the model to package (ONNX or OpenVINO IR on disk).
        backend / device / precision: the chosen execution.
        options: backend options the plan chose (dataclass or dict), or ``None``.
        figures: plan figures (``latency_ms``, ``throughput_fps``, ``source``...).
        accuracy: plan accuracy on its validation data, when known.
        target: target name from the plan, when given.
        data: the plan's validation data (a folder/CSV path), when it named one.
    """

    model: Model
    backend: str
    device: str = "cpu"
    precision: str = "fp32"
    options: Any = None
    figures: dict = field(default_factory=dict)
    accuracy: float | None = None
    target: str | None = None
    data: str | None = None


def resolve(src: Any, backend: str | None, precision: str | None, device: str | None) -> Choice:
    """Turn ``src`` into a :class:`Choice`, applying explicit overrides."""
    choice = _from_source(src)
    asked = (("backend", backend), ("precision", precision), ("device", device))
    changes = {k: str(v) for k, v in asked if v and str(v).lower() != str(getattr(choice, k)).lower()}
    if changes:  # the plan's figures describe its own choice, not this one
        choice = Choice(**{**choice.__dict__, **changes, "figures": {}, "options": None})
    return _fit_backend(choice)


def _from_source(src: Any) -> Choice:
    if isinstance(src, Model):
        return Choice(model=src, backend=_default_backend(src), precision=str(src.precision))
    if hasattr(src, "best") and not isinstance(src, (str, Path)):
        return _from_candidate(src.best, getattr(src, "target", None), src)
    if hasattr(src, "model") and hasattr(src, "backend"):
        return _from_candidate(src, None)
    if isinstance(src, (str, Path)) and str(src).lower().endswith(".json") and Path(src).is_file():
        return _from_plan_file(Path(src))
    from edgekit.models import load_model

    return _from_source(load_model(src))


def _from_plan_file(path: Path) -> Choice:
    """A saved plan: ``edgekit.planner`` reads it back into a Report."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"plan file {path} is not readable JSON ({exc})", path=path) from exc
    if not isinstance(data, dict) or not ({"best", "candidates"} & set(data)):
        raise BundleError(f"{path} is not a saved plan (no 'best' or 'candidates'); pass a model or an edgekit plan JSON", path=path)
    from edgekit.planner.report import (
        Report,  # not `from edgekit import plan`: that name is the plan() function
    )

    report = Report.from_dict(data)
    return _from_candidate(report.best, getattr(report, "target", None), report)


def _from_candidate(cand: Any, target: Any, report: Any = None) -> Choice:
    """A planner ``Candidate``: its live model (``model_obj``) or its model dict."""
    if cand is None:
        raise BundleError("the plan has no best candidate (nothing met the budget); relax the budget and plan again")
    model = getattr(cand, "model_obj", None) or cand.model
    if isinstance(model, dict):
        if not model.get("path"):
            raise BundleError(f"the plan's choice {getattr(cand, 'key', '')!r} has no model file; plan again with an output folder")
        model = Model.from_dict(model)
    latency = _first(cand, "latency_ms", "p50_ms")
    figures = {
        "latency_ms": latency,
        "latency_p90_ms": _first(cand, "p90_ms"),
        "throughput_fps": _first(cand, "throughput_fps"),
        "source": "estimated" if _first(cand, "is_estimate", "estimated") else "measured",
        "plan_candidate": _first(cand, "key"),
    }
    target_name = getattr(target, "name", target)
    plan_config = getattr(report, "config", None) or {}
    return Choice(
        model=model,
        backend=str(cand.backend),
        device=str(getattr(cand, "device", "cpu") or "cpu"),
        precision=str(getattr(cand, "precision", None) or model.precision),
        options=getattr(cand, "options", None),
        figures={k: v for k, v in figures.items() if v is not None} if latency is not None else {},
        accuracy=_first(cand, "accuracy"),
        target=None if target_name is None else str(target_name),
        data=plan_config.get("data") if isinstance(plan_config, dict) else None,
    )


def _first(obj: Any, *names: str) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _default_backend(model: Model) -> str:
    return "openvino" if Format.parse(model.format) == Format.OPENVINO else "onnxruntime"


def _fit_backend(choice: Choice) -> Choice:
    """Bundles carry ONNX or IR for onnxruntime/openvino; torch sources become ONNX."""
    model, backend = choice.model, choice.backend.lower()
    if backend == "auto":
        backend = _default_backend(model)
    if backend not in BUNDLE_BACKENDS:
        warnings.warn(
            EdgekitWarning(f"bundles run on {' or '.join(BUNDLE_BACKENDS)}, not {backend}; packaging for onnxruntime"),
            stacklevel=3,
        )
        backend, choice = "onnxruntime", Choice(**{**choice.__dict__, "options": None, "figures": {}})
    if Format.parse(model.format) == Format.OPENVINO and backend != "openvino":
        raise BundleError(f"{model.name} is OpenVINO IR, which only the openvino backend runs; pass backend='openvino' or an ONNX model")
    return Choice(**{**choice.__dict__, "backend": backend})


def ensure_file(model: Model, workdir: Path) -> Model:
    """Export an in-memory / PyTorch model to ONNX in ``workdir`` (a bundle carries files)."""
    if model.path is not None and Format.parse(model.format) in (Format.ONNX, Format.OPENVINO):
        return model
    from edgekit.models import convert

    converted, _report = convert(model, to="onnx", out=workdir / "model.onnx")
    return converted


def open_data(spec: Any, model: Model) -> Any:
    """Validation data for the sample: anything :func:`edgekit.data.open_dataset` takes,
    or -- when nothing is given -- the held-out split for the demo models."""
    from edgekit.data import open_dataset
    from edgekit.data.spec import image_size

    if spec is None:
        return open_dataset("demo-test", image_size(model)) if model.name.startswith("demo:digits") else None
    return open_dataset(spec, image_size(model))
