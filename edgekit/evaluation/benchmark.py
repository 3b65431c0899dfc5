"""``bench``: an honest latency/throughput benchmark of one model on several backends.

How it measures, and why:

- every combination (backend x device x precision) is compiled first; cold
  start = compile + first inference;
- warm-up runs until the latency settles (the median of the last runs stops
  moving), not a fixed count: caches, allocators and thread pools differ;
- timed runs continue until the ~95% confidence interval of the median is
  within ``ci_target`` of it, or the time budget runs out;
- several combinations are run **interleaved** (A B C A B C ...), so drift on
  a shared, noisy machine hits all of them alike. Each turn is a short burst
  (``slice_seconds``) rather than one call, and the first call of a burst is
  not timed. Interleaved combinations share the CPU, so each is compiled
  with its backend's ``shared_cpu_options`` (unless options are given):
  onnxruntime's threads otherwise spin on for ~35 ms after the last call of a
  burst - most of the next 50 ms burst, one core taken from whichever
  combination runs next (measured here: 1.2x its latency; an OpenVINO FP16
  copy "1.2x faster" than the FP32 it computes exactly like). Threads that
  spin only during a call cost a few per cent of a tight loop's latency
  (waking them per call), alike for every onnxruntime combination;
- a combination that cannot run here becomes a result with
  ``status="unavailable"`` and the reason, never an exception.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from edgekit import __version__
from edgekit._io import write_text_atomic
from edgekit.backends import capabilities, compile_session, get_backend, list_backends
from edgekit.backends.parity import random_inputs
from edgekit.errors import BackendUnavailable, DataError, EdgekitError
from edgekit.evaluation import stats
from edgekit.hardware.versions import RUNTIMES, dist_version
from edgekit.models.model import Model
from edgekit.progress import Cancel, Progress, StageClock, check_cancel, emit

__all__ = [
    "BenchResult",
    "BenchSettings",
    "bench",
    "bench_items",
    "bench_manifest",
    "load_results",
    "save_results",
]

MODES = ("latency", "throughput")


@dataclass(frozen=True)
class BenchSettings:
    """How to measure.

    Attributes:
        mode: "latency" (one synchronous request at a time) or "throughput"
            (``requests`` in flight through the backend's async/streams path).
        seconds: time budget of the timed phase, per combination.
        warmup_seconds: most time spent warming up, per combination.
        min_runs: timed runs before the confidence interval may stop early.
        max_runs: timed runs at most, per combination.
        ci_target: stop when the median's CI half-width / median is at most this.
        batch: batch size of each request (dynamic batch dims only).
        requests: throughput mode: requests per call; ``None`` = the backend's optimum.
        seed: seed of the random input.
        slice_seconds: length of one interleaved burst; 0 = strictly one call per turn.
        gap_seconds: idle pause after each burst, so the runtime that ran parks its
            spinning threads before the next one starts (not counted as time spent).
        race_after: a race (the planner): once a combination has spent this share of ``seconds``,
            it stops when its median's interval lies wholly above the fastest one's (it cannot be
            the fastest), and the fastest stops when no rival is left; ``None``: every
            combination runs its budget (``edgekit bench``).
    """

    mode: str = "latency"
    seconds: float = 5.0
    warmup_seconds: float = 2.0
    min_runs: int = 10
    max_runs: int = 100_000
    ci_target: float = 0.01
    batch: int = 1
    requests: int | None = None
    seed: int = 0
    slice_seconds: float = 0.05
    gap_seconds: float = 0.0
    race_after: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> BenchSettings:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


@dataclass(frozen=True)
class BenchResult:
    """One combination's measurement (or why it could not be measured).

    Attributes:
        model / backend / device / precision: what was measured (precision as run).
        status: "ok", "unavailable" (cannot run here; see ``reason``) or "failed".
        reason: why not "ok".
        mode: "latency" or "throughput".
        latency_ms: p50, p90, p95, p99, min, max, mean, std of timed calls (ms).
        runs / warmup_runs: timed and warm-up calls made.
        ci_rel: half-width of the median's ~95% CI / median (None with under 3 timed runs).
        throughput_fps: images per second (sync in latency mode, async in throughput mode).
        requests: requests per timed call (1 in latency mode).
        cold_start_ms / compile_ms / first_run_ms: load + compile + first inference.
        peak_rss_mb: peak resident memory of this process so far.
        model_size_mb: model files on disk.
        gflops: achieved GFLOP/s from the model's FLOPs, when known.
        peak_share: ``gflops`` / the machine's measured peak, when both are known.
        info: the session's :class:`~edgekit.backends.SessionInfo` as a dict.
        settings: the :class:`BenchSettings` used.
    """

    model: str
    backend: str
    device: str
    precision: str
    status: str = "ok"
    reason: str = ""
    mode: str = "latency"
    latency_ms: dict[str, float] = field(default_factory=dict)
    runs: int = 0
    warmup_runs: int = 0
    ci_rel: float | None = None
    throughput_fps: float | None = None
    requests: int = 1
    cold_start_ms: float | None = None
    compile_ms: float | None = None
    first_run_ms: float | None = None
    peak_rss_mb: float | None = None
    model_size_mb: float | None = None
    gflops: float | None = None
    peak_share: float | None = None
    info: dict = field(default_factory=dict)
    settings: BenchSettings = field(default_factory=BenchSettings)

    @property
    def ok(self) -> bool:
        """True when measured."""
        return self.status == "ok"

    @property
    def p50_ms(self) -> float | None:
        """Median latency in ms."""
        return self.latency_ms.get("p50")

    def to_dict(self) -> dict:
        """JSON-ready dict (infinite CI written as null)."""
        data = asdict(self)
        data["settings"] = self.settings.to_dict()
        if self.ci_rel is not None and not math.isfinite(self.ci_rel):
            data["ci_rel"] = None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> BenchResult:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["settings"] = BenchSettings.from_dict(data.get("settings", {}))
        return cls(**data)


@dataclass
class _Run:
    """Mutable state of one combination while it is measured."""

    result: BenchResult
    session: Any = None
    call: Callable[[], Any] | None = None
    drain: Callable[[], Any] | None = None  # pipelined throughput: wait for what ``call`` queued
    warm: list[float] = field(default_factory=list)
    timed: list[float] = field(default_factory=list)
    switch: list[float] = field(default_factory=list)
    spent: float = 0.0
    burst: int = 1
    next_check: int = 0
    done: bool = False
    error: str = ""


def bench(
    model: Any,
    backends: list[str] | None = None,
    devices: list[str] | None = None,
    precisions: list[str] | None = None,
    mode: str = "latency",
    seconds: float = 5.0,
    warmup: float = 2.0,
    settings: BenchSettings | None = None,
    options: dict[str, Any] | None = None,
    profile: Any = None,
    progress: Progress | None = None,
    cancel: Cancel = None,
    combos: list[tuple[str, str, str]] | None = None,
) -> list[BenchResult]:
    """Measure ``model`` on every backend x device x precision, interleaved.

    Args:
        model: an :class:`edgekit.models.Model`, or a path or name ``load_model`` takes ("demo:digits").
        backends: names; ``None`` = every registered backend.
        devices: devices for every backend; ``None`` = "cpu" for each, plus the
            torch CUDA path (reported unavailable, with the reason, without a GPU).
        precisions: ``None`` = the precision the model is stored in.
        mode: "latency" or "throughput" (ignored when ``settings`` is given).
        seconds: timed budget per combination (ignored when ``settings`` is given).
        warmup: warm-up budget per combination (ignored when ``settings`` is given).
        settings: full :class:`BenchSettings`.
        options: backend name -> its options dataclass.
        profile: a ``HardwareProfile`` (for the peak-GFLOP/s share); ``None`` = none.
        progress: receives :class:`~edgekit.progress.ProgressEvent` s (stages "compiling",
            "warming up", "benchmarking"); may raise ``Cancelled``.
        cancel: a ``CancelToken``, a ``threading.Event`` or a callable returning True, to stop early.
        combos: explicit ``(backend, device, precision)`` triples instead of the
            product of ``backends`` x ``devices`` x ``precisions``.

    Returns:
        One :class:`BenchResult` per combination, in the order asked.

    Raises:
        Cancelled: when ``cancel`` fired.
        BackendUnavailable: an unknown backend name (with a did-you-mean hint).

    Example:
        >>> results = bench(model, ["onnxruntime", "openvino"], seconds=2)   # doctest: +SKIP
        >>> [round(r.p50_ms, 2) for r in results if r.ok]                     # doctest: +SKIP
    """
    if isinstance(model, (str, os.PathLike)):  # as evaluate(), deploy() and plan() take a path or a name
        from edgekit.models.load import load_model

        model = load_model(model)
    if not isinstance(model, Model):  # bench(None) was an AttributeError deep inside
        raise TypeError(f"bench expects an edgekit Model or a model path (edgekit.load_model(path) makes one), "
                        f"not {type(model).__name__}")
    settings = settings or BenchSettings(mode=mode, seconds=seconds, warmup_seconds=warmup)
    if combos is None:
        names = [get_backend(b).name for b in backends or list_backends()]  # a typo raises, with a hint
        combos = _combos(model, names, devices, precisions)
    else:
        combos = [(get_backend(b).name, d, p) for b, d, p in combos]
    items = [(model, b, d, p) for b, d, p in combos]
    return bench_items(items, settings, options=options, profile=profile, progress=progress, cancel=cancel)


def bench_items(
    items: list[tuple[Any, str, str, str]],
    settings: BenchSettings | None = None,
    options: dict[str, Any] | None = None,
    profile: Any = None,
    progress: Progress | None = None,
    cancel: Cancel = None,
) -> list[BenchResult]:
    """Measure several ``(model, backend, device, precision)`` items interleaved.

    The same procedure as :func:`bench` (which calls this), for items that may
    be different models, e.g. a planner's candidates (fp32, fp16, int8 copies).

    Returns:
        One :class:`BenchResult` per item, in order.

    Raises:
        Cancelled: when ``cancel`` fired.
    """
    settings = settings or BenchSettings()
    runs = [_Run(BenchResult(m.name, b, d, p, mode=settings.mode, settings=settings)) for m, b, d, p in items]
    try:
        for i, (run, (model, *_)) in enumerate(zip(runs, items)):
            _check(cancel)
            emit(progress, "compiling", f"{run.result.backend} on {run.result.device}", done=i, total=len(runs),
                 fraction=0.2 * i / len(runs))
            _prepare(run, model, settings, (options or {}).get(run.result.backend), shared=len(runs) > 1)
        _warm_up(runs, settings, cancel, progress)
        _measure(runs, settings, cancel, progress)
    finally:
        for run in runs:
            if run.session is not None:
                run.session.close()
    emit(progress, "benchmarking", "done", fraction=1.0)
    return [_finish(run, model, settings, profile) for run, (model, *_) in zip(runs, items)]


def _combos(
    model: Any, backends: list[str], devices: list[str] | None, precisions: list[str] | None
) -> list[tuple[str, str, str]]:
    precs = precisions or [str(model.precision)]
    combos = [(b, d, p) for b in backends for d in (devices or ["cpu"]) for p in precs]
    if devices is None:  # the devices a backend declares worth trying (torch's CUDA path), at a precision it runs
        for b in backends:
            caps = capabilities(b)
            combos += [(b, d, p if caps.runs(p) else "fp32") for d in caps.bench_devices for p in precs]
    return combos


def _check(cancel: Cancel) -> None:
    check_cancel(cancel, "benchmark cancelled by the user")


def _prepare(run: _Run, model: Any, settings: BenchSettings, options: Any, shared: bool = False) -> None:
    """Compile, make the input, time the first inference; mark unavailable combos.

    ``shared``: other combinations run interleaved with this one (see the module's docstring)."""
    r = run.result
    caps = capabilities(r.backend)
    if options is None:
        fields = dict(caps.throughput_options) if settings.mode == "throughput" else {}  # e.g. OpenVINO's hint
        fields.update(caps.shared_cpu_options if shared else {})  # e.g. onnxruntime: no spinning after a call
        options = caps.make_options(**fields) if fields else None
    try:
        feed = _input(model, settings)
        start = time.perf_counter()
        session = compile_session(model, r.backend, r.device, r.precision, options)
        compiled = time.perf_counter()
        run.session = session
        requests = settings.requests or getattr(session, "optimal_requests", None) or 1
        if settings.mode == "throughput":
            batches = [feed] * requests
            run.call = lambda: session.run_many(batches)
            if hasattr(session, "submit_many"):  # keep the queue full across calls (see _burst)
                run.call, run.drain = (lambda: session.submit_many(batches)), session.drain
        else:
            requests = 1
            run.call = lambda: session.run(feed)
        run.call()
        if run.drain is not None:
            run.drain()
        first = time.perf_counter()
    except EdgekitError as exc:
        status = "unavailable" if isinstance(exc, BackendUnavailable) else "failed"
        run.result, run.done = replace(r, status=status, reason=str(exc)), True
        return
    except Exception as exc:  # noqa: BLE001 - a runtime crash on one combo must not end the others
        run.result, run.done = replace(r, status="failed", reason=f"{type(exc).__name__}: {exc}"), True
        return
    run.result = replace(
        r,
        precision=session.info.precision,
        device=session.info.device,
        requests=requests,
        compile_ms=(compiled - start) * 1e3,
        first_run_ms=(first - compiled) * 1e3,
        cold_start_ms=(first - start) * 1e3,
        info=session.info.to_dict(),
    )


def _timed_call(run: _Run, whole: bool = False) -> float:
    """One call of ``run``; its duration in ms (a runtime error ends this combo only).

    ``whole``: a pipelined call also waits for what it queued (warm-up: a call's full cost)."""
    start = time.perf_counter()
    try:
        run.call()
        if whole and run.drain is not None:
            run.drain()
    except Exception as exc:  # noqa: BLE001 - recorded as this combination's failure
        run.error, run.done = f"{type(exc).__name__}: {exc}", True
    elapsed = time.perf_counter() - start
    run.spent += elapsed
    return elapsed * 1e3


def _warm_up(runs: list[_Run], settings: BenchSettings, cancel: Cancel, progress: Progress | None) -> None:
    """Interleaved warm-up until each combination's latency settles (or its budget is spent);
    then size each combination's burst from its settled median."""
    active = [r for r in runs if not r.done]
    while active:
        _check(cancel)
        for run in active:
            run.warm.append(_timed_call(run, whole=True))
        active = [
            r
            for r in active
            if not r.done and not stats.settled(r.warm) and r.spent < settings.warmup_seconds
        ]
        settled = len(runs) - len(active)
        emit(progress, "warming up", f"{settled}/{len(runs)} settled", done=settled, total=len(runs),
             fraction=0.2 + 0.1 * settled / max(1, len(runs)))
    for run in runs:
        run.spent = 0.0
        if run.warm and settings.slice_seconds > 0:
            typical = max(1e-3, sorted(run.warm[-5:])[len(run.warm[-5:]) // 2])
            run.burst = max(1, min(200, int(settings.slice_seconds * 1e3 / typical)))
        if run.drain is not None:  # the first call of a burst only fills the queue: never timed
            run.burst = max(3, run.burst)


def _measure(runs: list[_Run], settings: BenchSettings, cancel: Cancel, progress: Progress | None) -> None:
    """Interleaved timed bursts (A B C A B C ...) until each median is tight or time is up."""
    active = [r for r in runs if not r.done]
    total = max(1e-9, settings.seconds * len(active))
    clock = StageClock(total)
    while active:
        _check(cancel)
        for run in active:
            _burst(run, settings)
            if settings.gap_seconds > 0 and len(active) > 1:
                time.sleep(settings.gap_seconds)
        active = [r for r in active if not r.done and not _enough(r, settings)]
        if settings.race_after is not None:
            active = _race(runs, active, settings)
        spent = sum(r.spent for r in runs)
        share = min(1.0, spent / total)
        emit(progress, "benchmarking", f"{sum(len(r.timed) for r in runs)} timed runs", done=round(share * 100),
             total=100, fraction=0.3 + 0.7 * share, eta_s=clock.eta(min(spent, total)))


def _burst(run: _Run, settings: BenchSettings) -> None:
    """``run.burst`` calls in a row; the first is kept apart when the burst is long enough.

    A pipelined (throughput) call returns once its requests are queued, so in a burst
    each timed call lasts as long as the runtime takes to finish as many requests: the
    queue never drains between calls. It is drained, untimed, when the burst ends so the
    next combination starts on idle cores."""
    try:
        for j in range(run.burst):
            elapsed = _timed_call(run)
            (run.switch if j == 0 and run.burst >= 3 else run.timed).append(elapsed)
            if run.done or (run.timed and run.spent >= settings.seconds):
                return
    finally:
        if run.drain is not None and not run.done:
            run.drain()


def _race(runs: list[_Run], active: list[_Run], settings: BenchSettings) -> list[_Run]:
    """``active`` less the combinations that cannot be the fastest any more (see ``race_after``).

    Why: a planner needs the fastest candidate's time to be exact, and the others only clearly
    slower; measuring a candidate whose interval already lies above the leader's for the whole
    budget spends time on a ranking nobody reads. A rival whose interval still overlaps the
    leader's keeps running (and the planner re-measures such ties longer)."""
    floor = settings.seconds * settings.race_after
    intervals = {id(r): stats.median_ci(r.timed) for r in runs if not r.error and len(r.timed) >= settings.min_runs}
    if not intervals:
        return active
    lead = min((r for r in runs if id(r) in intervals), key=lambda r: intervals[id(r)][0])
    lead_high = intervals[id(lead)][2]
    rivals = [r for r in active if r is not lead]
    keep = []
    for run in active:
        ready = run.spent >= floor and id(run) in intervals
        if ready and run is not lead and intervals[id(run)][1] > lead_high:
            continue  # wholly slower than the leader
        if ready and run is lead and not rivals:
            continue  # nobody left to race
        keep.append(run)
    return keep


def _enough(run: _Run, settings: BenchSettings) -> bool:
    n = len(run.timed)
    if n and (n >= settings.max_runs or run.spent >= settings.seconds):  # >= 1 timed run, even after a hiccup
        return True
    if n < max(settings.min_runs, run.next_check):
        return False
    run.next_check = n + max(5, n // 10)  # the CI costs a sort: check now and then
    return stats.relative_ci(run.timed) <= settings.ci_target


def _finish(run: _Run, model: Any, settings: BenchSettings, profile: Any) -> BenchResult:
    r = run.result
    size = round(model.size_bytes / 2**20, 3) if model.path is not None else None
    if r.status != "ok":
        return replace(r, model_size_mb=size)
    if run.error or not run.timed:
        return replace(r, status="failed", reason=run.error or "no timed run completed", model_size_mb=size)
    lat = stats.percentiles(run.timed)
    images = r.requests * settings.batch
    fps = images * len(run.timed) / (sum(run.timed) / 1e3)
    gflops = fps * model.flops / 1e9 if fps and model.flops else None
    peak = getattr(profile, "peak_gflops", None)
    return replace(
        r,
        latency_ms=lat,
        runs=len(run.timed),
        warmup_runs=len(run.warm),
        ci_rel=_finite(stats.relative_ci(run.timed)),
        throughput_fps=fps,
        peak_rss_mb=peak_rss_mb(),
        model_size_mb=size,
        gflops=gflops,
        peak_share=gflops / peak if gflops and peak else None,
    )


def _finite(value: float) -> float | None:
    """``None`` for an unknown (infinite) CI, so results survive a JSON round trip."""
    return value if math.isfinite(value) else None


def _input(model: Any, settings: BenchSettings) -> dict:
    """One seeded input batch of ``settings.batch`` images."""
    feed = random_inputs(model, 1, settings.seed)[0]
    if settings.batch == 1:
        return feed
    out = {}
    for spec in model.inputs:
        if isinstance(spec.shape[0], int) and spec.shape[0] > 0 and spec.shape[0] != settings.batch:
            raise BackendUnavailable(
                f"input {spec.name!r} has a fixed batch of {spec.shape[0]}; "
                f"batch {settings.batch} needs a dynamic batch dim"
            )
        out[spec.name] = feed[spec.name].repeat(settings.batch, axis=0)
    return out


# ---- results on disk: JSON with a reproducibility manifest ------------------------


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process in MiB (``None`` where the OS cannot tell)."""
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return round(peak / 2**20 if sys.platform == "darwin" else peak / 2**10, 1)
    except (ImportError, OSError):
        try:
            import psutil

            info = psutil.Process().memory_info()
            return round(getattr(info, "peak_wset", info.rss) / 2**20, 1)
        except ImportError:
            return None


def bench_manifest(settings: BenchSettings | None = None, profile: Any = None) -> dict:
    """What a reader needs to reproduce a benchmark: machine, versions, settings, time."""
    import datetime
    import platform

    manifest = {
        "edgekit": __version__,
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": _versions(),
        "settings": None if settings is None else settings.to_dict(),
        "hardware": None,
    }
    if profile is not None and hasattr(profile, "to_dict"):
        manifest["hardware"] = profile.to_dict()
    return manifest


def _versions() -> dict[str, str | None]:
    """The runtimes' versions, as the hardware profile finds them (onnxruntime-gpu & co. included)."""
    return {key: dist_version(*RUNTIMES[key]) for key in ("numpy", "onnx", "onnxruntime", "openvino", "torch")}


def save_results(results: list[BenchResult], path: Any, profile: Any = None, force: bool = False) -> Any:
    """Write ``{"manifest": ..., "results": [...]}`` to ``path`` atomically; return the path.

    Raises:
        OutputExists: ``path`` exists and ``force`` is false.
    """
    import json

    settings = results[0].settings if results else None
    data = {"manifest": bench_manifest(settings, profile), "results": [r.to_dict() for r in results]}
    return write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n", force=force)


def load_results(path: Any) -> tuple[list[BenchResult], dict]:
    """Read what :func:`save_results` wrote: ``(results, manifest)``.

    Raises:
        DataError: the file is missing or not a benchmark JSON.
    """
    import json
    from pathlib import Path

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [BenchResult.from_dict(r) for r in data["results"]], data.get("manifest", {})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"{path} is not a benchmark result file written by edgekit ({exc})", path=path
        ) from exc

