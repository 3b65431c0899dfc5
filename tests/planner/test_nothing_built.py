"""When no candidate could be built, the plan's error says why (each distinct reason once), not only
"none could be built" -- e.g. int8/fp16 asked of a file that is already INT8."""

from __future__ import annotations

import pytest

from edgekit.errors import BudgetNotMet
from edgekit.planner import plan, rules
from edgekit.planner.report import Candidate
from edgekit.types import CandidateStatus as Status


def test_all_failed_lists_the_distinct_reasons():
    cands = [Candidate(f"{b}/cpu/int8", b, "cpu", "int8", "int8", {}, status=Status.FAILED, reasons=(why,))
             for b, why in (("onnxruntime", "could not build: no space"), ("openvino", "could not build: no space"),
                            ("torch", "could not build: no module"))]
    with pytest.raises(BudgetNotMet) as err:
        rules.choose(cands, "latency")
    msg = str(err.value)
    assert msg.count("could not build: no space") == 1 and "could not build: no module" in msg
    assert "onnxruntime/cpu/int8, openvino/cpu/int8" in msg and "torch/cpu/int8" in msg


def test_int8_or_fp16_of_an_int8_file_says_it_is_already_int8(world, tmp_path):
    from edgekit.compress import quantize_int8
    from edgekit.data import calibration_set, open_dataset

    model, images = world
    with pytest.warns(Warning):
        int8 = quantize_int8(model, calibration_set(open_dataset(images), model, n=40), out=tmp_path / "q.onnx")
    for method in ("int8", "fp16"):
        with pytest.raises(BudgetNotMet) as err:
            plan(int8.path, data=str(images), methods=(method,), seconds=0.2)
        msg = str(err.value)
        assert "is already INT8 (a QDQ graph: " in msg, msg
        assert f"so {method} candidates cannot be made from it" in msg and "include fp32 in --methods" in msg
        assert "onnxruntime/cpu/" in msg
