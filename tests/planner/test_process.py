"""A plan in a child process: progress streamed over the pipe, cancel, and no process left behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from edgekit.errors import Cancelled
from edgekit.planner import PlanConfig
from edgekit.planner.process import run_plan_process

psutil = pytest.importorskip("psutil")


def _descendants() -> list:
    return psutil.Process().children(recursive=True)


def _config(model, data, **changes) -> PlanConfig:
    base = {"model": str(model.path), "data": str(data), "methods": ("fp32", "int8"), "seconds": 0.3,
            "max_accuracy_drop": 0.5, "cache": False}
    return PlanConfig(**{**base, **changes})


def test_plan_in_a_child_streams_monotone_progress_with_stage_names(world):
    model, data = world
    config = _config(model, data)
    events = []
    report = run_plan_process(config, progress=events.append)
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    stages = [e.stage for e in events]
    assert {"loading", "building", "calibrating", "accuracy", "benchmarking", "done"} <= set(stages), stages
    assert stages.index("building") < stages.index("accuracy") < stages.index("benchmarking")
    counted = [e for e in events if e.stage == "accuracy" and e.total]
    assert counted and all(0 < e.done <= e.total for e in counted)
    assert any(e.eta_s is not None for e in events) and events[-1].elapsed_s > 0
    ran = PlanConfig.from_dict(report.config)  # the config as run: the target's default budgets filled in
    assert report.best.status == "chosen" and ran.replace(latency_budget_ms=None, max_model_mb=None) == config
    assert not _descendants()


def test_cancel_ends_the_child_and_raises_cancelled(world):
    model, data = world
    seen: list = []

    def progress(event) -> None:
        seen.append([p.pid for p in _descendants()])
        if event.stage == "accuracy":
            raise Cancelled("enough")

    with pytest.raises(Cancelled):
        run_plan_process(_config(model, data), progress=progress)
    assert seen[0], "the plan ran in a child process"
    assert not _descendants()


def test_a_budget_error_in_the_child_comes_back_with_its_type(world):
    from edgekit.errors import BudgetNotMet

    model, data = world
    with pytest.raises(BudgetNotMet) as err:
        run_plan_process(_config(model, data, methods=("fp32",), latency_budget_ms=1e-6))
    assert err.value.closest and not _descendants()


PARENT = textwrap.dedent("""
    import sys
    from edgekit.planner import PlanConfig
    from edgekit.planner.process import run_plan_process

    config = PlanConfig(model=sys.argv[1], data=sys.argv[2], methods=("fp32", "int8"), seconds=30, cache=False)

    def progress(event):
        print("EVENT", event.stage, flush=True)

    run_plan_process(config, progress=progress)
""")


def test_killing_the_parent_leaves_no_child(world):
    model, data = world
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(model.path), str(data)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert parent.stdout.readline().startswith("EVENT"), "the plan started"
        children = psutil.Process(parent.pid).children(recursive=True)
        assert children, "the plan runs in a child of the parent"
    finally:
        parent.kill()  # SIGKILL: no atexit, no finally in the parent
        parent.wait()
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"orphaned plan processes: {[p.pid for p in alive]}"
