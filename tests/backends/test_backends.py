"""Every backend compiles and runs zoo models, matches the torch reference, and
explains what it cannot do (missing device, package, precision, module, file)."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.backends import available_backends, compile_session, device_status, get_backend, list_backends
from edgekit.backends.onnxruntime import OrtOptions, count_placement
from edgekit.backends.openvino import OpenVINOOptions
from edgekit.errors import BackendUnavailable, EdgekitWarning, InputMismatch, ModelLoadError

CPU_BACKENDS = ("onnxruntime", "openvino", "torch")
# fp32 on CPU: all three run the same math; differences come from summation order only
ATOL, RTOL = 1e-5, 1e-4


def _x(model, seed: int = 0, batch: int = 1) -> np.ndarray:
    shape = model.input.concrete_shape(batch)
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _reference(model, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return model.module(torch.from_numpy(x)).numpy()


def test_registry_lists_the_three_backends_in_auto_order():
    assert list_backends() == ["onnxruntime", "openvino", "torch"]
    assert [name for name, ok, _ in available_backends()] == list_backends()


def test_a_typo_close_to_a_name_and_its_alias_names_the_backend_once():
    with pytest.raises(BackendUnavailable) as info:
        get_backend("onnxrt")  # close to both "onnxruntime" and its alias "ort"
    assert "did you mean 'onnxruntime'?" in str(info.value)
    assert str(info.value).count("'onnxruntime'") == 1


def test_unknown_backend_gets_a_did_you_mean_hint():
    with pytest.raises(BackendUnavailable, match="did you mean 'openvino'"):
        get_backend("openvio")


@pytest.mark.parametrize("arch", ["tinycnn", "mobilenetv2_tiny"])
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_backend_matches_torch_reference(zoo_models, arch, backend):
    model = zoo_models[arch]
    x = _x(model, batch=2)
    with compile_session(model, backend) as session:
        out = session.run(x)
        assert list(out) == [o.name for o in model.outputs]
        got = out[model.outputs[0].name]
    ref = _reference(model, x)
    assert got.shape == ref.shape == (2, 10)
    np.testing.assert_allclose(got, ref, atol=ATOL + RTOL * np.abs(ref).max(), rtol=RTOL)
    assert (got.argmax(1) == ref.argmax(1)).all()


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_session_info_says_what_really_runs(tiny, backend):
    session = compile_session(tiny, backend)
    info = session.info
    assert info.backend == backend and info.precision == "fp32"
    assert info.providers and info.load_ms > 0
    assert info.threads is None or info.threads >= 1
    assert type(info).from_dict(info.to_dict()) == info


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_run_accepts_dicts_and_run_many_matches_run(tiny, backend):
    session = compile_session(tiny, backend)
    xs = [_x(tiny, seed) for seed in range(3)]
    singles = [session.predict({tiny.input.name: x}) for x in xs]
    many = session.run_many(xs)
    for one, out in zip(singles, many):
        np.testing.assert_allclose(out[tiny.outputs[0].name], one, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda m: _x(m)[:, :, :16], "expected shape"),
        (lambda m: _x(m).astype(np.float64), "expected dtype float32"),
        (lambda m: {"pixels": _x(m)}, "missing \\['input'\\], unknown \\['pixels'\\]"),
        (lambda m: {m.input.name: _x(m), "extra": _x(m)}, "unknown \\['extra'\\]"),
    ],
    ids=["shape", "dtype", "wrong-name", "extra-name"],
)
def test_wrong_inputs_raise_input_mismatch_naming_the_input(tiny, backend, bad, message):
    session = compile_session(tiny, backend)
    with pytest.raises(InputMismatch, match=message) as err:
        session.run(bad(tiny))
    assert "input" in str(err.value)


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_deleted_model_file_is_a_clear_error(doomed, backend):
    doomed.path.unlink()
    with pytest.raises(ModelLoadError, match="no longer exists") as err:
        compile_session(doomed, backend)
    assert err.value.path == doomed.path


def test_corrupt_model_file_is_a_model_load_error(doomed):
    doomed.path.write_bytes(b"not an onnx file at all")
    with pytest.raises(ModelLoadError, match="onnxruntime cannot load"):
        compile_session(doomed, "onnxruntime", options=OrtOptions(cache=False))
    with pytest.raises(ModelLoadError, match="OpenVINO cannot compile"):
        compile_session(doomed, "openvino")


def test_torch_needs_a_module(onnx_only):
    with pytest.raises(BackendUnavailable, match="no PyTorch module for this model"):
        compile_session(onnx_only, "torch")


def test_torch_runs_the_checkpoint_beside_an_onnx_file_as_the_planner_does():
    """``edgekit bench demo:digits-mnv2`` said "no PyTorch module for this model" while ``edgekit plan``
    timed the same model's PyTorch checkpoint (``digits-mnv2.pt`` beside the ONNX file, architecture
    in its card) as its eager baseline."""
    pytest.importorskip("torch")
    from edgekit.models import load_model

    model = load_model("demo:digits-mnv2")
    x = _x(model)
    torch_session = compile_session(model, "torch")
    assert any("digits-mnv2.pt, the PyTorch checkpoint beside digits-mnv2.onnx" in n for n in torch_session.info.notes)
    ours = next(iter(torch_session.run({model.input.name: x}).values()))
    ort = next(iter(compile_session(model, "onnxruntime").run({model.input.name: x}).values()))
    np.testing.assert_allclose(ours, ort, atol=1e-3 + 1e-3 * np.abs(ort).max())


def test_a_checkpoint_beside_an_onnx_file_that_does_not_load_is_named(tmp_path):
    """A mismatched ``X.pt`` beside ``X.onnx`` was passed over in silence and the torch backend said the
    model had no PyTorch module at all."""
    pytest.importorskip("torch")
    import shutil

    from edgekit._assets import assets_dir
    from edgekit.models import load_model

    for suffix in (".onnx", ".json"):
        shutil.copy(assets_dir() / f"digits-mnv2{suffix}", tmp_path / f"m{suffix}")
    shutil.copy(assets_dir() / "digits.pt", tmp_path / "m.pt")  # another architecture's weights
    model = load_model(tmp_path / "m.onnx")
    with pytest.raises(BackendUnavailable, match="m.pt, the PyTorch checkpoint beside m.onnx, does not load as "
                                                 "the card's architecture 'mobilenetv2'") as err:
        compile_session(model, "torch")
    assert err.value.path == tmp_path / "m.pt"


def test_unavailable_devices_are_reported_with_reasons(tiny):
    import openvino

    found = openvino.Core().available_devices
    rows = {d: (ok, why) for d, ok, why in device_status("openvino")}
    assert rows["CPU"] == (True, "")
    if not any(d.startswith("NPU") for d in found):
        assert rows["NPU"][0] is False and "no NPU device" in rows["NPU"][1]
        with pytest.raises(BackendUnavailable, match="no NPU device"):
            compile_session(tiny, "openvino", device="NPU")
    torch_rows = {d: (ok, why) for d, ok, why in device_status("torch")}
    assert torch_rows["cpu"] == (True, "")
    assert torch_rows["cuda"][0] is False or torch_rows["cuda"][1] == ""


def test_onnxruntime_reports_missing_providers(tiny):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    with pytest.raises(BackendUnavailable, match="no CUDAExecutionProvider.*onnxruntime-gpu"):
        compile_session(tiny, "onnxruntime", device="cuda")


def test_missing_package_names_the_pip_extra(tiny, monkeypatch):
    import edgekit.backends._common as common

    monkeypatch.setattr(common, "has_package", lambda name: name != "openvino")
    ok, reason = get_backend("openvino").available()
    assert not ok and 'pip install "edgekit[openvino]"' in reason
    with pytest.raises(BackendUnavailable, match=r"edgekit\[openvino\]"):
        compile_session(tiny, "openvino")


def test_auto_tries_only_runtimes_that_read_the_file_and_falls_back_with_a_warning(tiny, tmp_path, monkeypatch):
    """An OpenVINO IR goes to OpenVINO without a word: onnxruntime, which reads ONNX only, was tried
    first and warned "cannot run ... ONNX files only" at every `edgekit demo ir.xml` and in the app.
    A runtime that reads the file and fails still warns, and the next is tried."""
    from edgekit.models import convert

    assert compile_session(tiny).info.backend == "onnxruntime"
    ir, _ = convert(tiny.replace(module=None), "openvino", tmp_path / "ir")
    session = compile_session(ir, "auto")  # an EdgekitWarning would fail this test
    assert session.info.backend == "openvino"
    np.testing.assert_allclose(session.predict(_x(tiny)), _reference(tiny, _x(tiny)), atol=1e-5, rtol=1e-4)

    import edgekit.backends._common as common

    monkeypatch.setattr(common, "has_package", lambda name: name != "onnxruntime")  # as where it is not installed
    with pytest.warns(EdgekitWarning, match=r"onnxruntime cannot run .*edgekit\[onnxruntime\].*trying the next"):
        fallback = compile_session(tiny.replace(module=None), "auto")
    assert fallback.info.backend == "openvino"


def test_onnxruntime_precision_must_match_the_stored_model(tiny):
    with pytest.raises(BackendUnavailable, match=r"stored in \(fp32\), not fp16.*openvino"):
        compile_session(tiny, "onnxruntime", precision="fp16")
    with pytest.raises(BackendUnavailable, match="quantize it"):
        compile_session(tiny, "onnxruntime", precision="int8")
    # edgekit makes no bf16 file: the way to bf16 is OpenVINO's execution precision, not a copy
    with pytest.raises(BackendUnavailable, match=r"not bf16; bf16 is an execution precision: use the openvino") as info:
        compile_session(tiny, "onnxruntime", precision="bf16")
    assert "edgekit.compress" not in str(info.value)
    with pytest.raises(BackendUnavailable, match="unknown precision"):
        compile_session(tiny, "onnxruntime", precision="fp8")


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_openvino_precision_is_explicit_and_checked(tiny, precision):
    import openvino

    caps = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if precision.upper() in caps:
        session = compile_session(tiny, "openvino", precision=precision)
        assert session.info.precision == precision
        assert str(session._compiled.get_property("INFERENCE_PRECISION_HINT")) in (
            "<Type: 'float16'>",
            "<Type: 'bfloat16'>",
        )
    else:
        with pytest.raises(
            BackendUnavailable, match=f"does not support {precision}.*OPTIMIZATION_CAPABILITIES"
        ):
            compile_session(tiny, "openvino", precision=precision)
    fp32 = compile_session(tiny, "openvino", precision="fp32")
    assert fp32._compiled.get_property("INFERENCE_PRECISION_HINT") == openvino.Type.f32


def test_openvino_throughput_hint_and_async_queue(tiny):
    session = compile_session(tiny, "openvino", options=OpenVINOOptions(hint="throughput", requests=3))
    assert session.info.streams >= 1 and session.optimal_requests == 3
    xs = [_x(tiny, seed) for seed in range(7)]
    outs = session.run_many(xs)
    for x, out in zip(xs, outs):
        np.testing.assert_allclose(out[tiny.outputs[0].name], _reference(tiny, x), atol=1e-5, rtol=1e-4)


def test_openvino_compiled_cache_dir(tiny, tmp_path):
    cache = tmp_path / "ovcache"
    compile_session(tiny, "openvino", options=OpenVINOOptions(cache_dir=cache))
    assert any(cache.iterdir())


def test_onnxruntime_optimized_graph_cache_and_placement(tiny, tmp_path):
    opts = OrtOptions(cache_dir=tmp_path / "ortcache", threads=1)
    first = compile_session(tiny, "onnxruntime", options=opts)
    second = compile_session(tiny, "onnxruntime", options=opts)
    assert any("saved to the cache" in n for n in first.info.notes)
    assert any("loaded from the cache" in n for n in second.info.notes)
    assert first.info.threads == 1
    assert second.info.node_placement["CPUExecutionProvider"] > 0
    np.testing.assert_array_equal(first.predict(_x(tiny)), second.predict(_x(tiny)))
    profiled = compile_session(tiny, "onnxruntime", options=OrtOptions(cache=False, profile_placement=True))
    assert set(profiled.info.node_placement) == {"CPUExecutionProvider"}


def test_count_placement_reads_an_onnxruntime_profile(tiny, tmp_path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.enable_profiling = True
    so.profile_file_prefix = str(tmp_path / "p")
    sess = ort.InferenceSession(str(tiny.path), so, providers=["CPUExecutionProvider"])
    sess.run(None, {tiny.input.name: _x(tiny)})
    counts = count_placement(sess.end_profiling())
    assert list(counts) == ["CPUExecutionProvider"] and counts["CPUExecutionProvider"] >= 5


def test_options_are_typed(tiny):
    with pytest.raises(BackendUnavailable, match="takes OrtOptions"):
        compile_session(tiny, "onnxruntime", options=OpenVINOOptions())
    with pytest.raises(BackendUnavailable, match="unknown onnxruntime options"):
        compile_session(tiny, "onnxruntime", options={"thread": 2})
    assert compile_session(tiny, "onnxruntime", options={"threads": 1}).info.threads == 1


def _cuda_reason() -> str:
    rows = {d: (ok, why) for d, ok, why in device_status("torch")}
    return "" if rows["cuda"][0] else rows["cuda"][1]


@pytest.mark.cuda
@pytest.mark.skipif(bool(_cuda_reason()), reason=_cuda_reason() or "CUDA available")
@pytest.mark.parametrize(
    "precision, options", [("fp32", None), ("fp16", None), ("fp32", {"cuda_graphs": True})]
)
def test_torch_cuda_path(tiny, precision, options):
    session = compile_session(tiny, "torch", device="cuda", precision=precision, options=options)
    x = _x(tiny, batch=2)
    atol = 1e-4 if precision == "fp32" else 2e-2  # fp16 autocast: ~3 significant digits
    ref = _reference(tiny, x)
    for _ in range(2):  # the second call replays the CUDA graph
        got = session.predict(x)
        np.testing.assert_allclose(got, ref, atol=atol, rtol=atol)
        assert (got.argmax(1) == ref.argmax(1)).all()
    assert session.info.device == "cuda" and session.info.precision == precision


def test_torch_cuda_unavailable_says_why(tiny):
    reason = _cuda_reason()
    if not reason:
        pytest.skip("CUDA is available here; the cuda path is tested above")
    with pytest.raises(BackendUnavailable, match="CUDA is not available"):
        compile_session(tiny, "torch", device="cuda")


def test_quantized_model_runs_as_stored_with_a_note(shufflenet):
    """The real INT8 (QDQ) ShuffleNet from ../shared: default fp32 request runs it as int8, and says so."""
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    for backend in ("onnxruntime", "openvino"):
        session = compile_session(shufflenet, backend)
        assert session.info.precision == "int8"
        assert any("int8" in note for note in session.info.notes)
        assert session.predict(x).shape == (1, 1000)
    with pytest.raises(BackendUnavailable, match="stored in \\(int8\\), not fp16"):
        compile_session(shufflenet, "onnxruntime", precision="fp16")


def test_unwritable_cache_dir_only_skips_the_cache(tiny, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder would be")
    session = compile_session(tiny, "onnxruntime", options=OrtOptions(cache_dir=blocker / "cache"))
    assert not any("cache" in note for note in session.info.notes)
    assert session.predict(_x(tiny)).shape == (1, 10)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_non_contiguous_and_batched_inputs_take_the_checked_path(tiny, backend):
    session = compile_session(tiny, backend)
    x = _x(tiny, batch=3)
    expected = session.predict(x)
    np.testing.assert_allclose(session.predict(np.asfortranarray(x)), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(session.predict(x[::-1].copy()[::-1]), expected, rtol=1e-6, atol=1e-7)


def test_onnxruntime_spin_waiting_can_be_turned_off_for_live_use(tiny):
    x = _x(tiny)
    with compile_session(tiny, "onnxruntime", options=OrtOptions(spin=False, cache=False)) as quiet, \
            compile_session(tiny, "onnxruntime", options=OrtOptions(cache=False)) as spinning:
        entry = "session.intra_op.allow_spinning"
        assert quiet._sess.get_session_options().get_session_config_entry(entry) == "0"
        with pytest.raises(RuntimeError):  # not set: onnxruntime's default, spinning
            spinning._sess.get_session_options().get_session_config_entry(entry)
        np.testing.assert_array_equal(quiet.predict(x), spinning.predict(x))


def test_live_sessions_spin_only_while_a_frame_is_inferred(tiny):
    """The live pipeline's session: onnxruntime's threads may spin during a run (every operator
    would otherwise wait for sleeping threads) but stop when it returns, so capture and drawing
    get the cores between frames; a plain session keeps onnxruntime's defaults."""
    from edgekit.vision.config import compile_live_session

    x = _x(tiny)
    with compile_live_session(tiny, "onnxruntime") as live, \
            compile_session(tiny, "onnxruntime", options=OrtOptions(cache=False)) as plain:
        options = live._sess.get_session_options()
        assert options.get_session_config_entry("session.force_spinning_stop") == "1"
        with pytest.raises(RuntimeError):  # not turned off: onnxruntime's default, spinning
            options.get_session_config_entry("session.intra_op.allow_spinning")
        with pytest.raises(RuntimeError):
            plain._sess.get_session_options().get_session_config_entry("session.force_spinning_stop")
        np.testing.assert_array_equal(live.predict(x), plain.predict(x))


def test_openvino_submit_many_rebinds_new_inputs_and_reuses_bound_ones(tiny):
    session = compile_session(tiny, "openvino", options=OpenVINOOptions(hint="throughput", requests=2))
    a, b = _x(tiny, 1), _x(tiny, 2)
    index = session._names.index(tiny.outputs[0].name)

    def outputs_are(x):
        session.drain()
        for request in session._stream:
            np.testing.assert_allclose(request.get_output_tensor(index).data, _reference(tiny, x), atol=1e-5, rtol=1e-4)

    session.submit_many([{tiny.input.name: a}] * 4)  # each request binds a once, then restarts with it
    assert all(bound[0] is a for bound in session._bound.values())
    outputs_are(a)
    session.submit_many([{tiny.input.name: b}] * 2)  # new arrays: bound again, never the stale ones
    outputs_are(b)


def test_compile_session_takes_a_model_path_or_name_and_names_a_missing_file(tmp_path):
    """``compile_session("m.onnx")`` ended in "unknown value <built-in method format of str object ...>"."""
    with compile_session("demo:digits", "onnxruntime") as session:
        assert session.model.name == "demo:digits" and session.info.backend == "onnxruntime"
    with pytest.raises(ModelLoadError, match="nope.onnx does not exist"):
        compile_session(str(tmp_path / "nope.onnx"))
    with pytest.raises(TypeError, match="compile_session expects a Model or a model path"):
        compile_session(None)
