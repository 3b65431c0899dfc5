"""Targets: bundled files load and cite sources; bad YAML names file, field and line; estimates are labelled."""

from __future__ import annotations

import re

import pytest

from edgekit.errors import TargetError
from edgekit.targets import check_fit, estimate_latency, list_targets, load_target
from edgekit.targets.schema import FIX

BUNDLED = ["raspberry-pi-4", "raspberry-pi-5", "jetson-orin-nano", "intel-nuc-iris-xe", "intel-core-ultra-npu",
           "x86-avx2-laptop"]


def test_every_bundled_target_loads_and_cites_its_figures():
    names = list_targets()
    assert names[0] == "local" and set(BUNDLED) <= set(names)
    for name in BUNDLED:
        t = load_target(name)
        figures = [f for f in (t.peak_gflops, t.mem_bandwidth_gbs) if f] + list(t.references) + list(t.accelerators)
        assert figures, name
        assert all(f.source.startswith("https://") for f in figures), name
        assert t.backends and t.budgets.latency_ms


def test_local_target_comes_from_this_machine():
    t = load_target("local")
    assert t.is_local and t.path is None
    assert "onnxruntime" in t.backends and t.cores >= 1 and t.memory_mb > 0


def test_unknown_name_suggests_the_closest():
    with pytest.raises(TargetError, match="did you mean raspberry-pi-5"):
        load_target("raspbery-pi-5")


def _write(tmp_path, text):
    path = tmp_path / "board.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """name: board
cpu:
  arch: aarch64
  cores: 4
memory_mb: 2048
backends:
  onnxruntime:
    devices: [cpu]
    precisions: [fp32, int8]
"""


def test_user_target_file_loads_by_path(tmp_path):
    t = load_target(str(_write(tmp_path, GOOD)))
    assert t.name == "board" and t.supports("onnxruntime", "cpu", "int8") and not t.supports("openvino")


def test_unknown_field_names_file_field_and_line(tmp_path):
    path = _write(tmp_path, GOOD.replace("memory_mb: 2048", "memory_mb: 2048\nmemroy: 5"))
    with pytest.raises(TargetError) as err:
        load_target(path)
    text = str(err.value)
    assert text.startswith(f"{path}, line 6: field memroy is an unknown field; allowed here: accelerators, ")
    assert text.endswith(FIX)


def test_a_target_file_fails_through_the_shared_schema_helper_like_plan_yaml(tmp_path):
    """The same mistake reads the same in a target and in plan.yaml (pydantic underneath), plus the line."""
    import pydantic

    from edgekit.errors import ConfigError
    from edgekit.planner.config_schema import check

    path = _write(tmp_path, GOOD + "budgets:\n  latency_ms: -5\n")
    with pytest.raises(TargetError) as target:
        load_target(path)
    with pytest.raises(ConfigError) as plan:
        check({"model": "demo:digits", "latency_budget_ms": -5}, "plan.yaml")
    assert isinstance(target.value.__cause__, pydantic.ValidationError)
    shape = re.compile(r"^(.+?): field (\S+) (must be greater than 0 \(got -5\)); (.+)$")
    mine, theirs = shape.match(str(target.value)), shape.match(str(plan.value))
    assert mine and theirs, (str(target.value), str(plan.value))
    assert (mine[1], mine[2], mine[4]) == (f"{path}, line 11", "budgets.latency_ms", FIX)
    assert (theirs[1], theirs[2]) == ("plan.yaml", "latency_budget_ms") and mine[3] == theirs[3]


def test_wrong_type_names_field_and_line(tmp_path):
    path = _write(tmp_path, GOOD.replace("cores: 4", "cores: four"))
    with pytest.raises(TargetError, match=r"line 4: field cpu.cores must be an integer \(got 'four'\); fix that line"):
        load_target(path)


def test_unknown_precision_is_refused_with_its_line(tmp_path):
    path = _write(tmp_path, GOOD.replace("[fp32, int8]", "[fp32, int4]"))
    with pytest.raises(TargetError, match=r"line 9: field backends.onnxruntime.precisions\[1\] must be 'fp32', "):
        load_target(path)


def test_estimate_is_labelled_with_a_band_and_its_sources():
    pi5 = load_target("raspberry-pi-5")
    est = estimate_latency(pi5, flops=600_000_000, weight_bytes=8_000_000)
    assert est.is_estimate and est.low_ms < est.latency_ms < est.high_ms
    assert "est." in str(est) and any("https://" in b for b in est.basis)
    more = estimate_latency(pi5, flops=1_200_000_000, weight_bytes=8_000_000)
    assert more.latency_ms > est.latency_ms


def test_int8_estimate_is_faster_only_with_dot_product_instructions():
    pi4, pi5 = load_target("raspberry-pi-4"), load_target("raspberry-pi-5")
    for t, faster in ((pi4, False), (pi5, True)):
        fp32 = estimate_latency(t, flops=6e8, precision="fp32").latency_ms
        int8 = estimate_latency(t, flops=6e8, precision="int8").latency_ms
        assert (int8 < fp32) is faster


def test_a_ratio_measured_here_replaces_the_assumed_int8_rate():
    """Dynamic INT8 was costed at the INT8 rate (2.4x faster than FP32 on a Pi 5) while it ran 16x
    slower here: a ratio measured here scales the FP32 estimate, with a wider band and its words."""
    pi5 = load_target("raspberry-pi-5")
    fp32 = estimate_latency(pi5, flops=6e8, precision="fp32", backend="onnxruntime")
    dyn = estimate_latency(pi5, flops=6e8, precision="int8-dynamic", backend="onnxruntime",
                           measured_ratio=(16.0, "ran at 16x the FP32 time here"))
    assert dyn.latency_ms == pytest.approx(16 * fp32.latency_ms)
    assert dyn.high_ms / dyn.low_ms == pytest.approx(1.5**2 * fp32.high_ms / fp32.low_ms)
    assert "ran at 16x the FP32 time here" in dyn.basis
    assumed = estimate_latency(pi5, flops=6e8, precision="int8-dynamic", backend="onnxruntime")
    assert assumed.latency_ms < fp32.latency_ms  # without a measurement: the INT8 rate, as before


def _ref(runtime, ms):
    return (f"  - {{model: m, flops: 1000000000, latency_ms: {ms}, precision: fp32, runtime: {runtime}, "
            "device: cpu, source: https://example.org/m}\n")


def test_estimate_uses_the_figures_of_the_candidates_own_runtime(tmp_path):
    board = load_target(_write(tmp_path, GOOD + "references:\n" + _ref("onnxruntime", 10) + _ref("torch", 30)))
    ort = estimate_latency(board, flops=1e9, backend="onnxruntime")
    eager = estimate_latency(board, flops=1e9, backend="torch")
    assert ort.latency_ms == pytest.approx(10) and eager.latency_ms == pytest.approx(30)
    assert all("torch" not in b for b in ort.basis) and any("on torch/cpu" in b for b in eager.basis)


def test_pytorch_eager_on_a_pi_gets_no_borrowed_estimate():
    pi5 = load_target("raspberry-pi-5")
    with pytest.raises(TargetError) as err:
        estimate_latency(pi5, flops=6e8, backend="torch")
    text = str(err.value)
    assert "unavailable for torch/cpu" in text and "runtime: torch" in text and str(pi5.path) in text
    ort = estimate_latency(pi5, flops=6e8, backend="onnxruntime")  # the TFLite figure stands in, and says so
    assert any("tflite's stands in" in b for b in ort.basis)
    assert ort.high_ms / ort.low_ms > estimate_latency(pi5, flops=6e8).high_ms / estimate_latency(pi5, flops=6e8).low_ms


def test_onnxruntime_on_a_jetson_gpu_does_not_borrow_the_pytorch_figure():
    jetson = load_target("jetson-orin-nano")
    assert any("on torch/cuda" in b for b in estimate_latency(jetson, flops=6e8, device="cuda", backend="torch").basis)
    with pytest.raises(TargetError, match="unavailable for onnxruntime/cuda.*tensorrt, torch figures would mislead"):
        estimate_latency(jetson, flops=6e8, device="cuda", backend="onnxruntime")


def test_fit_check_names_what_does_not_fit():
    pi4 = load_target("raspberry-pi-4")
    assert check_fit(pi4, model_mb=10, backend="onnxruntime", precision="int8").ok
    fit = check_fit(pi4, model_mb=80, backend="openvino")
    assert not fit.ok and any("50 MB" in r for r in fit.reasons) and any("openvino" in r for r in fit.reasons)


def test_cli_lists_and_shows_targets(capsys):
    from edgekit.cli import main

    assert main(["targets", "--json"]) == 0
    assert "raspberry-pi-5" in capsys.readouterr().out
    assert main(["targets", "jetson-orin-nano"]) == 0
    assert "hokwangchoi.com" in capsys.readouterr().out.replace("\n", "").replace("│", "").replace(" ", "")
    assert main(["targets", "jetson-nano"]) == 2
    assert "did you mean jetson-orin-nano" in capsys.readouterr().err


def test_target_names_stay_whole_in_an_80_column_terminal(monkeypatch, capsys):
    """The name column is what a user types after --target: at 80 columns it was folded mid-word
    ("intel-core-ult" / "ra-npu")."""
    from rich.console import Console

    import edgekit.cli._console as shared
    from edgekit.cli import main

    monkeypatch.setattr(shared, "console", Console(width=80, force_terminal=False))
    assert main(["targets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    firsts = {line.split()[0] for line in lines if line.strip()}
    assert set(list_targets()) <= firsts, sorted(set(list_targets()) - firsts)
    # and what describes them is not cut mid-word either ("openvino (cpu/gpu/np" / "u)", "Cortex-A7" / "8AE")
    words = {w for line in lines for w in line.split()}
    assert {"(cpu/gpu/npu)", "Cortex-A78AE", "i5-1135G7"} <= words, sorted(words)
    # the cores and the memory stay on one line: "x86_64 x16, 32" / "GB" read as 32 cores' worth of nothing
    assert any("x86_64 x16, 32 GB" in line for line in lines), lines


def test_a_narrow_terminal_wraps_the_targets_table_rather_than_cut_the_budgets(monkeypatch, capsys):
    from rich.console import Console

    import edgekit.cli._console as shared
    from edgekit.cli import main

    monkeypatch.setattr(shared, "console", Console(width=70, force_terminal=False))
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    assert "size 200 MB" in out and "p50 15 ms" in out, out


def test_targets_cli_shows_budgets_in_words_not_a_dataclass_repr(capsys):
    from edgekit.cli import main

    assert main(["targets", "raspberry-pi-5"]) == 0
    out = capsys.readouterr().out
    assert "Budgets(" not in out and "p50 <= 100 ms" in out


def test_a_stored_model_is_planned_only_where_the_target_lists_its_precision():
    """A model already quantized (here dynamic INT8) runs as stored on each backend the target lists
    that precision for; elsewhere it is left out with a line that says so, so the plan's choice is
    always one `edgekit deploy` accepts for the same target (it refused openvino/cpu/int8-dynamic)."""
    from types import SimpleNamespace

    from edgekit.planner.build import as_stored, specs_for
    from edgekit.targets import load_target

    model = SimpleNamespace(name="yolov8n-dyn", precision="int8-dynamic")  # what as_stored reads of a Model
    laptop = load_target("x86-avx2-laptop")  # openvino: [fp32, int8]; onnxruntime: [..., int8-dynamic]
    specs, line = as_stored(specs_for(laptop, ("fp32", "int8"), False), model, laptop)
    assert [s.key for s in specs] == ["onnxruntime/cpu/int8-dynamic"]
    assert "Not planned: openvino/cpu (target x86-avx2-laptop does not list int8-dynamic there)" in line
    assert all(laptop.supports(s.backend, s.device, s.precision) for s in specs)


def test_this_machine_lists_openvino_for_dynamic_int8_models():
    """OpenVINO runs an onnxruntime dynamic-INT8 ONNX as stored (and fuses it): the local target lists it,
    so a plan here may choose it and the deploy of that plan accepts it."""
    pytest.importorskip("openvino", reason="needs OpenVINO (pip install 'edgekit[openvino]')")
    from edgekit.targets import load_target

    assert load_target("local").supports("openvino", "cpu", "int8-dynamic")
