"""``edgekit plan --out DIR`` and ``edgekit run p.yaml`` (its ``out:``) never silently replace a report
folder: one that holds anything is refused before any work unless ``--force``, and a run is all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit._owned import OWN_LIST, write_list
from edgekit.cli import main


def _old_report(folder: Path) -> Path:
    folder.mkdir()
    (folder / "report.json").write_text("old")
    return folder


def test_plan_refuses_a_folder_with_files_before_any_work(tmp_path, capsys):
    out = _old_report(tmp_path / "report")
    saved = tmp_path / "plan.yaml"
    assert main(["plan", "demo:never-loaded", "--out", str(out), "--save-config", str(saved)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{out} (set by --out) already exists" in err and "--force" in err
    assert (out / "report.json").read_text() == "old" and not saved.exists()


def test_run_refuses_the_yaml_out_folder_naming_the_yaml(tmp_path, capsys):
    out = _old_report(tmp_path / "report")
    config = tmp_path / "p.yaml"
    config.write_text(f"plan:\n  model: demo:never-loaded\n  out: {out}\n")
    assert main(["run", str(config)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{out} (set by out: in {config}) already exists" in err and "--force" in err
    assert (out / "report.json").read_text() == "old"


def test_force_that_fails_puts_the_old_folder_back(tmp_path, capsys):
    out = _old_report(tmp_path / "report")
    write_list(out)  # as a finished plan leaves it: only edgekit's files
    assert main(["plan", "demo:nope", "--out", str(out), "--force"]) == 2
    assert "demo:nope" in capsys.readouterr().err
    assert (out / "report.json").read_text() == "old" and not list(tmp_path.glob(".report*"))


def test_a_failed_run_leaves_no_folder_to_block_the_retry(tmp_path):
    assert main(["plan", "demo:nope", "--out", str(tmp_path / "new")]) == 2
    assert not (tmp_path / "new").exists()


def test_empty_folder_is_used_and_force_replaces_a_report(world, tmp_path, capsys):
    model, data = world
    out = tmp_path / "report"
    out.mkdir()
    args = ["plan", str(model.path), "--data", str(data), "--methods", "fp32", "--seconds", "0.3", "--out", str(out),
            "--json"]
    assert main(args) == 0
    capsys.readouterr()
    assert (out / OWN_LIST).is_file()
    (out / "notes.txt").write_bytes(b"the user's own notes")
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 2  # --force replaces only what edgekit wrote
    err = " ".join(capsys.readouterr().err.split())
    assert f"{out} holds files edgekit did not write (notes.txt)" in err and "move them out" in err, err
    assert (out / "notes.txt").read_bytes() == b"the user's own notes" and (out / "report.json").is_file()
    (out / "notes.txt").unlink()
    for _ in range(2):  # a pure edgekit output is replaced, again and again
        assert main([*args, "--force"]) == 0
        report = json.loads(capsys.readouterr().out)
    assert (out / "report.md").is_file()
    best = next(c for c in report["candidates"] if c["key"] == report["best_key"])
    assert Path(best["model"]["path"]).is_file()  # the report's model is in the new folder, not a deleted one
    assert not list(tmp_path.glob(".report*"))  # the old folder, set aside meanwhile, is gone


def test_force_refuses_a_folder_that_is_no_plan_output_before_any_work(tmp_path, capsys):
    out = _old_report(tmp_path / "report")  # no list of edgekit's files: e.g. the user's own folder
    (out / "thesis.tex").write_text("years of work")
    assert main(["plan", "demo:never-loaded", "--out", str(out), "--force"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "is not a plan's output folder; it holds (report.json, thesis.tex)" in err, err
    assert (out / "thesis.tex").read_text() == "years of work" and not list(tmp_path.glob(".report*"))


def test_the_python_api_refuses_and_replaces_the_same_way(world, tmp_path):
    from edgekit.errors import OutputExists
    from edgekit.planner import plan

    model, data = world
    out = tmp_path / "report"
    options = {"data": str(data), "methods": ("fp32",), "seconds": 0.2, "out": str(out)}
    plan(model.path, **options)
    with pytest.raises(OutputExists, match="already exists"):
        plan(model.path, **options)
    (out / "models" / "keep.me").write_text("mine")
    with pytest.raises(OutputExists, match="models/keep.me"):
        plan(model.path, force=True, **options)
    assert (out / "models" / "keep.me").read_text() == "mine"
    (out / "models" / "keep.me").unlink()
    report = plan(model.path, force=True, **options)
    assert Path(report.best.model["path"]).is_file() and OWN_LIST in (out / OWN_LIST).read_text()
