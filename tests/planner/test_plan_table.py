"""``edgekit plan``'s candidates table in a narrow terminal: one line per candidate when it fits."""

from __future__ import annotations

from rich.console import Console

from edgekit.cli.plan import render
from edgekit.planner.report import Candidate, Report

# the nine candidates a plan of demo:digits-mnv2 measures on a CPU with OpenVINO (keys as the planner makes them)
KEYS = ("onnxruntime/cpu/fp32", "onnxruntime/cpu/fp16", "onnxruntime/cpu/int8", "onnxruntime/cpu/int8-dynamic",
        "openvino/cpu/fp32", "openvino/cpu/fp16", "openvino/cpu/int8", "torch/cpu/eager",
        "openvino/cpu/int8@onnxruntime")


def _report(keys=KEYS) -> Report:
    cands = []
    for i, key in enumerate(keys):
        backend, device, method = key.split("/", 2)
        method = method.split("@")[0]  # int8@onnxruntime: onnxruntime's INT8 file run on openvino
        cands.append(Candidate(key=key, backend=backend, device=device, precision="fp32", method=method, model={},
                               p50_ms=51.7 if "dynamic" in key else 2.0 + i / 10, ci_rel=0.02, accuracy=0.9814,
                               accuracy_ci=(0.966, 0.99), drop=0.0, drop_ci=(0.0, 0.0), size_mb=2.68,
                               speedup=0.07 if "dynamic" in key else 1.0,
                               speedup_ci=(0.06, 0.08) if "dynamic" in key else (0.9, 1.1),
                               status="rejected" if "dynamic" in key else "valid"))
    return Report(model="demo:digits-mnv2", model_sha256="0" * 64, target="local", estimated=False,
                  candidates=tuple(cands), best_key=keys[0], log=("chosen",))


def _lines(report: Report, width: int) -> list[str]:
    console = Console(width=width, record=True, force_terminal=False)
    console.print(render(report, width))
    return console.export_text().splitlines()


def test_every_candidate_key_stays_on_one_line_at_80_columns():
    """At 80 columns every key was split after ``backend/device/`` ("onnxruntime/cpu/" above
    "fp32"), so each row took two lines and the table was twice as tall; the rows fit on one."""
    lines = _lines(_report(), 80)
    assert max(len(line.rstrip()) for line in lines) <= 80
    for key in KEYS:
        row = [line for line in lines if line.split() and line.split()[0] == key]
        assert len(row) == 1, (key, lines)
        assert "98.14%" in row[0] and row[0].rstrip().endswith("2.68")  # the whole row, no cell cut
    assert "0.07x" in next(line for line in lines if line.startswith("onnxruntime/cpu/int8-dynamic"))
    assert len([line for line in lines if line.strip()]) == len(KEYS) + 3  # title, heading, rule


def test_a_key_is_split_only_where_the_rows_cannot_fit():
    """Narrower than one-line rows need, the key breaks after ``backend/device/`` as before,
    never mid-word, and the numbers next to it stay whole."""
    lines = _lines(_report(), 64)
    assert any(line.startswith("openvino/cpu/ ") for line in lines), lines
    assert any(line.split()[:1] == ["int8@onnxruntime"] for line in lines), lines
    assert all("98.14" in line for line in lines if line.startswith(("onnxruntime/cpu/", "openvino/cpu/")))


def test_a_detector_plan_fits_80_columns_with_its_metric_named_in_the_title():
    """"mAP@0.5:0.95" as a heading made the rows too wide for one line; the column says "mAP"
    and the title says which mAP."""
    from dataclasses import replace

    lines = _lines(replace(_report(), metric="mAP@0.5:0.95"), 80)
    assert "mAP@0.5:0.95" in lines[0] and lines[1].split()[5] == "mAP"
    assert [line.split()[0] for line in lines[3:] if line.strip()] == list(KEYS)


def test_narrower_still_a_column_is_left_out_and_said_so_rather_than_its_numbers_cropped():
    """At 60 columns the split rows were still too wide and rich cropped the sizes to "2"; now
    the "MB" column is left out, the caption says so, and every number shown is whole."""
    lines = _lines(_report(), 60)
    assert max(len(line.rstrip()) for line in lines) <= 60
    assert "MB" not in lines[1].split() and lines[-1].startswith("left out at 60 columns: MB")
    rows = [line for line in lines if line.startswith(("onnxruntime/cpu/", "openvino/cpu/", "torch/cpu/"))]
    assert len(rows) == len(KEYS) and all(line.rstrip().endswith("98.14% +0.00") for line in rows), rows
