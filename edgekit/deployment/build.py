"""Fill a bundle folder: model files, validation sample and report, texts, manifest last.

The manifest is written last because it lists the sha256 of everything else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

import edgekit
from edgekit.backends.registry import backends_for, compile_session
from edgekit.data.layouts import DETECTION_FORMS
from edgekit.deployment import sample as sample_mod
from edgekit.deployment.integrity import list_files, manifest_digest
from edgekit.deployment.manifest import (
    MANIFEST,
    MANIFEST_DIGEST,
    SCHEMA_VERSION,
    Manifest,
    Tolerance,
    file_entry,
)
from edgekit.deployment.source import Choice, ensure_file
from edgekit.deployment.texts import readme, requirements
from edgekit.detection.head import as_preprocess, detector_spec, with_task
from edgekit.errors import BundleError, DataError, EdgekitError, warn_caller
from edgekit.hardware.cpu import machine_label
from edgekit.models.card import check_class_scores, require_task
from edgekit.models.model import Model
from edgekit.models.preprocess import Preprocess
from edgekit.types import Task

_DROP_OPTIONS = ("cache_dir", "cache")  # paths of the build machine mean nothing on the device
_DEFAULT_TOLERANCE = Tolerance()


def build_folder(choice: Choice, folder: Path, work: Path, *, target: str, data: Any, samples: int | None,
                 tolerance: Tolerance = _DEFAULT_TOLERANCE, declared: Any = None) -> Manifest:
    """Write every bundle file into the new folder ``folder``; return the manifest.

    ``declared`` is the ``Target`` the bundle is for: fallbacks are limited to
    the backends it lists (``None``, a target whose file is not here: no fallback).
    """
    detect = with_task(choice.model).task == Task.DETECTION  # ONNX metadata or head shapes may say so
    require_task(Task.DETECTION if detect else choice.model.task, "edgekit deploy", name=choice.model.name,
                 supported=(Task.CLASSIFICATION, Task.DETECTION))
    if not detect:
        check_class_scores(choice.model, "edgekit deploy")
    model = ensure_file(choice.model, work)
    samples = sample_mod.sample_count(model, samples)
    spec = detector_spec(model) if detect else None
    preprocess = _preprocess(model) if spec is None else as_preprocess(spec)
    boxes_data = None  # a detection dataset: the sample keeps labelled images and promises their mAP
    if spec is not None:  # class-labelled images mean nothing to a detector
        from edgekit.deployment import detection_sample
        from edgekit.detection.datasets import DetectionDataset

        if isinstance(data, DetectionDataset) and detection_sample.decodable(spec, model):
            boxes_data = data
        elif isinstance(data, DetectionDataset):
            warn_caller(f"{model.name} ends in NMS (several outputs); the bundle's sample checks "
                        "its outputs only, not mAP")
        elif data is not None:  # class-labelled images: dropping them validated the bundle on noise, unsaid
            raise DataError(f"{model.name} is a detector: its validation sample needs images with boxes "
                            f"({DETECTION_FORMS}), not the class-labelled "
                            f"images of {type(data).__name__}; pass the path as data= and it is opened as boxes")
        model, data = model.replace(task=Task.DETECTION, labels=spec.labels), None
    if data is not None:
        images, labels = sample_mod.pick(data, samples)
    else:
        images, labels = sample_mod.synthetic(preprocess, min(samples, 16))
    if data is not None and getattr(data, "classes", None) is not None:
        from edgekit.data import check_classes  # dataset class ids -> the model's label ids, by name

        labels = check_classes(data, model.labels)[labels]
    sample_map: dict = {}
    with compile_session(model, choice.backend, choice.device, choice.precision, choice.options) as session:
        if boxes_data is not None:
            arrays, result, sample_map = detection_sample.record(session, spec, boxes_data, samples)
        else:
            arrays, result = sample_mod.record(session, preprocess, images, labels)
        info = session.info
    folder.mkdir(parents=True)
    model_file = _copy_model(model, folder / "model")
    (folder / "validation").mkdir()
    np.savez_compressed(folder / "validation" / "sample.npz", **arrays)
    if model.labels:
        (folder / "labels.txt").write_text("\n".join(model.labels) + "\n", encoding="utf-8")
    report = {"sample": result.to_dict(), "session": info.to_dict(), "plan_accuracy": choice.accuracy,
              "data": "validation data" if data is not None else "seeded noise images (no labels)"}
    if boxes_data is not None:
        report.update(data=f"labelled detection images from {boxes_data.source}", sample_map=sample_map)
    (folder / "validation" / "report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    fields = _fields(choice, model, preprocess, info, result, target, declared)
    fields.update(model_file=model_file, output_kind=sample_mod.output_kind(arrays["outputs"]),
                  tolerance=dataclasses.asdict(tolerance))
    if sample_map:  # promised by the bundle, re-measured by edgekit verify
        fields["validation"] = {**fields["validation"], **sample_map}
    if spec is not None:
        fields["detection"] = spec.to_dict()  # decoder, thresholds, letterbox: what the Predictor decodes with
    (folder / "requirements.txt").write_text(requirements(choice.backend), encoding="utf-8")
    (folder / "README.md").write_text(readme({**fields, "files": {}}), encoding="utf-8")
    return write_manifest(folder, fields)


def write_manifest(folder: Path, fields: dict) -> Manifest:
    """Hash every file, then write ``manifest.json`` and ``manifest.sha256``."""
    fields = {**fields, "files": {rel: file_entry(folder / rel) for rel in list_files(folder)}}
    manifest = Manifest.from_dict(fields)
    text = manifest.to_json().encode("utf-8")
    (folder / MANIFEST).write_bytes(text)
    (folder / MANIFEST_DIGEST).write_text(f"{manifest_digest(text)}  {MANIFEST}\n", encoding="ascii")
    return manifest


def _preprocess(model: Model) -> Preprocess:
    if model.preprocess is not None:
        return model.preprocess
    spec = model.input
    layout = spec.layout if spec.layout in ("NCHW", "NHWC") else "NCHW"
    dims = spec.concrete_shape()
    if len(dims) != 4:
        raise BundleError(f"{model.name} has no preprocessing and a non-image input {list(spec.shape)}; load it with preprocess=...")
    h, w = (dims[2], dims[3]) if layout == "NCHW" else (dims[1], dims[2])
    channels = dims[1] if layout == "NCHW" else dims[3]
    warn_caller(f"{model.name} has no preprocessing; the bundle assumes resize to {h}x{w}, pixels/255")
    return Preprocess(size=(h, w), layout=layout, channel_order="GRAY" if channels == 1 else "RGB")


def _copy_model(model: Model, dest: Path) -> str:
    """Copy the model's files keeping their names relative to the main file; return its relpath."""
    base = Path(model.path).parent
    dest.mkdir()
    for src in dict.fromkeys([Path(model.path), *map(Path, model.files)]):
        rel = src.name if src.parent == base else src.relative_to(base).as_posix()
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    return f"model/{Path(model.path).name}"


def _backends(choice: Choice, model: Model, declared: Any) -> list[dict]:
    """The chosen backend first, then the first other registered backend that reads this format
    (at the stored precision) and that a bundle may name.

    A fallback is a promise that the bundle may run there, so it must be a
    backend the target lists for this device and precision (a Raspberry Pi has
    no OpenVINO, and naming it would only send the device owner after a runtime
    that cannot help), one that loaded this very file here (OpenVINO lacks
    some ops onnxruntime has: a backend just seen failing is no fallback), and
    not one the plan rejected for accuracy on this file (``choice.unfit``).
    """
    chosen = [{"backend": choice.backend, "precision": choice.precision}]
    if declared is None:
        return chosen
    stored = str(model.precision)
    others = [name for name in backends_for(model.format, bundle=True)
              if name != choice.backend and declared.supports(name, choice.device, stored)]
    for name in [n for n in others if n in choice.unfit]:
        warn_caller(f"{name} is not offered as a fallback: {choice.unfit[name]}")
        others.remove(name)
    loads = next((name for name in others if _loads(model, name, stored)), None)
    return chosen + ([{"backend": loads, "precision": stored}] if loads else [])  # one fallback, the first


def _loads(model: Model, backend: str, precision: str) -> bool:
    """Whether ``backend`` compiles ``model`` on this machine's CPU (warns with the reason when not)."""
    try:
        compile_session(model, backend, "cpu", precision).close()
    except EdgekitError as exc:
        warn_caller(f"{backend} is not offered as a fallback: it cannot load "
                    f"{model.name} here ({exc})")
        return False
    return True


def _options(options: Any) -> dict:
    if options is None:
        return {}
    data = dataclasses.asdict(options) if dataclasses.is_dataclass(options) else dict(options)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in data.items() if k not in _DROP_OPTIONS}


def _fields(choice: Choice, model: Model, pre: Preprocess, info: Any, result: Any, target: str,
            declared: Any) -> dict:
    figures = dict(choice.figures) or {
        "latency_ms": result.latency_ms,
        "latency_p90_ms": result.latency_p90_ms,
        "source": "measured" if target == "local" else "build-machine",
        "what": "p50 of the packaged sample, batch 1, model only",
    }
    if figures.get("source") == "estimated":
        figures.setdefault("estimated_for", target)
    else:
        figures.setdefault("measured_on", machine_label())
    return {
        "name": model.name, "format": str(model.format),
        "inputs": [t.to_dict() for t in model.inputs], "outputs": [t.to_dict() for t in model.outputs],
        "preprocess": pre.to_dict(), "labels": None if model.labels is None else list(model.labels),
        "task": str(model.task),
        "backends": _backends(choice, model, declared), "device": choice.device, "precision": info.precision,
        "runtime": {"threads": info.threads, "streams": info.streams, "options": _options(choice.options)},
        "figures": figures, "accuracy": choice.accuracy, "target": target,
        "validation": {"file": "validation/sample.npz", "report": "validation/report.json",
                       "samples": result.samples, "accuracy": result.accuracy, "latency_ms": result.latency_ms},
        "schema_version": SCHEMA_VERSION, "edgekit_version": edgekit.__version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
