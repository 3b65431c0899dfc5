"""bench(): sane numbers, interleaving, unavailable combos as results, JSON round trip,
progress and cancel. No timing assertions: only orderings and invariants."""

from __future__ import annotations

import json
import math
import threading

import pytest

import edgekit.evaluation.benchmark as bench_module
from edgekit.errors import Cancelled
from edgekit.evaluation import stats
from edgekit.evaluation.benchmark import BenchResult, BenchSettings, bench, load_results, save_results

QUICK = {"seconds": 0.3, "warmup": 0.2}


@pytest.fixture(scope="module")
def default_results(zoo_models):
    return bench(zoo_models["tinycnn"], **QUICK)


def test_default_bench_covers_three_backends_and_a_cuda_row(default_results):
    combos = [(r.backend, r.device.lower()) for r in default_results]
    assert combos == [("onnxruntime", "cpu"), ("openvino", "cpu"), ("torch", "cpu"), ("torch", "cuda")]
    assert all(r.ok for r in default_results[:3]), [r.reason for r in default_results]


def test_results_are_sane(default_results):
    for r in (r for r in default_results if r.ok):
        lat = r.latency_ms
        assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]
        assert r.runs >= 1 and r.warmup_runs >= 1 and r.requests == 1
        assert r.throughput_fps > 0 and r.cold_start_ms >= r.compile_ms > 0
        assert math.isclose(r.cold_start_ms, r.compile_ms + r.first_run_ms, rel_tol=1e-6)
        assert r.model_size_mb > 0 and r.peak_rss_mb > 0
        assert r.gflops > 0 and r.peak_share is None  # no hardware profile given
        assert r.info["backend"] == r.backend and r.precision == "fp32"


def test_cuda_row_is_unavailable_with_a_reason_without_a_gpu(default_results):
    cuda = default_results[-1]
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    assert cuda.status == "unavailable" and "CUDA is not available" in cuda.reason
    assert cuda.runs == 0 and cuda.latency_ms == {}


def test_unavailable_combos_are_results_not_exceptions(onnx_only):
    results = bench(onnx_only, ["openvino", "torch", "onnxruntime"], devices=["npu"], **QUICK)
    assert [r.status for r in results] == ["unavailable"] * 3
    assert "no NPU device" in results[0].reason
    assert "no PyTorch module" in results[1].reason or "npu" in results[1].reason
    assert "onnxruntime knows no device" in results[2].reason


class _Logged:
    """Wraps a real session and records each call in a shared log."""

    def __init__(self, session, log):
        self._session, self._log = session, log
        self.info, self.model = session.info, session.model

    def run(self, inputs):
        self._log.append(self.info.backend)
        return self._session.run(inputs)

    def close(self):
        self._session.close()


def test_backends_are_interleaved(tiny, monkeypatch):
    log: list[str] = []
    real = bench_module.compile_session
    monkeypatch.setattr(bench_module, "compile_session", lambda *a, **k: _Logged(real(*a, **k), log))
    settings = BenchSettings(seconds=0.1, warmup_seconds=5.0, min_runs=10**6, slice_seconds=0)
    results = bench(tiny, ["onnxruntime", "openvino", "torch"], ["cpu"], settings=settings)
    assert all(r.ok for r in results)
    assert log[:3] == ["onnxruntime", "openvino", "torch"]  # cold starts, in order
    assert log[3:6] == ["onnxruntime", "openvino", "torch"]  # the first round always has all three
    log.clear()
    bench(tiny, ["onnxruntime", "openvino"], ["cpu"], settings=settings)
    # warm-up needs >= 10 calls of each before either may settle: 10 strict rounds (fast backends)
    assert log[:22] == ["onnxruntime", "openvino"] * 11


def test_bursts_alternate_too(tiny, monkeypatch):
    log: list[str] = []
    real = bench_module.compile_session
    monkeypatch.setattr(bench_module, "compile_session", lambda *a, **k: _Logged(real(*a, **k), log))
    settings = BenchSettings(seconds=0.3, warmup_seconds=0.1, min_runs=10**6, slice_seconds=0.02)
    bench(tiny, ["onnxruntime", "openvino"], ["cpu"], settings=settings)
    blocks: list[list] = []  # [backend, length] of consecutive calls
    for name in log:
        if blocks and blocks[-1][0] == name:
            blocks[-1][1] += 1
        else:
            blocks.append([name, 1])
    bursts = [b[0] for b in blocks if b[1] >= 3]  # warm-up alternates call by call; bursts are longer
    assert bursts.count("onnxruntime") >= 2 and bursts.count("openvino") >= 2  # A..A B..B A..A B..B


def test_throughput_mode_uses_the_async_path(tiny):
    (ov,) = bench(tiny, ["openvino"], ["cpu"], mode="throughput", **QUICK)
    assert ov.ok and ov.mode == "throughput" and ov.requests >= 1
    assert ov.info["streams"] >= 1 and ov.throughput_fps > 0


def test_progress_and_cancel(tiny):
    seen: list[float] = []
    bench(tiny, ["onnxruntime"], ["cpu"], progress=lambda e: seen.append(e.fraction), **QUICK)
    assert seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    event = threading.Event()
    event.set()
    with pytest.raises(Cancelled):
        bench(tiny, ["onnxruntime"], ["cpu"], cancel=event, **QUICK)
    calls = iter([False, False, True])
    with pytest.raises(Cancelled):
        bench(tiny, ["onnxruntime"], ["cpu"], cancel=lambda: next(calls, True), **QUICK)


def test_json_round_trip_with_manifest(default_results, tmp_path):
    path = save_results(default_results, tmp_path / "bench.json")
    loaded, manifest = load_results(path)
    assert loaded == default_results
    assert manifest["versions"]["onnxruntime"] and manifest["settings"]["seconds"] == QUICK["seconds"]
    assert [
        BenchResult.from_dict(json.loads(json.dumps(r.to_dict()))) for r in default_results
    ] == default_results
    from edgekit.errors import OutputExists

    with pytest.raises(OutputExists):
        save_results(default_results, path)


def test_bad_mode_is_refused():
    with pytest.raises(ValueError, match="mode must be one of"):
        BenchSettings(mode="fast")


def test_median_ci_and_settling():
    data = [10.0] * 50 + [11.0] * 50
    median, lo, hi = stats.median_ci(data)
    assert median == 10.5 and lo == 10.0 and hi == 11.0
    assert stats.relative_ci([5.0] * 40) == 0.0
    assert math.isinf(stats.relative_ci([1.0, 2.0]))
    assert stats.settled([9.0, 8.0, 7.0, 6.0, 5.0, 3.0, 3.0, 3.0, 3.0, 3.0]) is False
    assert stats.settled([3.1, 3.0, 3.0, 3.0, 3.1, 3.0, 3.0, 3.1, 3.0, 3.0]) is True
    assert stats.percentiles([1, 2, 3, 4])["p50"] == 2.5


def test_bench_items_measures_different_models_interleaved(zoo_models):
    items = [
        (zoo_models["tinycnn"], "onnxruntime", "cpu", "fp32"),
        (zoo_models["mobilenetv2_tiny"], "openvino", "cpu", "fp32"),
    ]
    results = bench_module.bench_items(items, BenchSettings(seconds=0.2, warmup_seconds=0.1))
    assert [(r.model, r.backend, r.status) for r in results] == [
        ("tinycnn", "onnxruntime", "ok"),
        ("mobilenetv2_tiny", "openvino", "ok"),
    ]


def test_too_few_runs_leave_the_ci_unknown_and_round_trip(tiny):
    settings = BenchSettings(seconds=1e-6, warmup_seconds=1e-6, slice_seconds=0)
    (r,) = bench(tiny, ["onnxruntime"], ["cpu"], settings=settings)
    assert r.ok and r.runs == 1 and r.ci_rel is None
    assert BenchResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_share_of_the_machines_peak_uses_the_profile(tiny):
    from types import SimpleNamespace

    (r,) = bench(tiny, ["onnxruntime"], ["cpu"], profile=SimpleNamespace(peak_gflops=1000.0), **QUICK)
    assert r.gflops > 0 and math.isclose(r.peak_share, r.gflops / 1000.0)


class _Slowed(_Logged):
    """A real session made clearly slower (the part of the machine this test controls: time)."""

    def run(self, inputs):
        import time

        time.sleep(0.004)
        return super().run(inputs)


def test_a_race_stops_the_clearly_slower_candidate_early(tiny, monkeypatch):
    """The planner's race: a candidate whose interval lies wholly above the fastest's stops after
    a quarter of its budget instead of running all of it; both are still measured and ranked."""
    real = bench_module.compile_session

    def compile_logged(model, backend, *a, **k):
        wrap = _Slowed if backend == "openvino" else _Logged
        return wrap(real(model, backend, *a, **k), log)

    monkeypatch.setattr(bench_module, "compile_session", compile_logged)
    items = [(tiny, "onnxruntime", "cpu", "fp32"), (tiny, "openvino", "cpu", "fp32")]
    calls = {}
    for race in (None, 0.25):
        log: list[str] = []
        settings = BenchSettings(seconds=0.8, warmup_seconds=0.1, ci_target=0.0, race_after=race)
        fast, slow = bench_module.bench_items(items, settings)
        assert fast.ok and slow.ok and fast.latency_ms["p50"] < slow.latency_ms["p50"]
        calls[race] = log.count("openvino")
    assert calls[0.25] < 0.6 * calls[None], calls  # ~a quarter of the budget, not all of it


def test_interleaved_onnxruntime_threads_stop_spinning_after_each_call(tiny, monkeypatch):
    """onnxruntime's threads spin ~35 ms after a call: in an interleaved benchmark that core would be
    taken from the next combination's burst, so interleaved sessions spin only during a call."""
    seen = []
    real = bench_module.compile_session

    def spy(model, backend, device="cpu", precision="fp32", options=None):
        seen.append((backend, options))
        return real(model, backend, device, precision, options)

    monkeypatch.setattr(bench_module, "compile_session", spy)
    bench(tiny, ["onnxruntime", "openvino"], ["cpu"], **QUICK)
    ort = [opts for backend, opts in seen if backend == "onnxruntime"]
    assert ort and all(o is not None and o.spin_between_runs is False for o in ort)
    seen.clear()
    bench(tiny, ["onnxruntime"], ["cpu"], **QUICK)  # alone: the tight loop's own spinning is its best case
    assert [opts for _, opts in seen] == [None]
    seen.clear()
    from edgekit.backends.onnxruntime import OrtOptions

    given = OrtOptions(threads=1)
    bench(tiny, ["onnxruntime", "openvino"], ["cpu"], options={"onnxruntime": given}, **QUICK)
    assert [opts for backend, opts in seen if backend == "onnxruntime"] == [given]  # the caller's options stand
