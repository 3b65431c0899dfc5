"""Planning a detector: data, calibration and accuracy in mAP instead of top-1.

What changes for a detection model (``edgekit.detection.head.model_task``):

- **data**: ``--data`` is a YOLO folder, a COCO json or a VOC folder
  (:func:`~edgekit.detection.datasets.open_detection_dataset`); a seeded half of
  the images calibrates INT8, the other half validates (``--calib`` gives separate
  calibration images; then every ``--data`` image validates, as it does for a model
  already quantized: halving the data would only widen the mAP interval).
- **calibration**: images letterboxed with the model's own preprocessing.
- **INT8**: the decode tail stays in float (:mod:`edgekit.compress.detection`;
  the builders read ``BuildContext.detector``).
- **accuracy**: COCO mAP@0.5:0.95 (101-point, the number pycocotools' ``stats[0]``
  gives) with each decoder's evaluation thresholds; ``drop`` = FP32 mAP - candidate
  mAP, so ``--max-accuracy-drop 0.01`` is one mAP@0.5:0.95 point; its interval is a
  paired bootstrap over the validation images. The never-slower / budget rules are
  the planner's own, unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from edgekit.data.layouts import DETECTION_FORMS
from edgekit.errors import Cancelled, EdgekitError
from edgekit.models.model import Model
from edgekit.planner import rules
from edgekit.planner.build import reference_name
from edgekit.types import CandidateStatus as Status
from edgekit.types import Task

METRIC = "mAP@0.5:0.95"
BOOTSTRAP = 200


def is_detector(model: Model) -> bool:
    """True when ``model`` is an object detector (card task, ONNX metadata or head shapes)."""
    from edgekit.detection.head import model_task

    try:
        return model_task(model) == Task.DETECTION
    except EdgekitError:
        return False


def datasets(cfg: Any, model: Model, dataset: Any = None) -> tuple[Any, Any, Any, str]:
    """(calibration, validation, training, description) for a detector; training is ``None``.

    Raises:
        DataError: no ``--data``, or data that is no detection dataset (naming the formats).
    """
    from edgekit.detection.datasets import DetectionDataset
    from edgekit.errors import DataError

    spec = dataset if dataset is not None else cfg.data
    if spec is None:
        raise DataError(f"no validation data for the detector {model.name}: pass --data with "
                        f"{DETECTION_FORMS}")
    full = spec if isinstance(spec, DetectionDataset) else _open(spec, model)
    if cfg.calibration:
        calib = _open(cfg.calibration, model)
        return calib, full, None, (f"Validation: {len(full)} images of {full.source}; calibration from the "
                                   f"{len(calib)} images of {cfg.calibration}. Accuracy is {METRIC}.")
    if str(model.precision).startswith("int8"):  # already quantized: nothing to calibrate, every image validates
        return full, full, None, (f"Data {full.source}: all {len(full)} detection images validate (the model is "
                                  f"already quantized). Accuracy is {METRIC} (COCO 101-point, as pycocotools).")
    calib, val = split(full, seed=0)
    return calib, val, None, (f"Data {full.source}: {len(full)} detection images, a seeded half ({len(calib)}) "
                              f"calibrates INT8, the other {len(val)} validate. Accuracy is {METRIC} "
                              "(COCO 101-point, as pycocotools).")


def _open(path: Any, model: Model) -> Any:
    from edgekit.detection.datasets import open_detection_dataset
    from edgekit.detection.head import detector_spec

    labels = detector_spec(model).labels
    return open_detection_dataset(str(path), labels=labels, num_classes=len(labels) if labels else None)


def split(data: Any, seed: int = 0) -> tuple[Any, Any]:
    """Two disjoint halves of a detection dataset (seeded shuffle): calibration, validation."""
    order = np.random.default_rng(seed).permutation(len(data.samples)).tolist()
    half = len(order) // 2
    pick = [data.samples[i] for i in order]
    return replace(data, samples=pick[:half]), replace(data, samples=pick[half:])


def calibration(dataset: Any, model: Model, n: int) -> list[dict]:
    """Letterboxed calibration feeds (see :func:`edgekit.compress.detection.detection_calibration`)."""
    from edgekit.compress.detection import detection_calibration

    return detection_calibration(dataset, model, n)


def evaluate_all(state: Any) -> None:
    """Score the FP32 reference and every built candidate in mAP; fill ``accuracy``/``drop`` of each.

    A candidate whose backend cannot run its file (e.g. a dynamic-INT8 ``ConvInteger`` graph on a
    backend without that op) is marked failed with the backend's reason, and the plan goes on.
    """
    from edgekit.backends.registry import reference_backend

    live = [k for k, c in state.cands.items() if c.status != Status.FAILED]
    n = len(live) + 1
    state.say.begin(n)
    what = reference_name(state.ctx.source)
    state.say("accuracy", f"{what} (1 of {n}, {METRIC})", 0.4, units=0)
    ref_backend = reference_backend(state.ctx.source.format)
    ref_precision = str(state.model.precision) if str(state.model.precision).startswith("int8") else "fp32"
    ref = _evaluate(state.ctx.source, state.val_ds, ref_backend, "cpu", ref_precision,
                    state.say.within("accuracy", what, 0.4, 0.4 + 0.3 / n, 0))
    state.ref_accuracy = ref.metrics.map
    state.det_ref = ref
    ref_maps = state.det_ref_maps = _resamples(ref)
    state.log.append(f"Reference {METRIC} {ref.metrics.map:.3f} (mAP@0.5 {ref.metrics.map50:.3f}) on "
                     f"{len(state.val_ds)} images with {ref_backend}; decoder settings {_settings(ref)}.")
    memo: dict = {}
    for i, k in enumerate(live, start=1):
        c = state.cands[k]
        lo, hi = 0.4 + 0.3 * i / n, 0.4 + 0.3 * (i + 1) / n
        state.say("accuracy", f"{k} ({i + 1} of {n})", lo, units=i)
        key = (state.models[k].sha256, c.backend, c.precision)
        try:
            res = memo.get(key) or _evaluate(state.models[k], state.val_ds, c.backend, c.device, c.precision,
                                             state.say.within("accuracy", k, lo, hi, i))
        except Cancelled:
            raise
        except EdgekitError as exc:
            state.cands[k] = rules.reject(replace(c, status=Status.FAILED), f"could not run: {exc}")
            state.log.append(f"{k}: {c.backend} could not run this file ({exc}); skipped.")
            continue
        memo[key] = res
        state.say("accuracy", f"{k}: mAP interval ({BOOTSTRAP} resamples)", hi, units=i + 1)
        state.cands[k] = _scored(c, res, ref, ref_maps)


def _evaluate(model: Model, data: Any, backend: str, device: str, precision: str, progress: Any) -> Any:
    from edgekit.detection.evaluate import evaluate_detection

    if device != "cpu":  # as the classifier planner: a device not here is stood in for by this CPU
        device, precision = "cpu", ("fp32" if precision in ("fp16", "bf16") else precision)
    # no bootstrap here: _resamples draws the same resamples once, for the interval of the mAP and of its drop
    return evaluate_detection(model, data, backend, device=device, precision=precision, bootstrap=0,
                              progress=progress)


def _resamples(res: Any) -> np.ndarray:
    from edgekit.detection.metrics import map_resamples

    return map_resamples(res.truths, res.predictions, _classes(res), reps=BOOTSTRAP, seed=0)


def _classes(res: Any) -> int:
    """Class count covering every id seen (classes with no ground truth do not enter mAP either way)."""
    top = max((int(c) for t in res.truths for c in t.class_ids), default=-1)
    top = max([top, *(int(c) for p in res.predictions for c in getattr(p, "class_ids", []))])
    return top + 1


def _scored(c: Any, res: Any, ref: Any, ref_maps: np.ndarray) -> Any:
    """``c`` with its mAP, interval, and drop vs the reference (paired bootstrap on the same images).

    The resamples are drawn once per candidate and give both intervals: ``edgekit eval``'s
    ``map_ci`` is the percentile interval of the same resamples, which scoring drew a second time
    (3.3 of the 8.6 s a candidate took on 64 COCO photos)."""
    m = res.metrics
    drop = ref.metrics.map - m.map
    maps = _resamples(res)
    diffs = ref_maps - maps
    diffs = diffs[np.isfinite(diffs)]
    ci = tuple(float(v) for v in np.percentile(diffs, [2.5, 97.5])) if diffs.size else (drop, drop)
    own = maps[np.isfinite(maps)]
    acc_ci = tuple(float(v) for v in np.percentile(own, [2.5, 97.5])) if own.size > 1 else (m.map, m.map)
    return replace(c, accuracy=m.map, accuracy_ci=acc_ci, n=m.n_images, drop=drop, drop_ci=ci,
                   notes=(*c.notes, f"mAP@0.5 {m.map50:.3f}"))


def _settings(res: Any) -> str:
    s = res.settings
    return ", ".join(f"{k} {s[k]}" for k in ("decoder", "conf", "iou", "max_det") if k in s)


def head_note(model: Model) -> str:
    """The log line saying which nodes INT8 keeps in float (or why none)."""
    from edgekit.compress.detection import head_tail

    try:
        tail = head_tail(model)
    except EdgekitError as exc:
        return f"INT8 of this detector quantizes every node: {exc}"
    shown = ", ".join(t for t in tail if "Constant" not in t)
    return (f"INT8 keeps the detector's decode tail in float ({len(tail)} nodes after the last convolutions: "
            f"{shown[:160]}{'...' if len(shown) > 160 else ''}); the convolutions are quantized.")



def control_all(state: Any) -> None:
    """INT8 over the mAP budget: an "int8-ac" candidate keeping the layers that cost mAP in float.

    The search (:mod:`edgekit.compress.detection_control`) starts from the INT8 already built
    and scored here, ranks layers on a few validation images and re-scores mAP on the
    validation images in growing steps. onnxruntime-quantized candidates only; the best file
    found is kept as a candidate even over budget, so the table shows what the search reached
    (the budget and never-slower rules then judge it like any other).
    """
    from edgekit.backends.registry import capabilities
    from edgekit.types import Method

    budget = state.config.max_accuracy_drop
    over = [c for c in list(state.cands.values()) if c.method == Method.INT8 and c.drop is not None
            and c.drop > budget and c.status != Status.FAILED]
    made: dict[str, Any] = {}  # one search per INT8 file (backends sharing it reuse it)
    for c in over:
        caps = capabilities(c.backend)
        if caps.int8_quantizer != "onnxruntime" or not caps.runs_method(Method.INT8_AC):
            state.log.append(f"{c.key}: accuracy-controlled INT8 of detectors is searched on onnxruntime's QDQ "
                             f"INT8 only ({c.backend} quantizes with {caps.int8_quantizer}); not tried.")
            continue
        start = state.models[c.key]
        key = f"{c.backend}/{c.device}/int8-ac"
        state.say("accuracy control", f"{c.key} drops {100 * c.drop:.2f} mAP points: keeping layers in float", 0.7)
        try:
            built = made.get(start.sha256) or _controlled(state, c, start, budget)
        except Cancelled:
            raise
        except EdgekitError as exc:
            state.log.append(f"Accuracy-controlled INT8 on {c.backend}: {exc}")
            continue
        made[start.sha256] = built
        _add_controlled(state, c, key, built)


def _controlled(state: Any, c: Any, start: Model, budget: float) -> Any:
    from edgekit.compress.detection_control import quantize_detector_controlled

    return quantize_detector_controlled(
        state.ctx.source, state.ctx.calibration, state.val_ds, state.ctx.work / f"{c.backend}-int8-ac",
        max_drop=budget, start=start, baseline=state.ref_accuracy, force=True,
        reduce_range=state.ctx.reduce_range, progress=state.say.within("accuracy control", c.key, 0.7, 0.75, 0))


def _add_controlled(state: Any, c: Any, key: str, built: Any) -> None:
    """The int8-ac candidate, scored like every other (interval and drop vs the FP32 reference)."""
    from edgekit.planner.report import Candidate
    from edgekit.types import Method

    n, names = len(built.float_layers), ", ".join(built.float_layers)
    steps = ", ".join(f"{k}: {m:.3f}" for k, m in built.steps)
    state.log.append(f"Accuracy-controlled INT8 on {c.backend}: {n} layer(s) kept in float ({names[:200]}"
                     f"{'...' if len(names) > 200 else ''}); {METRIC} per layers kept float {steps}; {built.why}. "
                     "Layers were chosen on the validation images, so its mAP there is slightly optimistic.")
    state.models[key] = built.model
    cand = Candidate(key, c.backend, c.device, c.precision, Method.INT8_AC, built.model.to_dict(),
                     size_mb=built.model.size_bytes / 2**20, model_obj=built.model,
                     notes=(f"{n} layer(s) kept in float: {names}",))
    state.cands[key] = cand
    try:
        res = _evaluate(built.model, state.val_ds, c.backend, c.device, c.precision,
                        state.say.within("accuracy", key, 0.74, 0.75, 0))
    except Cancelled:
        raise
    except EdgekitError as exc:
        state.cands[key] = rules.reject(replace(cand, status=Status.FAILED), f"could not run: {exc}")
        return
    state.cands[key] = _scored(cand, res, state.det_ref, state.det_ref_maps)
