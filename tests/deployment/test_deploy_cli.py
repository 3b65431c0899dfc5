"""``edgekit deploy`` from a model file, with an image-folder validation set."""

from __future__ import annotations

import json

import cv2

from edgekit.cli import main
from edgekit.deployment import Bundle


def test_deploy_cli_writes_a_zip_and_refuses_to_overwrite(tiny_model, dataset, tmp_path, capsys):
    for i, (image, label) in enumerate(dataset[:8]):
        folder = tmp_path / "val" / tiny_model.labels[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i}.png"), image)
    out = tmp_path / "tiny.zip"
    args = ["deploy", str(tiny_model.path), "--out", str(out), "--data", str(tmp_path / "val"), "--samples", "6"]
    assert main(args) == 0
    assert "bundle written" in capsys.readouterr().out
    manifest = Bundle.open(out).manifest
    assert manifest.validation["samples"] == 6 and manifest.validation["accuracy"] is not None
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force", "--backend", "openvino"]) == 0
    assert Bundle.open(out).manifest.backend == "openvino"


def test_demo_model_bundle_carries_its_held_out_digits(tmp_path, capsys):
    import pytest

    from edgekit.zoo.hub import assets_dir

    if not (assets_dir("models") / "digits.onnx").is_file():
        pytest.skip("demo:digits is not in assets/models (train it with: python tools/train_demo.py)")
    out = tmp_path / "digits.zip"
    assert main(["deploy", "demo:digits", "--out", str(out), "--samples", "32"]) == 0
    manifest = Bundle.open(out).manifest
    assert manifest.serve_name == "demo_digits" and manifest.labels == tuple(str(d) for d in range(10))
    assert manifest.validation["samples"] == 32 and manifest.validation["accuracy"] >= 0.9
    capsys.readouterr()
    main(["verify", str(out), "--json"])  # exit code depends on latency too, which is noise on CI
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["sample accuracy"]["ok"] is True and checks["top-1 agreement with deploy time"]["ok"] is True



def test_deploy_cli_from_a_saved_plan_json(tiny_model, tmp_path):
    """``edgekit plan --out DIR`` writes DIR/report.json; ``edgekit deploy DIR/report.json`` packages its choice.

    Run in a fresh interpreter: the bug it guards against (``from edgekit import plan`` giving the
    ``plan()`` function, not the package) only shows when nothing imported ``edgekit.plan`` before.
    """
    import subprocess
    import sys

    cand = {"key": "onnxruntime/cpu/fp32", "backend": "onnxruntime", "device": "cpu", "precision": "fp32",
            "method": "fp32", "model": tiny_model.to_dict(), "p50_ms": 1.0, "accuracy": 0.5, "status": "chosen"}
    report = {"model": "tiny", "model_sha256": "0" * 64, "target": "local", "estimated": False,
              "candidates": [cand], "best_key": cand["key"], "log": ["chose onnxruntime/cpu/fp32"]}
    plan_json = tmp_path / "report.json"
    plan_json.write_text(json.dumps(report, default=str))
    out = tmp_path / "bundle"
    cmd = [sys.executable, "-m", "edgekit", "deploy", str(plan_json), "--out", str(out), "--samples", "4"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert "bundle written" in done.stdout
    assert Bundle.open(out).manifest.backend == "onnxruntime"


def test_deploy_cli_takes_the_folder_plan_wrote(tiny_model, tmp_path, capsys):
    """``edgekit plan M --out plan/`` then ``edgekit deploy plan/``: the folder is the plan (it said "is a
    folder holding no .onnx or .xml file; pass the model file itself")."""
    cand = {"key": "onnxruntime/cpu/fp32", "backend": "onnxruntime", "device": "cpu", "precision": "fp32",
            "method": "fp32", "model": tiny_model.to_dict(), "p50_ms": 1.0, "accuracy": 0.5, "status": "chosen"}
    folder = tmp_path / "plan.json"  # a folder, named as a user might
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps(
        {"model": "tiny", "model_sha256": "0" * 64, "target": "local", "estimated": False, "candidates": [cand],
         "best_key": cand["key"], "log": []}, default=str))
    out = tmp_path / "bundle"
    assert main(["deploy", str(folder), "--out", str(out), "--samples", "4"]) == 0, capsys.readouterr().err
    assert "bundle written" in capsys.readouterr().out
    assert Bundle.open(out).manifest.backend == "onnxruntime"


def test_deploy_cli_refuses_a_misspelt_target(tiny_model, tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["deploy", str(tiny_model.path), "--out", str(out), "--target", "raspbery-pi-5"]) == 2
    err = capsys.readouterr().err
    assert "unknown target 'raspbery-pi-5'" in err and "raspberry-pi-5" in err
    assert not out.exists()


def test_deploy_for_a_pi_offers_no_openvino_fallback(tiny_model, dataset, tmp_path, capsys):
    out = tmp_path / "pi"
    assert main(["deploy", str(tiny_model.path), "--out", str(out), "--target", "raspberry-pi-5", "--samples", "4"]) == 0
    assert "fallbacks: none" in capsys.readouterr().out
    bundle = Bundle.open(out)
    assert [b["backend"] for b in bundle.manifest.backends] == ["onnxruntime"]
    assert "allowed fallbacks: none" in (out / "README.md").read_text()
    laptop = tmp_path / "laptop"  # a target that lists OpenVINO keeps it as the fallback
    assert main(["deploy", str(tiny_model.path), "--out", str(laptop), "--target", "x86-avx2-laptop",
                 "--samples", "4"]) == 0
    assert [b["backend"] for b in Bundle.open(laptop).manifest.backends] == ["onnxruntime", "openvino"]


def test_deploy_refuses_a_backend_the_target_does_not_run(tiny_model, dataset, tmp_path, capsys):
    out = tmp_path / "pi-ov"
    code = main(["deploy", str(tiny_model.path), "--out", str(out), "--target", "raspberry-pi-5",
                 "--backend", "openvino", "--samples", "4"])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "raspberry-pi-5" in err and "does not run openvino/cpu/fp32" in err and "onnxruntime on cpu" in err


def test_deploy_prints_a_name_in_brackets_and_the_name_it_is_served_as(tiny_model, dataset, tmp_path, capsys):
    """A compressed model is named "X [int8-ac]": rich took "[int8-ac]" for markup and printed "X  on
    onnxruntime"; and the server answered 404 to /v2/models/X, as it serves "X_int8-ac"."""
    import shutil

    from edgekit.deployment.manifest import safe_name

    source = tmp_path / "tiny [int8-ac].onnx"
    shutil.copy(tiny_model.path, source)
    shutil.copy(tiny_model.path.with_suffix(".json"), source.with_suffix(".json"))
    for i, (image, label) in enumerate(dataset[:4]):
        folder = tmp_path / "val" / tiny_model.labels[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i}.png"), image)
    out = tmp_path / "out [1].zip"
    assert main(["deploy", str(source), "--out", str(out), "--data", str(tmp_path / "val"), "--samples", "4"]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # lines wrapped at the terminal's width joined
    assert "tiny [int8-ac] on onnxruntime" in printed and "out [1].zip" in printed
    assert f"(as {safe_name('tiny [int8-ac]')})" in printed and Bundle.open(out).manifest.serve_name in printed


def test_the_next_commands_it_suggests_can_be_pasted_for_a_folder_with_a_space(tiny_model, tmp_path, capsys,
                                                                               monkeypatch):
    """`edgekit deploy ... --out 'my bundle'` suggested `edgekit verify .../my bundle`, which a shell
    reads as two arguments; the paths in the suggested commands are quoted as a shell needs them."""
    import shlex

    monkeypatch.setenv("COLUMNS", "400")  # one line per hint
    out = tmp_path / "my bundle"
    assert main(["deploy", str(tiny_model.path), "--out", str(out), "--assume-defaults", "--samples", "4"]) == 0
    said = capsys.readouterr().out
    suggested = said.split("on the device: ", 1)[1].split(";", 1)[0]  # "edgekit verify '.../my bundle'"
    assert shlex.split(suggested) == ["edgekit", "verify", str(out)], suggested  # as a shell reads it
    assert main(shlex.split(suggested)[1:]) == 0


def test_a_backend_the_plan_rejected_for_accuracy_on_this_file_is_no_fallback(tiny_model, tmp_path, capsys):
    """A plan that ran the chosen INT8 file on OpenVINO too and rejected it for accuracy (its sums
    saturate on an x86 CPU without VNNI) must not have its bundle fall back to OpenVINO: it was
    packaged with ``fallbacks: openvino``, the very loss the plan had measured. A backend rejected
    only on another file, or within the budget, stays a fallback."""
    import pytest

    pytest.importorskip("openvino")
    folder = tmp_path / "plan"
    folder.mkdir()
    model = {**tiny_model.to_dict(), "path": str(tiny_model.path)}

    def plan(drop: float, other_model: dict) -> None:
        chosen = {"key": "onnxruntime/cpu/fp32", "backend": "onnxruntime", "device": "cpu", "precision": "fp32",
                  "method": "fp32", "model": model, "p50_ms": 1.0, "accuracy": 0.75, "drop": 0.0,
                  "status": "chosen"}
        other = {**chosen, "key": "openvino/cpu/fp32", "backend": "openvino", "model": other_model,
                 "accuracy": 0.75 - drop, "drop": drop, "status": "rejected" if drop > 0.01 else "valid"}
        (folder / "report.json").write_text(json.dumps(
            {"model": "tiny", "model_sha256": "0" * 64, "target": "local", "estimated": False,
             "candidates": [chosen, other], "best_key": chosen["key"], "log": [],
             "config": {"max_accuracy_drop": 0.01}}, default=str))

    import warnings

    from edgekit.errors import EdgekitWarning

    plan(0.042, model)
    out = tmp_path / "bundle"
    with warnings.catch_warnings():
        warnings.simplefilter("always", EdgekitWarning)  # as a user sees it: one line, the run goes on
        assert main(["deploy", str(folder), "--out", str(out), "--samples", "4"]) == 0
    said = capsys.readouterr()
    assert "fallbacks: none" in said.out
    assert "warning: openvino is not offered as a fallback" in said.err and "4.20 points over" in said.err
    assert [b["backend"] for b in Bundle.open(out).manifest.backends] == ["onnxruntime"]
    for drop, other_model, name in ((0.004, model, "within"), (0.042, {**model, "path": "elsewhere.xml"}, "other")):
        plan(drop, other_model)
        assert main(["deploy", str(folder), "--out", str(tmp_path / name), "--samples", "4"]) == 0
        assert [b["backend"] for b in Bundle.open(tmp_path / name).manifest.backends] == ["onnxruntime", "openvino"]
    edited = json.loads((folder / "report.json").read_text())  # a hand-edited plan: words where numbers were
    edited["config"]["max_accuracy_drop"], edited["candidates"][1]["drop"] = "1 point", "a lot"
    (folder / "report.json").write_text(json.dumps(edited))
    assert main(["deploy", str(folder), "--out", str(tmp_path / "edited"), "--samples", "4"]) == 0
