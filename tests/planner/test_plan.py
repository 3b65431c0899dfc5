"""The planner end to end on a tiny model: measured, judged, explained, cached, cancellable."""

from __future__ import annotations

import json
import threading

import pytest

from edgekit._io import sha256_file
from edgekit.errors import BudgetNotMet, Cancelled
from edgekit.planner import PlanConfig, Report, plan

FAST = {"seconds": 0.3, "max_accuracy_drop": 0.5}


def test_local_plan_measures_every_candidate_and_explains(world, tmp_path):
    model, data = world
    before = sha256_file(model.path)
    steps = []
    report = plan(model.path, data=data, out=str(tmp_path / "out"), progress=steps.append, **FAST)
    assert sha256_file(model.path) == before
    fractions = [e.fraction for e in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    stages = {e.stage for e in steps}
    assert {"building", "calibrating", "accuracy", "benchmarking", "done"} <= stages, stages
    assert any(e.stage == "accuracy" and e.done and e.total and "onnxruntime/cpu/int8" in e.message for e in steps)
    assert all(e.elapsed_s is not None for e in steps) and any(e.eta_s for e in steps)
    best = report.best
    assert best.status == "chosen" and best.p50_ms > 0 and not report.estimated
    keys = {c.key for c in report.candidates}
    assert {"onnxruntime/cpu/fp32", "onnxruntime/cpu/int8", "openvino/cpu/int8"} <= keys
    for c in report.candidates:
        stopped = c.status == "rejected" and "scoring stopped early" in " ".join(c.reasons)  # far slower: pace
        assert c.status == "failed" or (c.p50_ms and (stopped or (c.accuracy is not None and c.drop_ci is not None)))
        if c.status == "rejected":
            assert c.reasons
    stopped = [c.key for c in report.candidates if "scoring stopped early" in " ".join(c.reasons)]
    if stopped:  # already rejected as far slower: timed briefly, and the log says so
        assert any(line.startswith("Benchmarked ") and all(k in line for k in stopped) for line in report.log)
    tie = any(line.startswith("Within noise") and "tie rule" in line for line in report.log)
    assert report.regret_ms == 0.0 or tie  # a tie is broken by the stated rule, not by a noisy median
    assert any(line.startswith("Chose ") for line in report.log)
    assert "openvino/cpu/int8@onnxruntime" in keys  # OpenVINO also runs onnxruntime's INT8 QDQ ONNX
    for name in ("report.json", "report.md", "plot.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    again = Report.from_dict(json.loads((tmp_path / "out" / "report.json").read_text()))
    assert again.best_key == report.best_key and len(again.candidates) == len(report.candidates)
    assert best.model_obj.path.exists()


def test_second_run_is_a_cache_hit_and_no_cache_measures_again(world):
    model, data = world
    first = plan(model.path, data=data, methods=("fp32",), **FAST)
    second = plan(model.path, data=data, methods=("fp32",), **FAST)
    fresh = plan(model.path, data=data, methods=("fp32",), cache=False, **FAST)
    assert not first.cache_hit and second.cache_hit and not fresh.cache_hit
    # the way to measure again, for a caller in Python as much as on the command line
    assert "cache=False" in second.log[-1] and "--no-cache" in second.log[-1]
    assert second.best_key == first.best_key and "cache" in second.log[-1]
    # the re-measured result replaces the cached one: a plain plan after --no-cache answers with it
    third = plan(model.path, data=data, methods=("fp32",), **FAST)
    assert third.cache_hit and third.log[:-1] == fresh.log and third.log != second.log


def test_a_change_to_edgekit_itself_is_a_cache_miss(world, monkeypatch):
    """In a checkout the version stays while the code changes: a plan cached before must not be reused."""
    from edgekit.planner import cache

    model, data = world
    plan(model.path, data=data, methods=("fp32",), **FAST)
    assert plan(model.path, data=data, methods=("fp32",), **FAST).cache_hit
    monkeypatch.setattr(cache, "code_stamp", lambda: "edited")  # as an edit of any edgekit/*.py would
    assert not plan(model.path, data=data, methods=("fp32",), **FAST).cache_hit
    assert plan(model.path, data=data, methods=("fp32",), **FAST).cache_hit  # then cached again


def test_the_code_stamp_follows_the_source(tmp_path):
    from edgekit.planner.cache import code_stamp, source_stamp

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "notes.txt").write_text("not code")
    first = source_stamp(tmp_path)
    assert source_stamp(tmp_path) == first  # the same files, the same stamp
    (tmp_path / "pkg" / "notes.txt").write_text("edited")
    assert source_stamp(tmp_path) == first  # only .py files count
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    edited = source_stamp(tmp_path)
    assert edited != first
    (tmp_path / "pkg" / "a.py").rename(tmp_path / "pkg" / "b.py")
    assert source_stamp(tmp_path) not in (first, edited)  # a moved module is a change too
    assert len(code_stamp()) == 16


def test_impossible_budget_raises_budget_not_met_with_closest(world):
    model, data = world
    with pytest.raises(BudgetNotMet) as err:
        plan(model.path, data=data, latency_budget_ms=1e-6, methods=("fp32", "int8"), cache=False, **FAST)
    assert err.value.closest and "budget" in str(err.value)
    assert all(c.status == "rejected" for c in err.value.closest)


def test_absent_target_gives_estimates_labelled_as_such(world):
    model, data = world
    report = plan(model.path, target="raspberry-pi-5", data=data, methods=("fp32", "int8"), **FAST)
    assert report.estimated and report.target == "raspberry-pi-5"
    live = [c for c in report.candidates if c.status in ("valid", "chosen")]
    assert live and all(c.is_estimate and c.p50_ms is None and c.estimate.low_ms < c.estimate.high_ms for c in live)
    assert all(c.accuracy is not None for c in live)  # accuracy still measured here
    text = report.to_markdown()
    assert "est." in text and "estimated on raspberry-pi-5" in text
    # from what: the figures and their sources, which were only in report.json
    how = text.split("## How the latencies were estimated", 1)[1].split("## Decision log")[0]
    assert "- Every estimate: " in how and "https://" in how, how
    assert "ESTIMATED" in report.log[0]
    ran = report.plan_config  # the config it ran with, the target's default budgets filled in (for plots, replays)
    assert (ran.latency_budget_ms, ran.max_model_mb) == (100, 100) and ran.methods == ("fp32", "int8")


def test_dynamic_int8_on_an_absent_target_is_estimated_from_its_speed_here(world):
    """A dynamic-INT8 graph's cost is its unfused ConvInteger nodes, not the target's INT8
    instructions: it was estimated 2.4x faster than FP32 on a Raspberry Pi 5 while it ran 16x slower
    here. Its estimate is now the FP32 estimate times the ratio timed here, and says so."""
    import re

    model, data = world
    report = plan(model.path, target="raspberry-pi-5", data=data, methods=("fp32", "int8-dynamic"), cache=False,
                  **FAST)
    by = {c.key: c for c in report.candidates}
    fp32, dyn = by["onnxruntime/cpu/fp32"], by["onnxruntime/cpu/int8-dynamic"]
    line = next(b for b in dyn.estimate.basis if "the FP32 time here" in b)
    assert "ConvInteger node" in line and "raspberry-pi-5" in line, line
    mine, theirs = (float(x) for x in re.search(r": ([\d.e+-]+) vs ([\d.e+-]+) ms, measured", line).groups())
    assert dyn.estimate.latency_ms / fp32.estimate.latency_ms == pytest.approx(mine / theirs, rel=0.01)
    if mine > theirs:  # slower here: rejected, with the cause seen here
        assert dyn.status == "rejected" and "here: " in " ".join(dyn.reasons), dyn.reasons


def _twin_of_this_machine(tmp_path, isa=None):
    """A target file describing a CPU like this one (its arch and ISA flags), not this machine."""
    from edgekit.hardware import profile_hardware

    here = profile_hardware()
    flags = [k for k, v in here.isa.items() if v] if isa is None else isa
    path = tmp_path / "twin.yaml"
    path.write_text(f"""name: twin
cpu:
  arch: {here.arch}
  cores: 4
  isa: [{", ".join(flags)}]
memory_mb: 8192
backends:
  onnxruntime:
    devices: [cpu]
    precisions: [fp32, int8]
references:
  - {{model: m, flops: 1000000000, latency_ms: 20, precision: fp32, runtime: onnxruntime, device: cpu,
      source: https://example.org/m}}
""", encoding="utf-8")
    return str(path)


def test_static_int8_on_a_target_with_this_cpus_int8_instructions_is_estimated_from_its_speed_here(world, tmp_path):
    """Static INT8's speed-up depends on the CPU's INT8 instructions: on a target whose CPU has the
    same ones as this machine, the ratio timed here is used (not the x0.4 / x1.15 assumed); on a
    target with other instructions, the assumed factor stays."""
    model, data = world
    report = plan(model.path, target=_twin_of_this_machine(tmp_path), data=data, methods=("fp32", "int8"),
                  cache=False, **FAST)
    int8 = next(c for c in report.candidates if c.key == "onnxruntime/cpu/int8")
    line = next(b for b in int8.estimate.basis if "the FP32 time here" in b)
    assert "has the same INT8 instructions as this one" in line, line
    assert any(entry.startswith("Timed here against their FP32") for entry in report.log), report.log
    other = plan(model.path, target=_twin_of_this_machine(tmp_path, isa=["neon", "dotprod"]), data=data,
                 methods=("fp32", "int8"), cache=False, **FAST)
    int8 = next(c for c in other.candidates if c.key == "onnxruntime/cpu/int8")
    assert int8.estimate is not None and not any("time here" in b for b in int8.estimate.basis), int8.estimate.basis


def test_int8_of_an_all_gemm_model_is_rejected_if_it_measures_slower(world, tmp_path, make_onnx):
    _, data = world
    model = make_onnx(tmp_path, "gemmnet", 8, "gemm")
    report = plan(model.path, data=data, methods=("fp32", "int8"), cache=False, **FAST)
    by = {c.key: c for c in report.candidates}
    fp32, int8 = by["onnxruntime/cpu/fp32"], by["onnxruntime/cpu/int8"]
    assert int8.speedup == pytest.approx(fp32.p50_ms / int8.p50_ms)
    if int8.p50_ms > fp32.p50_ms:  # measured, not assumed: the rule itself is unit-tested in test_rules
        assert int8.status == "rejected" and "slower than FP32 on onnxruntime" in " ".join(int8.reasons)
        assert report.best_key != int8.key


def test_cancel_between_steps_raises_cancelled(world):
    model, data = world
    stop = threading.Event()
    with pytest.raises(Cancelled):
        plan(model.path, data=data, cache=False, progress=lambda event: stop.set(), cancel=stop, **FAST)


def test_config_saved_as_yaml_replays_with_edgekit_run(world, tmp_path, capsys):
    from edgekit.cli import main

    model, data = world
    config = PlanConfig(model=str(model.path), data=str(data), methods=("fp32",), seconds=0.3)
    path = config.save(tmp_path / "plan.yaml")
    assert PlanConfig.load(path) == config
    assert main(["run", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # the replay plans what the file says (fp32 only); which runtime wins is measured, never assumed
    # (it asserted onnxruntime, and CI's busy run measured OpenVINO faster)
    assert out["config"]["methods"] == ["fp32"] and out["best_key"].endswith("/cpu/fp32")
    assert {c["precision"] for c in out["candidates"]} == {"fp32"}


def test_cli_plan_for_raspberry_pi_5_prints_estimates(world, capsys):
    from edgekit.cli import main

    model, data = world
    code = main(["plan", str(model.path), "--target", "raspberry-pi-5", "--data", str(data), "--methods", "fp32",
                 "--seconds", "0.3"])
    out = capsys.readouterr().out
    assert code == 0 and "est." in out and "Decision log" in out
    assert "Nothing saved: add --out plan/" in out  # how to keep it for edgekit deploy


def test_cli_plan_out_says_how_to_deploy_it(world, tmp_path, capsys):
    from edgekit.cli import main

    model, data = world
    folder = tmp_path / "plan"
    assert main(["plan", str(model.path), "--data", str(data), "--methods", "fp32", "--seconds", "0.3",
                 "--out", str(folder)]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert f"Report written to {folder}" in said and f"edgekit deploy {folder} --out bundle/" in said
    assert main(["deploy", str(folder), "--out", str(tmp_path / "bundle"), "--samples", "4"]) == 0


def test_verify_re_measures_the_top_candidates(world):
    model, data = world
    report = plan(model.path, data=data, methods=("fp32", "fp16"), verify=True, cache=False, **FAST)
    assert report.verified and set(report.verified) <= {c.key for c in report.candidates}
    assert any(line.startswith(("Verified", "Verify")) for line in report.log)


def _with_checkpoint(tmp_path, make_onnx):
    """A tiny ONNX model whose card and ``.pt`` checkpoint give the planner its PyTorch twin."""
    import torch

    from edgekit.zoo import create_model

    model = make_onnx(tmp_path, "tinycnn", 32, "net")
    card = json.loads(model.path.with_suffix(".json").read_text())
    card.update(architecture="tinycnn", arch_kwargs={"num_classes": 4}, input_size=[3, 32, 32])
    model.path.with_suffix(".json").write_text(json.dumps(card))
    torch.save(create_model("tinycnn", num_classes=4).state_dict(), model.path.with_suffix(".pt"))
    return model


def test_pruned_and_eager_candidates_come_from_the_pytorch_checkpoint(world, tmp_path, make_onnx):
    _, data = world
    model = _with_checkpoint(tmp_path, make_onnx)
    report = plan(model.path, data=data, methods=("fp32", "prune"), cache=False, **FAST)
    by = {c.key: c for c in report.candidates}
    eager, pruned, fp32 = by["torch/cpu/eager"], by["onnxruntime/cpu/pruned"], by["onnxruntime/cpu/fp32"]
    assert eager.p50_ms and report.eager_ms == eager.p50_ms
    assert pruned.model["flops"] < fp32.model["flops"]
    if pruned.latency_ms > fp32.latency_ms:  # slower: rejected, or kept as a tie within the noise, said so
        rejected = pruned.status == "rejected" and "slower than FP32" in pruned.reasons[0]
        tie = pruned.status != "rejected" and any("as fast as FP32" in n and "within noise" in n for n in pruned.notes)
        assert rejected or tie, (pruned.status, pruned.reasons, pruned.notes)


def test_a_dataset_object_is_planned_like_its_folder_and_keys_the_cache(world):
    from edgekit.data import ArrayDataset, ImageFolder

    model, data = world
    folder = ImageFolder(data)
    images, labels = zip(*folder)
    dataset = ArrayDataset(list(images), list(labels), folder.classes)
    first = plan(model.path, data=dataset, methods=("fp32",), **FAST)
    again = plan(model.path, data=dataset, methods=("fp32",), **FAST)
    other = ArrayDataset(list(images[::-1]), list(labels[::-1]), folder.classes)
    changed = plan(model.path, data=other, methods=("fp32",), **FAST)
    assert any("given dataset" in line for line in first.log)
    assert first.best.accuracy == plan(model.path, data=data, methods=("fp32",), cache=False, **FAST).best.accuracy
    assert again.cache_hit and not changed.cache_hit


def test_pytorch_eager_on_an_absent_pi_is_not_given_the_onnxruntime_estimate(world, tmp_path, make_onnx):
    _, data = world
    model = _with_checkpoint(tmp_path, make_onnx)
    report = plan(model.path, target="raspberry-pi-5", data=data, methods=("fp32",), cache=False, **FAST)
    by = {c.key: c for c in report.candidates}
    eager, ort = by["torch/cpu/eager"], by["onnxruntime/cpu/fp32"]
    assert eager.status == "rejected" and eager.estimate is None
    assert "unavailable for torch/cpu" in eager.reasons[0] and "runtime: torch" in eager.reasons[0]
    assert ort.is_estimate and any("tflite's stands in" in b for b in ort.estimate.basis)


def test_iter_plan_yields_progress_events_and_closing_it_stops_the_plan(world):
    import threading

    from edgekit.planner import iter_plan

    model, data = world
    gen = iter_plan(PlanConfig(model=str(model.path), data=str(data), cache=False, seconds=0.3))
    stages = []
    for event in gen:
        stages.append(event.stage)
        if event.stage == "building":
            break
    gen.close()  # cancels the plan at its next event and waits for its thread
    assert stages[0] == "loading" and "building" in stages
    assert not [t for t in threading.enumerate() if t.name == "edgekit-plan"]



def test_the_cli_default_methods_are_the_planners():
    """The CLI spells its default out (importing the planner's config would slow ``edgekit --help``):
    the two must not drift apart (bf16 was added to one)."""
    import typer

    from edgekit.cli import app
    from edgekit.planner.config import DEFAULT_METHODS

    plan = typer.main.get_command(app).commands["plan"]
    methods = next(p for p in plan.params if p.name == "methods")
    assert methods.default == ",".join(DEFAULT_METHODS)
    assert f"[default: {', '.join(DEFAULT_METHODS)}]" in methods.help


def test_a_plan_file_accepts_every_method_the_planner_knows():
    """The plan file's schema lists the methods again (a Literal): a method added to the planner is
    refused in plan.yaml until it is added there too (bf16 was)."""
    from typing import get_args

    from edgekit.planner.config import METHODS
    from edgekit.planner.config_schema import Method

    assert set(get_args(Method)) == set(METHODS)

