"""Planning a user's own model: a pre-quantized INT8 file, a saved plan deployed from elsewhere, a cache hit with a
new --out, --calib, --objective size, and tables that fit an 80-column terminal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgekit.planner import PlanConfig, plan, rules
from edgekit.planner.report import Candidate
from edgekit.types import Method

FAST = {"seconds": 0.2, "max_accuracy_drop": 0.5}


def edgekit(*args: str, cwd: Path, columns: int = 80) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "edgekit", *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd, check=False, env=env)


def fits_80_columns(text: str) -> None:
    lines = text.split("Decision log")[0].splitlines()  # the table; log sentences are free text
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    assert "…" not in text  # a number is never cut to an ellipsis


def test_objective_size_keeps_a_slower_smaller_model():
    def cand(method: str, p50: float) -> Candidate:
        return Candidate(f"ort/cpu/{method}", "onnxruntime", "cpu", method, Method(method), {}, p50_ms=p50,
                         ci_rel=0.01, size_mb=1.0)

    slower, fp32 = cand("int8", 2.0), cand("fp32", 1.0)
    assert rules.never_slower(slower, fp32, isa=("avx2",)).status == "rejected"
    kept = rules.never_slower(slower, fp32, isa=("avx2",), objective="size")
    assert kept.status != "rejected" and any("objective is size" in n for n in kept.notes)


@pytest.mark.slow
def test_saved_plan_deploys_from_another_folder_and_a_cache_hit_brings_its_models(world, tmp_path):
    model, images = world
    work = tmp_path / "work"
    work.mkdir()
    for f in (model.path, model.path.with_suffix(".json")):
        shutil.copy(f, work / f.name)
    args = ["plan", model.path.name, "--target", "local", "--data", str(images), "--methods", "fp32,int8-dynamic",
            "--objective", "size", "--seconds", "0.2", "--max-accuracy-drop", "0.5"]
    first = edgekit(*args, "--out", "p1", cwd=work)
    assert first.returncode == 0, first.stderr
    fits_80_columns(first.stdout)
    report = json.loads((work / "p1" / "report.json").read_text())
    assert report["best_key"] == "onnxruntime/cpu/int8-dynamic"  # the smallest, whatever its speed
    again = edgekit(*args, "--out", "p2", cwd=work)
    assert again.returncode == 0 and "reused from the cache" in again.stdout
    shutil.rmtree(work / "p1")  # the earlier run's folder is gone: the new report must not need it
    saved = json.loads((work / "p2" / "report.json").read_text())
    best = next(c for c in saved["candidates"] if c["key"] == saved["best_key"])
    assert not Path(best["model"]["path"]).is_absolute() and (work / "p2" / best["model"]["path"]).is_file()
    fp32 = next(c for c in saved["candidates"] if c["key"] == "onnxruntime/cpu/fp32")
    assert (work / "p2" / fp32["model"]["path"]).resolve() == (work / model.path.name).resolve()  # not copied
    assert not (work / "p2" / "models" / "models").exists() and not (work / "p2" / "models" / "work").exists()
    shutil.rmtree(work / "p2")  # every cached model file gone: measured again, not a report of missing files
    third = edgekit(*args, "--out", "p3", cwd=work)
    assert third.returncode == 0 and "reused from the cache" not in third.stdout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    deployed = edgekit("deploy", str(work / "p3" / "report.json"), "--out", "bundle", cwd=elsewhere)
    assert deployed.returncode == 0, deployed.stderr
    assert json.loads((elsewhere / "bundle" / "manifest.json").read_text())["precision"] == "int8-dynamic"


def _quantized(model, images, tmp_path):
    from edgekit.compress import quantize_int8
    from edgekit.data import calibration_set, open_dataset

    with pytest.warns(Warning):
        return quantize_int8(model, calibration_set(open_dataset(images), model, n=40), out=tmp_path / "q.onnx")


@pytest.mark.slow
def test_a_pre_quantized_model_is_planned_as_int8_and_its_accuracy_measured(world, tmp_path):
    model, images = world
    int8 = _quantized(model, images, tmp_path)
    events = []
    report = plan(int8.path, data=str(images), progress=events.append, **FAST)
    said = {e.message for e in events if e.stage == "accuracy"}
    # the reference it scores is the INT8 file as stored, not an FP32 model it does not have
    assert any(m.startswith("reference (int8, as stored)") for m in said) and not any("FP32" in m for m in said), said
    keys = [c.key for c in report.candidates]
    assert keys and all(k.endswith("/int8") for k in keys), keys  # its own precision, never "fp32"
    assert all(c.precision == "int8" for c in report.candidates)
    assert report.best.accuracy is not None  # measured, never assumed
    assert any("already quantized" in line for line in report.log)
    assert any(line.startswith(f"Data: the {images} images; all ") for line in report.log), report.log
    assert report.best.n == sum(1 for _ in images.rglob("*.png"))  # nothing to calibrate: every image validates


def test_an_fp16_model_is_planned_as_fp16_on_every_backend(world, tmp_path):
    from edgekit.compress import to_fp16

    model, images = world
    fp16 = to_fp16(model, tmp_path / "m16.onnx")
    report = plan(fp16.path, data=str(images), **FAST)
    keys = [c.key for c in report.candidates]
    assert keys and all(k.endswith("/fp16") for k in keys), keys  # the model's own precision, never "fp32"
    assert any("stored in FP16" in line for line in report.log)
    assert report.best.accuracy is not None


@pytest.mark.slow
def test_calib_dir_calibrates_and_every_data_image_validates(world, tmp_path):
    model, images = world
    calib = tmp_path / "calib"
    shutil.copytree(images, calib)
    config = PlanConfig(model=str(model.path), data=str(images), calibration=str(calib), methods=("fp32", "int8"),
                        **FAST)
    report = plan(model, config=config)
    assert any(f"calibration from the {sum(1 for _ in calib.rglob('*.png'))} images of {calib}" in line
               for line in report.log)
    assert report.best.n == sum(1 for _ in images.rglob("*.png"))
    assert PlanConfig.from_dict(config.to_dict()).calibration == str(calib)


def test_plan_cli_has_calib(tmp_path):
    done = edgekit("plan", "--help", cwd=tmp_path, columns=200)
    assert "--calib" in done.stdout


def test_bench_table_fits_80_columns(world, tmp_path):
    model, _ = world
    done = edgekit("bench", str(model.path), "--backend", "onnxruntime", "--seconds", "0.2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    fits_80_columns(done.stdout)
    assert "p50 ms" in done.stdout and "left out" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.strip().startswith("onnxruntime")).split()
    p50 = next(cell for cell in row[row.index("ok") + 1:] if not cell.startswith("["))
    assert np.isfinite(float(p50))  # the p50 figure is printed whole


def test_a_cache_hit_for_a_bundled_demo_copies_only_the_models_it_built(tmp_path, monkeypatch):
    """The demo's own file stays in the package; only built candidates move into the new folder."""
    from edgekit.planner import plan

    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    kw = {"methods": ("fp32", "int8-dynamic"), "seconds": 0.2, "max_accuracy_drop": 0.5, "objective": "size"}
    plan("demo:digits", out=str(tmp_path / "a"), **kw)
    hit = plan("demo:digits", out=str(tmp_path / "b"), **kw)
    assert hit.cache_hit
    folders = sorted(p.name for p in (tmp_path / "b" / "models").iterdir())
    assert folders and "models" not in folders, folders  # was b/models/models/digits.onnx
    for c in hit.candidates:
        if c.method == "int8-dynamic":
            assert Path(c.model["path"]).resolve().is_relative_to((tmp_path / "b").resolve())


def test_a_checkpoint_beside_the_model_that_does_not_load_is_named_and_the_plan_goes_on(tmp_path):
    """A mismatched ``X.pt`` beside ``X.onnx`` (architecture from the card) was skipped in silence:
    "No PyTorch module for this model", as if there were none."""
    pytest.importorskip("torch")
    from edgekit._assets import assets_dir

    for suffix in (".onnx", ".json"):
        shutil.copy(assets_dir() / f"digits-mnv2{suffix}", tmp_path / f"m{suffix}")
    shutil.copy(assets_dir() / "digits.pt", tmp_path / "m.pt")  # another architecture's weights
    report = plan(str(tmp_path / "m.onnx"), methods=("fp32",), **FAST)
    said = [line for line in report.log if line.startswith("No PyTorch-eager baseline, no pruning: ")]
    assert said and "m.pt, the PyTorch checkpoint beside m.onnx, does not load as the card's architecture" in said[0]
    assert report.best is not None and report.best.method == "fp32"
