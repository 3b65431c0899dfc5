"""``plan``: build every candidate a target supports, measure, apply the rules, choose, explain.

Progress is the SDK's one vocabulary (:mod:`edgekit.progress`): per-stage
events ("loading", "preparing", "building", "calibrating", "accuracy" n/N
images, "accuracy control", "benchmarking", "verifying", "done") with the
candidate in the message, the whole plan's fraction, elapsed time and an
estimate of the rest from the stage timings so far. A cancel request is
honoured at every event (raising ``Cancelled``). :func:`iter_plan` offers the
same events as a generator; :mod:`edgekit.planner.process` runs a plan in a
child process (the desktop app does).
"""

from __future__ import annotations

import math
import queue
import threading
import time
import warnings
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

from edgekit.backends.registry import reference_backend
from edgekit.backends.scratch import compile_scratch
from edgekit.compress._common import as_onnx
from edgekit.compress.int8 import nncf_subset_size as calibration_size
from edgekit.data import calibration_validation_split, open_dataset
from edgekit.data.spec import image_size, paired_calibration
from edgekit.devices.planning import DeviceMeasurer
from edgekit.errors import (
    BudgetNotMet,
    Cancelled,
    DataError,
    EdgekitError,
    EdgekitWarning,
    ModelLoadError,
    require_argument,
)
from edgekit.hardware import profile_hardware
from edgekit.models import load_model
from edgekit.models.cost import int8_share
from edgekit.models.model import Model
from edgekit.models.twin import torch_twin
from edgekit.planner import cache as plan_cache
from edgekit.planner import detection as det_plan
from edgekit.planner import rules
from edgekit.planner.adapt import separate
from edgekit.planner.build import (
    BuildContext,
    Spec,
    as_stored,
    build,
    controlled_quantizer,
    left_out,
    reference_name,
    specs_for,
    target_reduce_range,
)
from edgekit.planner.config import PlanConfig
from edgekit.planner.crossbuild import foreign_specs
from edgekit.planner.datacache import calibration_feeds, shared_cache
from edgekit.planner.measure import RACE_AFTER, RATIO_SECONDS, TooSlow, accuracy, bench_interleaved
from edgekit.planner.outdir import report_folder
from edgekit.planner.pace import Pace
from edgekit.planner.report import Candidate, Report
from edgekit.planner.why_slow import dynamic_nodes, same_int8_instructions, why_slower
from edgekit.progress import Cancel, Progress, ProgressEvent, StageClock, check_cancel
from edgekit.targets import Target, estimate_latency, load_target
from edgekit.types import CandidateStatus as Status
from edgekit.types import Method

BRIEF_SECONDS = 0.5  # timed budget for candidates already rejected as far slower: enough for the table's figure


def plan(
    model: Model | str | Path,
    target: str | Path | Target = "local",
    data: str | Path | None = None,
    max_accuracy_drop: float = 0.01,
    latency_budget_ms: float | None = None,
    max_model_mb: float | None = None,
    objective: str = "latency",
    progress: Progress | None = None,
    cancel: Cancel = None,
    cache: bool = True,
    verify: bool = False,
    *,
    config: PlanConfig | None = None,
    force: bool = False,
    **options: Any,
) -> Report:
    """Find the fastest deployment of ``model`` on ``target`` that keeps accuracy, by measuring.

    Args:
        model: a ``Model`` or anything ``load_model`` takes ("demo:digits-mnv2", a path).
        target: "local" (measured here), a bundled target name, or a target YAML (estimated).
        data: labelled image folder, or a dataset of ``(image, label)`` (``edgekit.data``);
            half calibrates INT8, half validates; ``None``: the data the model's card
            names (the demo models name their held-out digits).
        max_accuracy_drop: top-1 drop allowed vs FP32 (0.01 = 1 point); for a detector, mAP@0.5:0.95
            points (:mod:`edgekit.planner.detection`; ``data`` is then a YOLO folder, COCO json or VOC folder).
        latency_budget_ms / max_model_mb: limits (``None``: the target's defaults).
        objective: "latency", "size", "accuracy" or "efficiency".
        progress: receives :class:`~edgekit.progress.ProgressEvent` s (stage, candidate,
            n/N, fraction of the whole plan, elapsed, estimate of the rest); may raise ``Cancelled``.
        cancel: a ``CancelToken``, ``threading.Event`` or callable, checked at every event.
        cache: reuse a stored result for the same model/hardware/versions/settings.
        verify: re-measure the top three candidates to confirm their order.
        config: a full :class:`PlanConfig` (overrides the arguments above).
        force: replace an existing ``out`` folder, only while it holds nothing but the files an
            earlier plan wrote there (:mod:`edgekit.planner.outdir`).
        **options: other ``PlanConfig`` fields (``methods``, ``seconds``, ``out``...).

    Returns:
        A :class:`Report`; ``report.best`` is the chosen :class:`Candidate`.

    Raises:
        BudgetNotMet: no candidate meets the budget (``exc.closest`` lists the nearest).
        Cancelled: ``cancel`` fired.
        OutputExists: ``out`` is not new or empty and ``force`` is false, or holds files edgekit did not write.
        DataError / TargetError / ModelLoadError: bad inputs, naming the fix.

    Example:
        >>> report = plan("demo:digits-mnv2", target="local")   # doctest: +SKIP
        >>> report.best.key, report.best.p50_ms                 # doctest: +SKIP
    """
    require_argument(model, "plan", "a Model, a model path or a name such as demo:digits")
    dataset = None if data is None or isinstance(data, (str, Path)) else data
    if config is None:
        name = model if isinstance(model, (str, Path)) else (model.path or model.name)
        config = PlanConfig(model=str(name), target=str(getattr(target, "name", target)),
                            data=None if data is None or dataset is not None else str(data),
                            max_accuracy_drop=max_accuracy_drop,
                            latency_budget_ms=latency_budget_ms, max_model_mb=max_model_mb, objective=objective,
                            verify=verify, cache=cache, **options)
    with report_folder(config.out, force):
        return run_plan(config, model=model if isinstance(model, Model) else None,
                        target=target if isinstance(target, Target) else None, progress=progress, cancel=cancel,
                        dataset=dataset)


def run_plan(config: PlanConfig, *, model: Model | None = None, target: Target | None = None,
             progress: Progress | None = None, cancel: Cancel = None, dataset: Any = None) -> Report:
    """Run one :class:`PlanConfig` (what :func:`plan` and ``edgekit run plan.yaml`` call).

    ``model``/``target`` objects take the place of the names in ``config``;
    ``dataset`` (an in-memory dataset) takes the place of ``config.data``; its
    content is hashed into the cache key, so a different dataset re-measures.

    Raises:
        BudgetNotMet / Cancelled / DataError / TargetError / ModelLoadError: as :func:`plan`.
    """
    require_argument(config, "run_plan", "a PlanConfig")
    say = _Reporter(progress, cancel)
    say("loading", str(config.model), 0.0)
    if model is None:  # the card flags a saved plan.yaml keeps for its model (a bare ONNX has nothing else)
        from edgekit.models.card_options import load_with_flags

        model = load_with_flags(config.model, config.card_flags) if config.card_flags else load_model(config.model)
    measurer = _device(config, target)  # --target names a registered device: measured there over SSH
    target = target or (measurer.target if measurer is not None else load_target(config.target))
    profile = measurer.profile if measurer is not None else profile_hardware()
    settings = config.key_settings()
    if dataset is not None:
        settings = {**settings, "dataset": _dataset_fingerprint(dataset)}
    key = plan_cache.cache_key(model.sha256, profile.fingerprint, profile.versions, settings, target.to_dict())
    if config.cache:
        hit = plan_cache.load(key)
        if hit is not None:
            say("done", "reusing the cached result (same model, hardware, versions and settings)", 1.0)
            return _finish_cached(hit, config)
    state = _State(config, model, target, profile, key, dataset, say)
    state.measurer = measurer
    with compile_scratch():  # a candidate compiled to be scored is imported, not compiled again, to be timed
        state.prepare()
        state.build_all()
        state.evaluate_all()
        state.control_all()
        state.time_all()
        report = state.decide(say.clock.elapsed)
        if config.verify:
            report = state.verify(report)
    if measurer is not None:
        report = measurer.label(report)
    if config.out:
        report.save(config.out)
    # stored with cache=False too: a re-measured result replaces the older one (a plain plan after a
    # --no-cache run answered with the figures from before it)
    plan_cache.store(key, report)
    say("done", f"chose {report.best_key}", 1.0)
    return report


def iter_plan(config: PlanConfig, *, model: Model | None = None, target: Target | None = None,
              dataset: Any = None) -> Generator[ProgressEvent, None, Report]:
    """The planner as a generator of :class:`~edgekit.progress.ProgressEvent` s; its return value is the Report.

    The plan runs on a helper thread; closing the generator (or dropping it)
    cancels the plan at its next event and waits for the thread to end.
    """
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["report"] = run_plan(config, model=model, target=target, progress=events.put, cancel=stop,
                                         dataset=dataset)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the consumer's thread below
            outcome["error"] = exc
        finally:
            events.put(None)

    thread = threading.Thread(target=work, name="edgekit-plan", daemon=True)
    thread.start()
    try:
        while (event := events.get()) is not None:
            yield event
    finally:
        stop.set()
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["report"]


class _Reporter:
    """The plan's progress sink: checks cancel, stamps the whole plan's fraction, elapsed and an estimate.

    The estimate adds up the stages still to come from what is known of them:
    the current stage from its own timings (:class:`StageClock`), accuracy
    from the reference model's evaluation time, benchmarking from its time budget.
    """

    def __init__(self, progress: Progress | None, cancel: Cancel) -> None:
        self.progress, self.cancel = progress, cancel
        self.clock = StageClock(1.0)
        self.stage: StageClock | None = None
        self.later = 0.0  # seconds expected for the stages after the current one
        self.last = 0.0
        self.units = 0.0  # furthest unit of the current stage seen (a sub-step restarting its count never rewinds it)

    def begin(self, units: float, later: float = 0.0) -> None:
        """A stage of ``units`` units starts; ``later`` seconds are expected after it."""
        self.stage, self.later, self.units = StageClock(units), later, 0.0

    def __call__(self, stage: str, message: str, fraction: float, done: float | None = None,
                 total: float | None = None, units: float | None = None) -> None:
        check_cancel(self.cancel, "planning cancelled by the user")
        self.last = fraction = max(self.last, min(1.0, fraction))  # never backwards
        eta = None if fraction >= 1.0 else self._eta(units)
        if self.progress is not None:
            self.progress(ProgressEvent(stage, message, done, total, fraction, eta, self.clock.elapsed))

    def _eta(self, units: float | None) -> float | None:
        if units is not None:
            self.units = units = max(self.units, units)
        here = self.stage.eta(units) if self.stage is not None and units is not None else None
        return None if here is None else here + self.later

    def within(self, stage: str, prefix: str, lo: float, hi: float, unit: float, keep_stage: bool = True) -> Progress:
        """A ``Progress`` for a sub-operation (compress, evaluate, bench) filling ``lo..hi`` of the plan;
        ``unit`` is the stage unit it starts at (its own fraction adds to it). The sub-operation's
        stage name ("calibrating", "accuracy") is kept unless ``keep_stage`` is false."""

        def report(event: ProgressEvent) -> None:
            inner = event.fraction
            if inner is None and event.done is not None and event.total:
                inner = event.done / event.total
            inner = min(1.0, max(0.0, inner or 0.0))
            name = event.stage if keep_stage and event.stage else stage
            inner_text = event.message if name == event.stage else f"{event.stage} {event.message}".strip()
            text = ": ".join(x for x in (prefix, inner_text) if x)
            self(name, text, lo + (hi - lo) * inner, event.done, event.total, unit + inner)

        return report


def _device(config: PlanConfig, target: Target | None) -> DeviceMeasurer | None:
    """The measurer of the registered device ``config.target`` names (see edgekit.devices), else None."""
    return None if target is not None else DeviceMeasurer.for_target(config.target, data=config.data,
                                                                     resume=config.cache)


def _finish_cached(report: Report, config: PlanConfig) -> Report:
    again = "--no-cache; in Python, cache=False; in the app, untick 'Reuse a cached result'"
    report = replace(report, cache_hit=True, log=(*report.log, f"Result reused from the cache (to measure again: {again})."))
    if config.out:  # the models built earlier move in with the new report
        report = plan_cache.adopt_artifacts(report, config.out, config.model if isinstance(config.model, str) else None)
        report.save(config.out)
    return report


class _State:
    """One planning run's working data (kept off the public API)."""

    def __init__(self, config: PlanConfig, model: Model, target: Target, profile: Any, key: str,
                 dataset: Any = None, say: _Reporter | None = None) -> None:
        self.config, self.model, self.target, self.profile, self.key = config, model, target, profile, key
        self.dataset = dataset
        self.say = say or _Reporter(None, None)
        self.log: list[str] = []
        self.cands: dict[str, Candidate] = {}
        self.models: dict[str, Model] = {}
        self.evals: dict[str, Any] = {}
        self.too_slow: set[str] = set()  # stopped while scored: far slower than their FP32 (pace)
        self.caveats: dict[str, tuple[str, ...]] = {}  # what a runtime said bears on its accuracy
        # an absent target's INT8 candidate timed here against its FP32 (see _ratio_here): both p50s, and
        # the speed-up's interval from both medians' intervals (None when unknown)
        self.timed_here: dict[str, tuple[float, float, tuple[float, float] | None]] = {}
        self.shares: dict[str, float | None] = {}  # an INT8 candidate's share of multiply-adds in INT8, read once
        self.measurer: DeviceMeasurer | None = None
        self.detector = det_plan.is_detector(model)  # accuracy in mAP, INT8 keeps the decode tail float

    # ---- data + specs --------------------------------------------------------------
    def prepare(self) -> None:
        cfg, t = self.config, self.target
        where = "measured on this machine" if t.is_local else "ESTIMATED from the target's published figures"
        self.log.append(f"Target {t.name}: latency {where}; accuracy is measured here on real images.")
        datasets = det_plan.datasets if self.detector else _datasets
        calib_ds, self.val_ds, self.train_ds, what = datasets(cfg, self.model, self.dataset)
        self.log.append(what)
        self.say("preparing", "calibration data", 0.05)
        quantized = str(self.model.precision).startswith("int8")  # as stored: nothing to calibrate
        methods_need_calib = any(m.startswith("int8") for m in cfg.methods) and not quantized
        n = calibration_size(min(cfg.calibration_samples, len(calib_ds)), self.model.num_classes)
        feeds = (det_plan.calibration if self.detector else calibration_feeds)(calib_ds, self.model, n=n) \
            if methods_need_calib else []
        self.say("preparing", "the PyTorch twin (eager baseline, pruning), if there is one", 0.07)
        try:
            self.twin = torch_twin(self.model)
        except ModelLoadError as error:  # a checkpoint beside it that does not load: plan on without it, saying why
            self.twin = None
            self.log.append(f"No PyTorch-eager baseline, no pruning: {error}")
        else:
            if self.twin is None:
                self.log.append("No PyTorch module for this model: no PyTorch-eager baseline, no pruning.")
        src = self.model if self.model.format.value == "onnx" else _to_onnx(self.model, self._work())
        self.ctx = BuildContext(src, self.twin, feeds, [], self.train_ds, self._work(),
                                reduce_range=target_reduce_range(t), detector=self.detector)
        if self.detector and methods_need_calib:
            self.log.append(det_plan.head_note(self.ctx.source))
        asked = specs_for(t, cfg.methods, self.twin is not None)
        self.specs, stored = as_stored(asked, self.model, t)
        self.log += [stored] if stored else []
        if not self.specs:  # nothing left to plan: each asked-for candidate fails with why, for the error to say
            for spec, why in left_out(asked, self.model, t):
                self._fail(spec, why)
        self.specs += foreign_specs(self.specs)  # e.g. OpenVINO also runs onnxruntime's INT8 QDQ ONNX

    def _work(self) -> Path:
        if self.config.out:
            path = Path(self.config.out) / "models"
            path.mkdir(parents=True, exist_ok=True)
            return path
        return plan_cache.work_dir(self.key)

    # ---- build ---------------------------------------------------------------------
    def build_all(self) -> None:
        n = max(1, len(self.specs))
        self.say.begin(n, later=self._bench_seconds(len(self.specs)))
        for i, spec in enumerate(self.specs):
            lo, hi = 0.1 + 0.3 * i / n, 0.1 + 0.3 * (i + 1) / n
            self.say("building", f"{spec.key} (candidate {i + 1} of {len(self.specs)})", lo, units=i)
            self.ctx.progress = self.say.within("building", spec.key, lo, hi, i)
            start = time.perf_counter()
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", EdgekitWarning)
                    built = build(spec, self.ctx)
            except Cancelled:
                raise
            except EdgekitError as exc:
                self._fail(spec, f"could not build: {exc}")
                continue
            finally:
                self._note_warnings(spec, caught)
            self.models[spec.key] = built
            self.cands[spec.key] = Candidate(spec.key, spec.backend, spec.device, spec.precision, spec.method,
                                             built.to_dict(), size_mb=built.size_bytes / 2**20, model_obj=built)
            if spec.method == Method.BF16:
                self.log.append(f"{spec.key}: the FP32 file, run by {spec.backend} in bfloat16 (the target lists BF16 "
                                "for it); its accuracy is measured like any other candidate's.")
            elif spec.method not in (Method.FP32, Method.EAGER):
                self.log.append(f"Built {spec.key} in {time.perf_counter() - start:.1f} s{_how(built)}.")

    def _note_warnings(self, spec: Spec, caught: list) -> None:
        """Warnings while building go to the decision log (once each), not to stderr."""
        for w in caught:
            line = f"Warning while building {spec.key}: {w.message}"
            if issubclass(w.category, EdgekitWarning) and not any(str(w.message) in s for s in self.log):
                self.log.append(line)

    def _fail(self, spec: Spec, reason: str) -> None:
        self.cands[spec.key] = Candidate(spec.key, spec.backend, spec.device, spec.precision, spec.method, {},
                                         status=Status.FAILED, reasons=(reason,))
        self.log.append(f"{spec.key}: {reason}")

    # ---- accuracy ------------------------------------------------------------------
    def evaluate_all(self) -> None:
        self.ctx.progress = None
        if self.detector:
            return det_plan.evaluate_all(self)
        live = [k for k, c in self.cands.items() if c.status != Status.FAILED]
        n = len(live) + 1  # the FP32 reference first
        bench_s = self._bench_seconds(len(live))
        self.say.begin(n, later=bench_s)
        what = reference_name(self.ctx.source)
        self.say("accuracy", f"{what} (1 of {n})", 0.4, units=0)
        ref_backend = reference_backend(self.ctx.source.format)
        pace, timing = Pace(), {}
        ref = accuracy(self.ctx.source, self.val_ds, ref_backend, "cpu", "fp32",
                       progress=self.say.within("accuracy", what, 0.4, 0.4 + 0.3 / n, 0), timing=timing)
        pace.record(ref_backend, timing, reference=True)
        self.evals[(self.ctx.source.sha256, ref_backend, "fp32")] = ref
        ref_ok = self.ref_ok = [p == y for p, y in zip(ref.predictions, ref.labels)]
        self.ref_accuracy = ref.metrics.accuracy
        for i, k in enumerate(live, start=1):
            c = self.cands[k]
            lo, hi = 0.4 + 0.3 * i / n, 0.4 + 0.3 * (i + 1) / n
            self.say("accuracy", f"{k} ({i + 1} of {n})", lo, units=i)
            memo = (self.models[k].sha256, c.backend, c.precision)
            fp32, timing = c.method == Method.FP32, {}
            # never cut short: baselines; objectives where a slow candidate can win (size, accuracy); and
            # targets that are not this CPU (its speed here says nothing of theirs)
            patient = (fp32 or self.config.objective in ("size", "accuracy") or not self.target.is_local
                       or self.measurer is not None)
            try:
                res = self.evals.get(memo) or accuracy(self.models[k], self.val_ds, c.backend, c.device, c.precision,
                                                       progress=self.say.within("accuracy", k, lo, hi, i),
                                                       max_seconds_per_image=None if patient else pace.limit(c.backend),
                                                       timing=timing)
                self.evals[memo] = res
                if fp32:
                    pace.record(c.backend, timing)
            except Cancelled:
                raise
            except TooSlow as slow:  # clearly far slower than its baseline: rejected, latency still measured
                self.cands[k] = rules.reject(c, pace.reason(c.backend, slow.per_image_s))
                self.too_slow.add(k)
                continue
            except EdgekitError as exc:
                self.cands[k] = rules.reject(replace(c, status=Status.FAILED), f"could not run: {exc}")
                continue
            drop, ci = rules.paired_drop(ref_ok, [p == y for p, y in zip(res.predictions, res.labels)])
            m = res.metrics
            self.cands[k] = replace(c, accuracy=m.accuracy, accuracy_ci=tuple(m.accuracy_ci), n=m.n, drop=drop,
                                    drop_ci=ci)
            self.caveats[k] = res.caveats

    # ---- accuracy control ----------------------------------------------------------
    def control_all(self) -> None:
        """INT8 over the drop budget: keep its most sensitive layers float (a new "int8-ac" candidate)."""
        budget = self.config.max_accuracy_drop
        if self.detector:  # the layer search scored in mAP (edgekit.planner.detection)
            return det_plan.control_all(self)
        over = [c for c in list(self.cands.values())
                if c.method == Method.INT8 and c.drop is not None and c.drop > budget
                and controlled_quantizer(c.backend) is not None]
        for c in over:
            self.say("accuracy control", f"INT8 on {c.backend} drops {100 * c.drop:.2f} points: keeping sensitive "
                     "layers in float", 0.7)
            key = f"{c.backend}/{c.device}/int8-ac"
            try:
                built = self._controlled(c, budget)
            except Cancelled:
                raise
            except EdgekitError as exc:
                self.log.append(f"Accuracy-controlled INT8 on {c.backend} did not fit the budget: {exc}")
                continue
            self.models[key] = built.model
            cand = Candidate(key, c.backend, c.device, c.precision, Method.INT8_AC, built.model.to_dict(),
                             size_mb=built.model.size_bytes / 2**20, model_obj=built.model,
                             notes=(f"kept in float: {', '.join(built.float_layers) or 'none'}",))
            self.cands[key] = cand
            self.log.append(f"Accuracy-controlled INT8 on {c.backend}: {len(built.float_layers)} layer(s) kept in "
                            f"float ({', '.join(built.float_layers[:5])}{'...' if len(built.float_layers) > 5 else ''}); "
                            "layers were chosen on the validation images, so its accuracy there is slightly optimistic.")
            res = accuracy(built.model, self.val_ds, c.backend, c.device, c.precision)
            drop, ci = rules.paired_drop(self.ref_ok, [p == y for p, y in zip(res.predictions, res.labels)])
            self.cands[key] = replace(cand, accuracy=res.metrics.accuracy, accuracy_ci=tuple(res.metrics.accuracy_ci),
                                      n=res.metrics.n, drop=drop, drop_ci=ci)
            self.caveats[key] = res.caveats

    def _controlled(self, c: Candidate, budget: float):
        pre, name = self.ctx.source.preprocess, self.ctx.source.input.name
        val = shared_cache().get(self.val_ds, pre)  # the rows every candidate was scored on
        pairs = list(zip(val.feeds(name), val.labels.tolist()))
        out = self.ctx.work / f"{c.backend}-int8-ac"
        fn = controlled_quantizer(c.backend)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", EdgekitWarning)
            result = fn(self.ctx.source, self.ctx.calibration, pairs, out, max_drop=budget, force=True,
                        reduce_range=self.ctx.reduce_range,
                        progress=self.say.within("accuracy control", c.key, 0.7, 0.75, 0))
        self._note_warnings(Spec(c.backend, c.device, c.precision, Method.INT8_AC), caught)
        return result

    # ---- latency -------------------------------------------------------------------
    def time_all(self) -> None:
        live = [k for k, c in self.cands.items() if c.status != Status.FAILED]
        if self.measurer is not None:
            self._time_on_device(live)
            return
        if not self.target.is_local:
            self.say("estimating", "latency on the target", 0.75)
            for k in live:
                self._estimate(k)
            if self.timed_here:
                ratios = ", ".join(f"{k} {mine / fp32:.2g}x" for k, (mine, fp32, _) in self.timed_here.items())
                self.log.append(f"Timed here against their FP32, interleaved ({RATIO_SECONDS:g} s each): {ratios} "
                                "the FP32 time; their estimates are the FP32 estimate times that ratio (each "
                                "estimate's basis says why it carries over to the target).")
            return
        verify_s = self._bench_seconds(min(3, len(live))) if self.config.verify else 0.0
        self.say.begin(1.0, later=verify_s)
        self.say("benchmarking", f"{len(live)} candidates, interleaved ({self.config.seconds:g} s each)", 0.75,
                 units=0)
        hi = 0.93 if self.config.verify else 0.98
        # already rejected as several times slower than their FP32: a short run is enough for the table
        brief = [k for k in live if k in self.too_slow]
        full = [k for k in live if k not in self.too_slow]
        split = 0.75 + (hi - 0.75) * len(full) / max(1, len(live))
        short = min(BRIEF_SECONDS, self.config.seconds)
        groups = [(full, self.config.seconds, None, 0.75, split), (brief, short, short / 2, split, hi)]
        for keys, seconds, warmup, lo, up in groups:  # the brief ones: only how much slower they are
            if not keys:
                continue
            items = [(self.models[k], self.cands[k].backend, self.cands[k].device, self.cands[k].precision)
                     for k in keys]
            sub = self.say.within("benchmarking", "", lo, up, 0, keep_stage=False)
            for k, r in zip(keys, bench_interleaved(items, seconds, self.say.cancel, sub, warmup=warmup)):
                self._apply(k, r)
        self.log.append(f"Benchmarked as a race: a candidate whose interval lay wholly above the fastest's "
                        f"stopped after {RACE_AFTER * self.config.seconds:g} s of its {self.config.seconds:g} s.")
        if brief:
            self.log.append(f"Benchmarked {', '.join(brief)} for {short:g} s each "
                            "only: already rejected as several times slower than FP32 while scored.")
        separate(self.cands, self._remeasure, self.config.seconds, self.log)  # ties with the fastest: longer

    def _remeasure(self, keys: list[str], seconds: float) -> None:
        """Benchmark ``keys`` again, interleaved, for ``seconds`` each (adaptive ``--seconds``)."""
        self.say("benchmarking", f"{len(keys)} candidates within noise of the fastest again ({seconds:g} s each)",
                 0.95, units=0)
        items = [(self.models[k], self.cands[k].backend, self.cands[k].device, self.cands[k].precision) for k in keys]
        for k, r in zip(keys, bench_interleaved(items, seconds, self.say.cancel)):
            if r.ok and r.latency_ms.get("p50"):
                self._apply(k, r)

    def _apply(self, k: str, r: Any) -> None:
        """Candidate ``k`` takes benchmark result ``r`` (measured here or on a device)."""
        c = self.cands[k]
        if r.ok and r.latency_ms.get("p50"):
            ci = r.ci_rel if r.ci_rel is not None and math.isfinite(r.ci_rel) else None
            self.cands[k] = replace(c, p50_ms=r.latency_ms["p50"], p90_ms=r.latency_ms.get("p90"), ci_rel=ci)
        elif r.ok:
            self.cands[k] = rules.reject(replace(c, status=Status.FAILED),
                                         "no timed run completed (machine too busy?); re-run with more seconds")
        else:
            self.cands[k] = rules.reject(replace(c, status=Status.FAILED), f"benchmark {r.status}: {r.reason}")

    def _time_on_device(self, live: list[str]) -> None:
        """Each candidate shipped to the device as a bundle and benchmarked there (edgekit.devices)."""
        items = [(k, self.models[k], self.cands[k].backend, self.cands[k].device, self.cands[k].precision)
                 for k in live]
        say = self.say.within("benchmarking", "", 0.75, 0.98, 0)
        for k, r in self.measurer.measure(items, self.config.seconds, self.say.cancel, say).items():
            self._apply(k, r)

    def _bench_seconds(self, n: int) -> float:
        """Expected length of an interleaved benchmark of ``n`` candidates (warm-up + timed budget)."""
        if not self.target.is_local:
            return 0.0
        return n * (self.config.seconds + min(2.0, self.config.seconds))

    def _estimate(self, k: str) -> None:
        c, m = self.cands[k], self.models[k]
        flops = m.flops or self.model.flops
        if not flops:
            self.cands[k] = rules.reject(c, "FLOPs unknown: cannot estimate latency on a target that is not here")
            return
        try:
            est = estimate_latency(self.target, flops=flops, weight_bytes=m.size_bytes, device=c.device,
                                   precision=c.precision, backend=c.backend, int8_share=self._int8_share(k),
                                   measured_ratio=self._ratio_here(k))
        except EdgekitError as exc:
            self.cands[k] = rules.reject(c, str(exc))
            return
        self.cands[k] = replace(c, estimate=est)

    def _ratio_here(self, k: str) -> tuple[float, str] | None:
        """An INT8 candidate's latency over its runtime's FP32, measured here (interleaved,
        ``RATIO_SECONDS`` each), with the words the estimate's basis gives, where that ratio carries
        over to the target; ``None`` otherwise (the estimate then assumes the INT8 rate).

        Why: a dynamic-INT8 graph's cost is in its structure (activations quantized at run time by
        unfused ``ConvInteger``/``MatMulInteger`` nodes), which a target's INT8 instructions do not
        change: the INT8 rate made it ~2.4x faster than FP32 on a Raspberry Pi 5 while it ran 16x
        slower here, on the same runtime and the same file. Static INT8's ratio depends on the CPU's
        INT8 instructions and on the model's widths, so it carries over only to a target whose CPU
        has the same INT8 instructions as this one (:func:`same_int8_instructions`)."""
        c = self.cands[k]
        if c.device != "cpu" or not str(c.precision).startswith("int8"):
            return None
        dynamic = c.precision == "int8-dynamic"
        same = same_int8_instructions(self.profile, self.target)
        if not dynamic and same is None:
            return None
        base = next((o for o in self.cands.values() if o.backend == c.backend and o.device == "cpu"
                     and o.method == Method.FP32 and o.status != Status.FAILED), None)
        if base is None or k not in self.models or base.key not in self.models:
            return None
        self.say("estimating", f"{k} against {base.key}, timed here ({RATIO_SECONDS:g} s each)", 0.8)
        items = [(self.models[base.key], c.backend, "cpu", base.precision),
                 (self.models[k], c.backend, "cpu", c.precision)]
        try:
            fp32, mine = bench_interleaved(items, RATIO_SECONDS, self.say.cancel)
        except Cancelled:
            raise
        except EdgekitError as exc:
            self.log.append(f"Could not time {k} against {base.key} here ({exc}); its estimate assumes the INT8 rate.")
            return None
        p_fp32, p_mine = (r.latency_ms.get("p50") if r.ok else None for r in (fp32, mine))
        if not (p_fp32 and p_mine):
            self.log.append(f"Could not time {k} against {base.key} here; its estimate assumes the INT8 rate.")
            return None
        cis = [r.ci_rel if r.ci_rel is not None and math.isfinite(r.ci_rel) else None for r in (mine, fp32)]
        band = (p_fp32 * (1 - cis[1]) / (p_mine * (1 + cis[0])), p_fp32 * (1 + cis[1]) / (p_mine * (1 - cis[0]))) \
            if None not in cis and cis[0] < 1 else None
        ratio, self.timed_here[k] = p_mine / p_fp32, (p_mine, p_fp32, band)
        timed = (f"{c.precision} ran at {ratio:.2g}x the FP32 time here ({c.backend}/cpu, {self.profile.cpu_name}: "
                 f"{p_mine:.3g} vs {p_fp32:.3g} ms, measured)")
        if dynamic:
            nodes = dynamic_nodes(getattr(self.models[k], "path", None))
            return ratio, (f"{timed}{f' ({nodes})' if nodes else ''}; assumed the same on {self.target.name}: "
                           "dynamic INT8's cost is in its graph, which the target's INT8 instructions do not "
                           "change (band x1.5)")
        return ratio, (f"{timed}; assumed the same on {self.target.name}, whose CPU has the same INT8 "
                       f"instructions as this one ({same}) (band x1.5)")

    def _int8_share(self, k: str) -> float | None:
        """How much of an INT8 candidate's compute runs in INT8 (int8-ac keeps layers float), read from
        its graph once (the estimate and the all-float rule both ask); ``None`` (estimated as all INT8)
        for other precisions or a graph that cannot say."""
        if not str(self.cands[k].precision).startswith("int8"):
            return None
        if k not in self.shares:
            try:
                self.shares[k] = int8_share(self.models[k])
            except Exception as exc:  # noqa: BLE001 - an estimate with the old assumption beats none
                self.log.append(f"Could not read which layers of {k} run in INT8 ({exc}); its estimate assumes all do.")
                self.shares[k] = None
        return self.shares[k]

    # ---- decide --------------------------------------------------------------------
    def _why_slower(self, c: Candidate, fp32: dict) -> str | None:
        """The measured cause when an INT8 candidate is slower than its FP32 here (per-op profile + graph)."""
        base = fp32.get((c.backend, c.device))
        here = self.timed_here.get(c.key)  # an absent target: what was timed here, if anything
        if here is not None and base is not None and here[0] > here[1]:
            ms, isa = here[:2], tuple(k for k, v in self.profile.isa.items() if v)  # this CPU's: the cause seen here
        elif self.target.is_local and base and c.p50_ms and base.p50_ms and c.p50_ms > base.p50_ms:
            ms, isa = (c.p50_ms, base.p50_ms), self.target.isa
        elif base and c.p50_ms and base.p50_ms and c.p50_ms > base.p50_ms and c.precision == "int8-dynamic":
            # timed on a device over SSH, not profiled there: what the graph says holds on any CPU
            nodes = dynamic_nodes(getattr(self.models.get(c.key), "path", None))
            return (f"its {nodes}, unfused with their scales and activations (static INT8 avoids both)"
                    if nodes else None)
        else:
            return None
        runs = max(3, min(20, int(1000 / ms[0])))  # about a second of profiling, whatever the model
        why = why_slower(self.models.get(c.key), c.method, c.backend, isa, runs, baseline=self.models.get(base.key),
                         ms=ms)
        return f"here: {why}" if why and here is not None else why

    def _all_float(self, c: Candidate) -> Candidate:
        """:func:`rules.all_float` for an int8-ac candidate, its INT8 share read from its graph."""
        if c.method != Method.INT8_AC or c.status == Status.REJECTED:
            return c
        return rules.all_float(c, self._int8_share(c.key))

    def _twin(self, c: Candidate, max_drop: float) -> Candidate | None:
        """Another runtime's candidate that ran the very same file within the accuracy budget."""
        model = self.models.get(c.key)
        if model is None or c.drop is None or c.drop <= max_drop:
            return None
        return next((o for k, o in self.cands.items() if o.backend != c.backend and o.drop is not None
                     and o.drop <= max_drop and getattr(self.models.get(k), "sha256", None) == model.sha256), None)

    def decide(self, seconds: float) -> Report:
        cfg, t = self.config, self.target
        lat_budget = cfg.latency_budget_ms if cfg.latency_budget_ms is not None else t.budgets.latency_ms
        size_budget = cfg.max_model_mb if cfg.max_model_mb is not None else t.budgets.model_mb
        isa = self.target.isa
        fp32 = {(c.backend, c.device): c for c in self.cands.values() if c.method == Method.FP32}
        judged = []
        for c in self.cands.values():
            if c.status == Status.FAILED:
                judged.append(c)
                continue
            c = rules.never_slower(c, fp32.get((c.backend, c.device)), isa, self._why_slower(c, fp32), cfg.objective,
                                   timed_ci=self.timed_here.get(c.key, (0, 0, None))[2])
            c = rules.accuracy_rule(c, cfg.max_accuracy_drop, self.caveats.get(c.key, ()),
                                    self._twin(c, cfg.max_accuracy_drop))
            c = self._all_float(c)
            judged.append(rules.budget_rule(c, lat_budget, size_budget))
        for c in judged:
            if c.status == Status.REJECTED:
                self.log.append(f"Rejected {c.key}: {'; '.join(c.reasons)}.")
        try:
            best = rules.choose(judged, cfg.objective)
        except BudgetNotMet as exc:
            self.log.append(str(exc))
            raise
        tie = rules.tie_line(*rules.pick([c for c in judged if c.status == Status.VALID], cfg.objective))
        if tie:  # the pick came from the tie rule: say which candidates tied and the rule
            self.log.append(tie)
        judged = [replace(c, status=Status.CHOSEN) if c.key == best.key else c for c in judged]
        gap, pct = rules.regret(best, judged)
        eager = next((c for c in judged if c.method == Method.EAGER and c.p50_ms), None)
        vs_eager = eager.p50_ms / best.p50_ms if eager and best.p50_ms else None
        self.log.append(_why(best, cfg, vs_eager, gap, pct))
        runner = _runner_up(best, judged, cfg.objective)
        if runner:
            self.log.append(runner)
        return Report(model=self.model.name, model_sha256=self.model.sha256, target=t.name, estimated=not t.is_local,
                      candidates=tuple(judged), best_key=best.key, log=tuple(self.log), regret_ms=gap,
                      regret_pct=pct, eager_ms=eager.p50_ms if eager else None, speedup_vs_eager=vs_eager,
                      config=cfg.replace(latency_budget_ms=lat_budget, max_model_mb=size_budget).to_dict(),
                      hardware={"fingerprint": self.profile.fingerprint, "summary": self.profile.summary()},
                      seconds=seconds, metric=det_plan.METRIC if self.detector else "top-1")

    def verify(self, report: Report) -> Report:
        if self.measurer is not None:
            return replace(report, log=(*report.log, "--verify skipped: candidates were measured on the device."))
        if report.estimated:
            return replace(report, log=(*report.log, "--verify skipped: latencies on this target are estimates."))
        valid = sorted((c for c in report.candidates if c.status in (Status.VALID, Status.CHOSEN) and c.p50_ms),
                       key=lambda c: c.p50_ms)[:3]
        items = [(self.models[c.key], c.backend, c.device, c.precision) for c in valid]
        self.say.begin(1.0)
        self.say("verifying", "re-measuring the top three", 0.93, units=0)
        res = bench_interleaved(items, self.config.seconds, self.say.cancel,
                                self.say.within("verifying", "", 0.93, 0.99, 0, keep_stage=False))
        again = {c.key: r.latency_ms["p50"] for c, r in zip(valid, res) if r.ok and r.latency_ms.get("p50")}
        line = rules.verify_line([c.key for c in valid if c.key in again], again)
        return replace(report, verified=again, log=(*report.log, line))


def _datasets(cfg: PlanConfig, model: Model, dataset: Any = None) -> tuple[Any, Any, Any, str]:
    """(calibration, validation, training, description).

    The data given wins; else the data the model's card names (``model.validation``).
    """
    spec = dataset if dataset is not None else cfg.data
    if spec is None and model.validation is not None:
        v = model.validation
        return _named_data(v.dataset, v.calibration, model, v.description or v.dataset)
    if spec is None:
        raise DataError(f"no validation data for {model.name}: pass data=DIR (--data DIR), a folder with one "
                        "sub-folder of images per class or a CSV of path,label rows (or name one in the model "
                        "card's \"validation\")")
    return _named_data(spec, cfg.calibration or paired_calibration(spec), model,
                       f"the {cfg.data} images" if cfg.data else None)


def _named_data(spec: Any, calibration: str | None, model: Model, what: str | None) -> tuple[Any, Any, Any, str]:
    """Validation = ``spec``; calibration (and training) = ``calibration``, else a stratified half of ``spec``."""
    size = image_size(model)
    full = open_dataset(spec, size)
    if calibration is not None:
        calib = open_dataset(calibration, size)
        return calib, full, calib, (f"Validation: {len(full)} images, {what}; calibration from the "
                                    f"{len(calib)} images of {calibration}.")
    where = what or f"the given dataset ({type(full).__name__})"
    if str(model.precision).startswith("int8"):  # already quantized: nothing to calibrate, every image validates
        return full, full, full, f"Data: {where}; all {len(full)} images validate (the model is already quantized)."
    calib, val, how = calibration_validation_split(full, seed=0)
    return calib, val, calib, f"Data: {where}; {how}."


def _dataset_fingerprint(dataset: Any) -> str:
    """A hash of an in-memory dataset's images and labels (for the plan cache key)."""
    import hashlib

    import numpy as np

    digest = hashlib.blake2b(digest_size=16)
    for image, label in dataset:
        digest.update(np.ascontiguousarray(image).tobytes())
        digest.update(str(label).encode())
    return digest.hexdigest()


def _to_onnx(model: Model, work: Path) -> Model:
    return as_onnx(model, work)


def _how(model: Model) -> str:
    s = model.metadata.get("compression", {})
    bits = []
    if "method" in s and "reduce_range" in s:  # onnxruntime's quantizer records it
        bits.append(f"reduce_range={s['reduce_range']}")
    if "overflow_fix" in s:  # NNCF's: 7-bit weights in every layer, or its default (the first layer only)
        bits.append(f"overflow_fix={s['overflow_fix']}")
    if s.get("calibration_samples"):
        bits.append(f"{s['calibration_samples']} calibration images")
    return f" ({', '.join(bits)})" if bits else ""


def _runner_up(best: Candidate, judged: list[Candidate], objective: str) -> str:
    """Name the next best valid candidate and the margin, saying when noise makes it untrustworthy."""
    others = sorted((c for c in judged if c.status == Status.VALID), key=lambda c: rules.score(c, objective))
    if not others or best.latency_ms is None or others[0].latency_ms is None:
        return ""
    nxt = others[0]
    margin = 100 * (nxt.latency_ms / best.latency_ms - 1)
    note = rules.margin_note(best, nxt)
    return f"Runner-up: {nxt.key} at {nxt.latency_text()} ({margin:+.1f}% latency{' -- ' + note if note else ''})."


def _why(best: Candidate, cfg: PlanConfig, vs_eager: float | None, gap: float, pct: float) -> str:
    lat = best.latency_text()
    parts = [f"Chose {best.key} for objective '{cfg.objective}': {lat}"]
    if best.speedup:
        parts.append(f"{best.speedup_text()} FP32 on {best.backend}")
    if vs_eager:
        parts.append(f"{vs_eager:.1f}x faster than PyTorch eager FP32")
    if best.drop is not None:
        lo, hi = best.drop_ci or (best.drop, best.drop)
        parts.append(f"accuracy drop {100 * best.drop:+.2f} points (95% CI {100 * lo:+.2f}..{100 * hi:+.2f})")
    parts.append(f"regret {gap:.3g} ms ({pct:.1f}%) vs the fastest valid candidate")
    return "; ".join(parts) + "."

