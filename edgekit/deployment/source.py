"""What ``deploy`` is given -> one :class:`Choice`: model, backend, device, precision, figures.

``deploy`` accepts a planner ``Report`` (its ``best`` candidate), a
``Candidate``, a saved plan JSON file, a :class:`~edgekit.models.Model`, or
anything ``load_model`` accepts (a path, ``"demo:digits"``). Explicit
``backend``/``precision``/``device`` arguments override the plan's choice.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.backends.registry import backends_for, capabilities, get_backend
from edgekit.data import open_dataset
from edgekit.data.spec import image_size
from edgekit.errors import BundleError, warn_caller
from edgekit.models import convert, load_model
from edgekit.models.model import Model
from edgekit.types import Format


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
        unfit: backends the plan ran this very file on and rejected for accuracy, with why
            (``{"openvino": "accuracy drop 4.20 points ..."}``): never offered as fallbacks.
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
    unfit: dict = field(default_factory=dict)


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
    if isinstance(src, (str, Path)) and Path(src).is_dir() and (Path(src) / "report.json").is_file():
        return _from_plan_file(Path(src) / "report.json")  # the folder `edgekit plan --out` wrote

    return _from_source(load_model(src))


class _Saved:
    """A saved plan or candidate read back from JSON, its fields as attributes.

    Why not ``edgekit.planner.Report.from_dict``: deployment reads plans as data
    (a live ``Report`` is duck-typed too), so it does not depend on the planner,
    which measures on devices that deploy bundles.
    """

    def __init__(self, data: dict) -> None:
        self.__dict__.update(data)


def _from_plan_file(path: Path) -> Choice:
    """A saved plan (``report.json``): its best candidate."""
    from edgekit.safeyaml import load_json, read_text

    data = load_json(read_text(path, BundleError, what="plan file", max_bytes=256 << 20), path=path, error=BundleError)
    if not isinstance(data, dict) or not ({"best", "candidates"} & set(data)):
        raise BundleError(f"{path} is not a saved plan (no 'best' or 'candidates'); pass a model or an edgekit plan JSON", path=path)
    candidates = [c for c in data.get("candidates") or () if isinstance(c, dict)]
    candidates = [{**c, "model": _resolved(c["model"], path.parent)}
                  if isinstance(c.get("model"), dict) and c["model"].get("path") else c for c in candidates]
    best = next((c for c in candidates if "key" in c and c["key"] == data.get("best_key")), None)
    if best is not None and not {"backend", "model"} <= set(best):
        raise BundleError(f"the best candidate in {path} has no backend or model; plan again", path=path)
    return _from_candidate(None if best is None else _Saved(best), data.get("target"),
                           _Saved({**data, "candidates": candidates}))


def _resolved(model: dict, folder: Path) -> dict:
    """A saved plan's model paths, relative to the report's folder (as ``Report.save`` writes them);
    a plan saved before that, relative to the folder it was made in, still reads when run from there."""
    main = Path(model["path"])
    if main.is_absolute() or not (folder / main).exists() and main.exists():
        return model
    return {**model, "path": str(folder / main), "files": [str(folder / f) for f in model.get("files") or []]}


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
    where = getattr(report, "hardware", None) or {}
    if isinstance(where, dict) and where.get("device") and where.get("measured_on"):  # planned on a device (SSH)
        figures.update(measured_on=where["measured_on"], measured_on_device=where["device"])
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
        unfit=_unfit(cand, report),
    )


def _unfit(chosen: Any, report: Any) -> dict:
    """``{backend: reason}`` for the plan's other candidates that ran the chosen file on another
    backend and lost more accuracy than the plan allowed.

    Why: a fallback is the bundle's promise that the file may run there. The same INT8 file can
    score points lower on another runtime (OpenVINO on an x86 CPU without VNNI saturates where
    onnxruntime widens its sums); a plan that measured and rejected exactly that must not have its
    bundle switch to it silently when the chosen runtime is missing on the device."""
    config = getattr(report, "config", None) or {}
    budget = config.get("max_accuracy_drop") if isinstance(config, dict) else None
    path = _model_path(getattr(chosen, "model", None))
    if not isinstance(budget, (int, float)) or path is None:  # a hand-edited plan file: no promise to keep
        return {}
    unfit = {}
    for cand in getattr(report, "candidates", None) or ():
        get = cand.get if isinstance(cand, dict) else functools.partial(getattr, cand)
        drop, backend = get("drop", None), get("backend", None)
        if (backend and backend != chosen.backend and isinstance(drop, (int, float)) and drop > budget + 1e-12
                and _model_path(get("model", None)) == path):
            unfit[str(backend)] = (f"the plan ran this file on {get('key', backend)} and rejected it: accuracy "
                                   f"drop {100 * drop:.2f} points over the {100 * budget:.2f}-point budget")
    return unfit


def _model_path(model: Any) -> str | None:
    """The main file of a candidate's model (a ``Model.to_dict()`` or a ``Model``)."""
    path = model.get("path") if isinstance(model, dict) else getattr(model, "path", None)
    return None if not path else str(path)


def _first(obj: Any, *names: str) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _default_backend(model: Model) -> str:
    """The first registered backend a bundle may name that loads the model's file (a PyTorch
    model is packaged as ONNX)."""
    fmt = Format.parse(model.format)
    return backends_for(Format.ONNX if fmt == Format.TORCH else fmt, bundle=True)[0]


def _fit_backend(choice: Choice) -> Choice:
    """Bundles carry a file for a backend the registry lets a bundle name (ONNX or IR today);
    torch sources become ONNX."""
    model, backend = choice.model, choice.backend.lower()
    if backend == "auto":
        backend = _default_backend(model)
    backend = get_backend(backend).name  # an alias ("ov") is written as the registry's name
    if not capabilities(backend).bundle:
        allowed = " or ".join(backends_for(bundle=True))
        fallback = _default_backend(model)
        warn_caller(f"bundles run on {allowed}, not {backend}; packaging for {fallback}")
        backend, choice = fallback, Choice(**{**choice.__dict__, "options": None, "figures": {}})
    fmt = Format.parse(model.format)
    if fmt != Format.TORCH and not capabilities(backend).loads(fmt):
        readers = backends_for(fmt, bundle=True)
        how = f"pass backend={readers[0]!r}" if readers else "install a backend that reads it"
        raise BundleError(f"{model.name} is in {fmt} format, which {' or '.join(readers) or 'no backend here'} "
                          f"runs, not {backend}; {how} or an ONNX model")
    return Choice(**{**choice.__dict__, "backend": backend})


def ensure_file(model: Model, workdir: Path) -> Model:
    """Export an in-memory / PyTorch model to ONNX in ``workdir`` (a bundle carries files)."""
    if model.path is not None and Format.parse(model.format) in (Format.ONNX, Format.OPENVINO):
        return model

    converted, _report = convert(model, to="onnx", out=workdir / "model.onnx")
    return converted


def open_data(spec: Any, model: Model) -> Any:
    """Validation data for the sample: anything :func:`edgekit.data.open_dataset` takes,
    or -- when nothing is given -- the data the model's card names (``None`` when it names none)."""
    if spec is None and model.validation is not None:
        spec = model.validation.dataset
    if spec is None:
        return None
    if isinstance(spec, (str, Path)):
        from edgekit.detection.head import detector_spec, head_classes, model_task

        if isinstance(model, Model) and model_task(model) == "detection":  # YOLO/COCO/VOC: boxes, not classes
            from edgekit.detection.datasets import open_detection_dataset

            found = detector_spec(model)
            return open_detection_dataset(spec, labels=found.labels,
                                          num_classes=head_classes(model, found.config.decoder))
    return open_dataset(spec, image_size(model))
