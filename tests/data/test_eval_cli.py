"""`edgekit eval`: per-class table + summary, JSON, and clear errors."""

from __future__ import annotations

import json
import warnings

import cv2

from edgekit.cli import main
from edgekit.data import demo_digits
from edgekit.errors import EdgekitWarning


def write_digits(folder, n: int) -> None:
    """The first ``n`` demo-digits test images as ``folder/<label>/<i>.png``."""
    ds = demo_digits("test")
    for i in range(n):
        image, label = ds[i]
        (folder / str(label)).mkdir(exist_ok=True)
        cv2.imwrite(str(folder / str(label) / f"{i}.png"), image)


def test_eval_demo_test_prints_accuracy_and_per_class_table(capsys):
    assert main(["eval", "demo:digits", "--data", "demo-test"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "95% CI" in out and "n=539" in out
    acc = float(out.split("accuracy ")[1].split("%")[0])
    assert acc >= 97.0
    for col in ("precision", "recall", "F1", "support"):
        assert col in out


def test_eval_json_on_an_image_folder(tmp_path, capsys):
    write_digits(tmp_path, 40)
    assert main(["eval", "demo:digits", "--data", str(tmp_path), "--limit", "30", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["metrics"]["n"] == 30 and len(data["predictions"]) == 30
    assert data["metrics"]["accuracy"] >= 0.8


def test_eval_with_classes_the_model_does_not_know(tmp_path, capsys):
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "a.png"), demo_digits("test")[0][0])
    assert main(["eval", "demo:digits", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'cat'" in err and "labels" in err


def test_eval_missing_data_is_one_error_line(tmp_path, capsys):
    assert main(["eval", "demo:digits", "--data", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err


def test_eval_skips_a_truncated_image_and_says_so(tmp_path, capsys):
    write_digits(tmp_path, 20)
    victim = next(tmp_path.glob("*/3.png"))
    whole = victim.read_bytes()
    victim.write_bytes(whole[: len(whole) // 2])  # a valid header, a body cut short
    with warnings.catch_warnings():
        warnings.simplefilter("always", EdgekitWarning)  # as a user sees it: one line, the run goes on
        assert main(["eval", "demo:digits", "--data", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "n=19" in captured.out and "1 unreadable image(s) skipped" in captured.out
    assert "warning:" in captured.err and "skipped unreadable image 3.png" in captured.err


def test_many_classes_list_the_worst_and_keep_the_headline_in_view():
    """An ImageNet model on 500 photos printed 540 table rows before its accuracy; past 20 classes the
    table lists the 20 with the lowest F1, worst first, says so, and --all-classes lists every one."""
    from types import SimpleNamespace

    from rich.console import Console

    from edgekit.cli.eval import ROWS, render
    from edgekit.evaluation.metrics import compute_metrics

    classes = [f"class{i:02d}" for i in range(30)]
    y_true = list(range(30)) * 2
    y_pred = list(y_true)
    y_pred[3] = y_pred[33] = 4  # class03 never right: F1 0
    y_pred[7] = 8  # class07 half right
    result = SimpleNamespace(model="m", backend="onnxruntime", device="cpu", precision="fp32", seconds=1.0,
                             skipped=0, notes=[], metrics=compute_metrics(y_true, y_pred, classes=classes))

    def shown(table) -> list[str]:
        console = Console(width=120, record=True)
        console.print(table)
        text = console.export_text()
        return sorted((name for name in classes if name in text), key=text.index), text  # in table order

    table, summary = render(result)
    names, text = shown(table)
    assert len(names) == ROWS and names[:2] == ["class03", "class04"] and "class07" in names
    assert summary.startswith(f"above: the {ROWS} of 30 classes with the lowest F1; --all-classes lists every one\n")
    table, summary = render(result, all_classes=True)
    names, text = shown(table)
    assert names == classes and "lowest F1" not in text + summary


def test_the_data_may_follow_the_model_as_a_second_argument(tmp_path, capsys):
    """``edgekit eval model.onnx photos/`` said "Missing option '--data'"; a newcomer reads the positional
    form first (as ``edgekit demo MODEL``)."""
    write_digits(tmp_path, 30)
    assert main(["eval", "demo:digits", str(tmp_path), "--json"]) == 0
    positional = json.loads(capsys.readouterr().out)
    assert main(["eval", "demo:digits", "--data", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["accuracy"] == positional["metrics"]["accuracy"]
    assert positional["metrics"]["n"] == 30
    assert main(["eval", "demo:digits"]) == 2
    assert "edgekit eval MODEL DATA (or --data DATA)" in " ".join(capsys.readouterr().err.replace("│", " ").split())
    assert main(["eval", "demo:digits", str(tmp_path), "--data", "demo-test"]) == 2
    assert "two data sets given" in capsys.readouterr().err
