"""``plan``: build every candidate a target supports, measure, apply the rules, choose, explain.

The work is a generator (:func:`iter_plan`) that yields ``(fraction, message)``
between steps; :func:`plan` drives it, forwards progress to a callback and
honours a cancel request at every step (raising ``Cancelled``). The GUI runs
the same generator in a worker thread.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

from edgekit.errors import BudgetNotMet, Cancelled, DataError, EdgekitError, EdgekitWarning
from edgekit.models.model import Model
from edgekit.planner import cache as plan_cache
from edgekit.planner import rules
from edgekit.planner.build import BuildContext, Spec, build, specs_for, target_reduce_range, torch_twin
from edgekit.planner.config import PlanConfig
from edgekit.planner.measure import accuracy, bench_interleaved
from edgekit.planner.report import Candidate, Report
from edgekit.targets import Target, estimate_latency, load_target

Step = tuple[float, str]


def plan(
    model: Model | str | Path,
    target: str | Path | Target = "local",
    data: str | Path | None = None,
    max_accuracy_drop: float = 0.01,
    latency_budget_ms: float | None = None,
    max_model_mb: float | None = None,
    objective: str = "latency",
    progress: Callable[[float, str], None] | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
    cache: bool = True,
    verify: bool = False,
    *,
    config: PlanConfig | None = None,
    **options: Any,
) -> Report:
    """Find the fastest deployment of ``model`` on ``target`` that keeps accuracy, by measuring.

    Args:
        model: a ``Model`` or anything ``load_model`` takes ("demo:digits-mnv2", a path).
        target: "local" (measured here), a bundled target name, or a target YAML (estimated).
        data: labelled image folder, or a dataset of ``(image, label)`` (``edgekit.data``);
            half calibrates INT8, half validates; ``None`` for demo models.
        max_accuracy_drop: top-1 drop allowed vs FP32 (0.01 = 1 point).
        latency_budget_ms / max_model_mb: limits (``None``: the target's defaults).
        objective: "latency", "size", "accuracy" or "efficiency".
        progress: called as ``progress(fraction, message)`` after each step.
        cancel: an Event (or callable) checked between steps.
        cache: reuse a stored result for the same model/hardware/versions/settings.
        verify: re-measure the top three candidates to confirm their order.
        config: a full :class:`PlanConfig` (overrides the arguments above).
        **options: other ``PlanConfig`` fields (``methods``, ``seconds``, ``out``...).

    Returns:
        A :class:`Report`; ``report.best`` is the chosen :class:`Candidate`.

    Raises:
        BudgetNotMet: no candidate meets the budget (``exc.closest`` lists the nearest).
        Cancelled: ``cancel`` fired.
        DataError / TargetError / ModelLoadError: bad inputs, naming the fix.

    Example:
        >>> report = plan("demo:digits-mnv2", target="local")   # doctest: +SKIP
        >>> report.best.key, report.best.p50_ms                 # doctest: +SKIP
    """
    dataset = None if data is None or isinstance(data, (str, Path)) else data
    if config is None:
        name = model if isinstance(model, (str, Path)) else (model.path or model.name)
        config = PlanConfig(model=str(name), target=str(getattr(target, "name", target)),
                            data=None if data is None or dataset is not None else str(data),
                            max_accuracy_drop=max_accuracy_drop,
                            latency_budget_ms=latency_budget_ms, max_model_mb=max_model_mb, objective=objective,
                            verify=verify, cache=cache, **options)
    gen = iter_plan(config, model=model if isinstance(model, Model) else None,
                    target=target if isinstance(target, Target) else None, cancel=cancel, dataset=dataset)
    while True:
        _check(cancel)
        try:
            fraction, message = next(gen)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(fraction, message)


def _check(cancel) -> None:
    fired = cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel and cancel())
    if fired:
        raise Cancelled("planning cancelled by the user")


def iter_plan(config: PlanConfig, *, model: Model | None = None, target: Target | None = None,
              cancel: Any = None, dataset: Any = None) -> Generator[Step, None, Report]:
    """The planner as a generator of ``(fraction, message)``; its return value is the ``Report``.

    ``dataset`` (an in-memory dataset) takes the place of ``config.data``; its
    content is hashed into the cache key, so a different dataset re-measures.
    """
    from edgekit.hardware import profile_hardware
    from edgekit.models import load_model

    t0 = time.perf_counter()
    yield 0.0, f"loading {config.model}"
    model = model or load_model(config.model)
    target = target or load_target(config.target)
    profile = profile_hardware()
    settings = config.key_settings()
    if dataset is not None:
        settings = {**settings, "dataset": _dataset_fingerprint(dataset)}
    key = plan_cache.cache_key(model.sha256, profile.fingerprint, profile.versions, settings, target.to_dict())
    if config.cache:
        hit = plan_cache.load(key)
        if hit is not None:
            yield 1.0, "reusing the cached result (same model, hardware, versions and settings)"
            return _finish_cached(hit, config)
    state = _State(config, model, target, profile, key, dataset)
    yield from state.prepare()
    yield from state.build_all()
    yield from state.evaluate_all()
    yield from state.control_all()
    yield from state.time_all(cancel)
    report = state.decide(time.perf_counter() - t0)
    if config.verify:
        yield 0.95, "verifying the top three"
        report = state.verify(report, cancel)
    if config.out:
        report.save(config.out)
    if config.cache:
        plan_cache.store(key, report)
    yield 1.0, f"chose {report.best_key}"
    return report


def _finish_cached(report: Report, config: PlanConfig) -> Report:
    report = replace(report, cache_hit=True, log=(*report.log, "Result reused from the cache (--no-cache re-measures)."))
    if config.out:
        report.save(config.out)
    return report


class _State:
    """One planning run's working data (kept off the public API)."""

    def __init__(self, config: PlanConfig, model: Model, target: Target, profile: Any, key: str,
                 dataset: Any = None) -> None:
        self.config, self.model, self.target, self.profile, self.key = config, model, target, profile, key
        self.dataset = dataset
        self.log: list[str] = []
        self.cands: dict[str, Candidate] = {}
        self.models: dict[str, Model] = {}
        self.evals: dict[str, Any] = {}

    # ---- data + specs --------------------------------------------------------------
    def prepare(self) -> Generator[Step, None, None]:
        from edgekit.data import calibration_set

        cfg, t = self.config, self.target
        where = "measured on this machine" if t.is_local else "ESTIMATED from the target's published figures"
        self.log.append(f"Target {t.name}: latency {where}; accuracy is measured here on real images.")
        calib_ds, self.val_ds, self.train_ds, what = _datasets(cfg, self.model, self.dataset)
        self.log.append(what)
        yield 0.05, "preparing calibration data"
        methods_need_calib = any(m.startswith("int8") for m in cfg.methods)
        n = min(cfg.calibration_samples, len(calib_ds))
        feeds = calibration_set(calib_ds, self.model, n=n) if methods_need_calib else []
        self.twin = torch_twin(self.model)
        if self.twin is None:
            self.log.append("No PyTorch module for this model: no PyTorch-eager baseline, no pruning.")
        src = self.model if self.model.format.value == "onnx" else _to_onnx(self.model, self._work())
        self.ctx = BuildContext(src, self.twin, feeds, [], self.train_ds, self._work(),
                                reduce_range=target_reduce_range(t))
        self.specs = specs_for(t, cfg.methods, self.twin is not None)

    def _work(self) -> Path:
        if self.config.out:
            path = Path(self.config.out) / "models"
            path.mkdir(parents=True, exist_ok=True)
            return path
        return plan_cache.work_dir(self.key)

    # ---- build ---------------------------------------------------------------------
    def build_all(self) -> Generator[Step, None, None]:
        for i, spec in enumerate(self.specs):
            yield 0.1 + 0.3 * i / max(1, len(self.specs)), f"building {spec.key}"
            start = time.perf_counter()
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", EdgekitWarning)
                    built = build(spec, self.ctx)
            except EdgekitError as exc:
                self._fail(spec, f"could not build: {exc}")
                continue
            finally:
                self._note_warnings(spec, caught)
            self.models[spec.key] = built
            self.cands[spec.key] = Candidate(spec.key, spec.backend, spec.device, spec.precision, spec.method,
                                             built.to_dict(), size_mb=built.size_bytes / 2**20, model_obj=built)
            if spec.method not in ("fp32", "eager"):
                self.log.append(f"Built {spec.key} in {time.perf_counter() - start:.1f} s{_how(built)}.")

    def _note_warnings(self, spec: Spec, caught: list) -> None:
        """Warnings while building go to the decision log (once each), not to stderr."""
        for w in caught:
            line = f"Warning while building {spec.key}: {w.message}"
            if issubclass(w.category, EdgekitWarning) and not any(str(w.message) in s for s in self.log):
                self.log.append(line)

    def _fail(self, spec: Spec, reason: str) -> None:
        self.cands[spec.key] = Candidate(spec.key, spec.backend, spec.device, spec.precision, spec.method, {},
                                         status="failed", reasons=(reason,))
        self.log.append(f"{spec.key}: {reason}")

    # ---- accuracy ------------------------------------------------------------------
    def evaluate_all(self) -> Generator[Step, None, None]:
        yield 0.4, "measuring FP32 accuracy (the reference)"
        ref = accuracy(self.ctx.source, self.val_ds, "onnxruntime", "cpu", "fp32")
        self.evals[(self.ctx.source.sha256, "onnxruntime", "fp32")] = ref
        ref_ok = self.ref_ok = [p == y for p, y in zip(ref.predictions, ref.labels)]
        self.ref_accuracy = ref.metrics.accuracy
        live = [k for k, c in self.cands.items() if c.status != "failed"]
        for i, k in enumerate(live):
            c = self.cands[k]
            yield 0.4 + 0.3 * i / max(1, len(live)), f"measuring accuracy of {k}"
            memo = (self.models[k].sha256, c.backend, c.precision)
            try:
                res = self.evals.get(memo) or accuracy(self.models[k], self.val_ds, c.backend, c.device, c.precision)
                self.evals[memo] = res
            except EdgekitError as exc:
                self.cands[k] = rules.reject(replace(c, status="failed"), f"could not run: {exc}")
                continue
            drop, ci = rules.paired_drop(ref_ok, [p == y for p, y in zip(res.predictions, res.labels)])
            m = res.metrics
            self.cands[k] = replace(c, accuracy=m.accuracy, accuracy_ci=tuple(m.accuracy_ci), n=m.n, drop=drop,
                                    drop_ci=ci)

    # ---- accuracy control ----------------------------------------------------------
    def control_all(self) -> Generator[Step, None, None]:
        """INT8 over the drop budget: keep its most sensitive layers float (a new "int8-ac" candidate)."""
        budget = self.config.max_accuracy_drop
        over = [c for c in list(self.cands.values())
                if c.method == "int8" and c.drop is not None and c.drop > budget and c.backend in ("onnxruntime", "openvino")]
        for c in over:
            yield 0.7, f"INT8 on {c.backend} drops {100 * c.drop:.2f} points: keeping sensitive layers in float"
            key = f"{c.backend}/{c.device}/int8-ac"
            try:
                built = self._controlled(c, budget)
            except EdgekitError as exc:
                self.log.append(f"Accuracy-controlled INT8 on {c.backend} did not fit the budget: {exc}")
                continue
            self.models[key] = built.model
            cand = Candidate(key, c.backend, c.device, c.precision, "int8-ac", built.model.to_dict(),
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

    def _controlled(self, c: Candidate, budget: float):
        from edgekit.compress.accuracy_control import quantize_openvino_controlled, quantize_ort_controlled

        pre, name = self.ctx.source.preprocess, self.ctx.source.input.name
        pairs = [({name: pre(img)}, label) for img, label in self.val_ds]
        out = self.ctx.work / f"{c.backend}-int8-ac"
        fn = quantize_openvino_controlled if c.backend == "openvino" else quantize_ort_controlled
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", EdgekitWarning)
            result = fn(self.ctx.source, self.ctx.calibration, pairs, out, max_drop=budget, force=True)
        self._note_warnings(Spec(c.backend, c.device, c.precision, "int8-ac"), caught)
        return result

    # ---- latency -------------------------------------------------------------------
    def time_all(self, cancel: Any) -> Generator[Step, None, None]:
        live = [k for k, c in self.cands.items() if c.status != "failed"]
        if not self.target.is_local:
            yield 0.75, "estimating latency on the target"
            for k in live:
                self._estimate(k)
            return
        yield 0.75, f"benchmarking {len(live)} candidates, interleaved ({self.config.seconds:g} s each)"
        items = [(self.models[k], self.cands[k].backend, self.cands[k].device, self.cands[k].precision) for k in live]
        for k, r in zip(live, bench_interleaved(items, self.config.seconds, cancel)):
            c = self.cands[k]
            if r.ok and r.latency_ms.get("p50"):
                ci = r.ci_rel if r.ci_rel is not None and math.isfinite(r.ci_rel) else None
                self.cands[k] = replace(c, p50_ms=r.latency_ms["p50"], p90_ms=r.latency_ms.get("p90"), ci_rel=ci)
            elif r.ok:
                self.cands[k] = rules.reject(replace(c, status="failed"),
                                             "no timed run completed (machine too busy?); re-run with more seconds")
            else:
                self.cands[k] = rules.reject(replace(c, status="failed"), f"benchmark {r.status}: {r.reason}")

    def _estimate(self, k: str) -> None:
        c, m = self.cands[k], self.models[k]
        flops = m.flops or self.model.flops
        if not flops:
            self.cands[k] = rules.reject(c, "FLOPs unknown: cannot estimate latency on a target that is not here")
            return
        try:
            est = estimate_latency(self.target, flops=flops, weight_bytes=m.size_bytes, device=c.device,
                                   precision=c.precision, backend=c.backend)
        except EdgekitError as exc:
            self.cands[k] = rules.reject(c, str(exc))
            return
        self.cands[k] = replace(c, estimate=est)

    # ---- decide --------------------------------------------------------------------
    def decide(self, seconds: float) -> Report:
        cfg, t = self.config, self.target
        lat_budget = cfg.latency_budget_ms if cfg.latency_budget_ms is not None else t.budgets.latency_ms
        size_budget = cfg.max_model_mb if cfg.max_model_mb is not None else t.budgets.model_mb
        isa = self.target.isa
        fp32 = {(c.backend, c.device): c for c in self.cands.values() if c.method == "fp32"}
        judged = []
        for c in self.cands.values():
            if c.status == "failed":
                judged.append(c)
                continue
            c = rules.never_slower(c, fp32.get((c.backend, c.device)), isa)
            c = rules.accuracy_rule(c, cfg.max_accuracy_drop)
            judged.append(rules.budget_rule(c, lat_budget, size_budget))
        for c in judged:
            if c.status in ("rejected",):
                self.log.append(f"Rejected {c.key}: {'; '.join(c.reasons)}.")
        try:
            best = rules.choose(judged, cfg.objective)
        except BudgetNotMet as exc:
            self.log.append(str(exc))
            raise
        judged = [replace(c, status="chosen") if c.key == best.key else c for c in judged]
        gap, pct = rules.regret(best, judged)
        eager = next((c for c in judged if c.method == "eager" and c.p50_ms), None)
        vs_eager = eager.p50_ms / best.p50_ms if eager and best.p50_ms else None
        self.log.append(_why(best, cfg, vs_eager, gap, pct))
        runner = _runner_up(best, judged, cfg.objective)
        if runner:
            self.log.append(runner)
        return Report(self.model.name, self.model.sha256, t.name, not t.is_local, tuple(judged), best.key,
                      tuple(self.log), gap, pct, {}, eager.p50_ms if eager else None, vs_eager, cfg.to_dict(),
                      {"fingerprint": self.profile.fingerprint, "summary": self.profile.summary()}, seconds)

    def verify(self, report: Report, cancel: Any) -> Report:
        if report.estimated:
            return replace(report, log=(*report.log, "--verify skipped: latencies on this target are estimates."))
        valid = sorted((c for c in report.candidates if c.status in ("valid", "chosen") and c.p50_ms),
                       key=lambda c: c.p50_ms)[:3]
        items = [(self.models[c.key], c.backend, c.device, c.precision) for c in valid]
        res = bench_interleaved(items, self.config.seconds, cancel)
        again = {c.key: r.latency_ms["p50"] for c, r in zip(valid, res) if r.ok and r.latency_ms.get("p50")}
        line = rules.verify_line([c.key for c in valid if c.key in again], again)
        return replace(report, verified=again, log=(*report.log, line))


def _datasets(cfg: PlanConfig, model: Model, dataset: Any = None) -> tuple[Any, Any, Any, str]:
    """(calibration, validation, training, description)."""
    from edgekit.data import demo_digits, open_dataset, stratified_split
    from edgekit.data.spec import DEMO_NAMES, image_size, is_demo_name

    size = image_size(model)

    if is_demo_name(cfg.data):  # the bundled digits: keep the training split for calibration
        train, test = demo_digits("train", size), demo_digits(DEMO_NAMES[cfg.data], size)
        return train, test, train, (f"Validation: the {len(test)} {cfg.data} images; calibration from the "
                                    f"{len(train)}-image training split.")
    if dataset is not None or cfg.data:
        full = open_dataset(dataset if dataset is not None else cfg.data)
        calib, val = stratified_split(full, 0.5, seed=0)
        where = cfg.data or f"the given dataset ({type(full).__name__})"
        return calib, val, calib, (f"Data {where}: {len(val)} images validate, {len(calib)} calibrate "
                                   "(stratified half/half, no overlap).")
    if model.name.startswith("demo:digits") or str(cfg.model).startswith("demo:digits"):
        train, test = demo_digits("train", size), demo_digits("test", size)
        return train, test, train, (f"Validation: the {len(test)} held-out real handwritten digits "
                                    f"(never trained on); calibration from the {len(train)}-image training split.")
    raise DataError(f"no validation data for {model.name}: pass data=DIR (--data DIR), a folder with one "
                    "sub-folder of images per class")


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
    from edgekit.compress._common import as_onnx

    return as_onnx(model, work)


def _how(model: Model) -> str:
    s = model.metadata.get("compression", {})
    bits = []
    if "method" in s and s.get("backend") == "onnxruntime" and "reduce_range" in s:
        bits.append(f"reduce_range={s['reduce_range']}")
    if s.get("calibration_samples"):
        bits.append(f"{s['calibration_samples']} calibration images")
    return f" ({', '.join(bits)})" if bits else ""


def _runner_up(best: Candidate, judged: list[Candidate], objective: str) -> str:
    """Name the next best valid candidate and the margin, saying when noise makes it untrustworthy."""
    others = sorted((c for c in judged if c.status == "valid"), key=lambda c: rules.score(c, objective))
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
        parts.append(f"{best.speedup:.2f}x FP32 on {best.backend}")
    if vs_eager:
        parts.append(f"{vs_eager:.1f}x faster than PyTorch eager FP32")
    if best.drop is not None:
        lo, hi = best.drop_ci or (best.drop, best.drop)
        parts.append(f"accuracy drop {100 * best.drop:+.2f} points (95% CI {100 * lo:+.2f}..{100 * hi:+.2f})")
    parts.append(f"regret {gap:.3g} ms ({pct:.1f}%) vs the fastest valid candidate")
    return "; ".join(parts) + "."

