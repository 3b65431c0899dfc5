"""The whole loop against the loopback device: add -> check -> bench --device -> plan --target -> deploy --to."""

from __future__ import annotations

import json
import re

import pytest
from conftest import EDGEKIT

from edgekit.cli import main

pytestmark = pytest.mark.slow


def _json(out: str) -> dict:
    """The JSON document on stdout (NNCF prints its own progress bar to stdout before it)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("{"))
    return json.loads("\n".join(lines[start:]))


def test_full_loop_figures_come_back_measured_on_the_device(server, client_key, tmp_path, capsys):
    url = f"ssh://edge@127.0.0.1:{server.port}"
    work = str(server.home / "edgekit-work")
    assert main(["device", "add", "loop", url, "--key", str(client_key), "--edgekit", EDGEKIT, "--workdir", work,
                 "--timeout", "5"]) == 0
    assert main(["device", "trust", "loop", "--yes"]) == 0
    assert main(["device", "check", "loop"]) == 0
    assert "ready" in capsys.readouterr().out

    assert main(["bench", "demo:digits", "--device", "loop", "--backend", "onnxruntime", "--seconds", "0.3",
                 "--json"]) == 0
    bench = json.loads(capsys.readouterr().out)
    assert bench["measured_on_device"] and bench["device"] == "loop"
    assert bench["results"][0]["status"] == "ok" and bench["results"][0]["latency_ms"]["p50"] > 0
    assert bench["profile"]["fingerprint"] if "fingerprint" in bench["profile"] else bench["profile"]["cpu_name"]
    assert server.count("device measure") == 1

    out = tmp_path / "plan"
    assert main(["plan", "demo:digits", "--target", "loop", "--methods", "fp32,int8", "--seconds", "0.3",
                 "--out", str(out), "--json"]) == 0
    report = _json(capsys.readouterr().out)
    assert report["target"] == "loop" and report["estimated"] is False
    assert report["hardware"]["measured_on"].startswith("measured on device loop")
    measured = [c for c in report["candidates"] if c["p50_ms"] is not None]
    assert measured and all(any(n.startswith("measured on device loop") for n in c["notes"]) for c in measured)
    assert all(c["estimate"] is None for c in report["candidates"])
    assert any("Target loop: latency measured on device loop" in line for line in report["log"])
    assert server.count("device measure") == 2  # the plan's candidates timed together, interleaved, in one call
    together = [c for c in server.commands if "device measure" in c][-1]
    assert together.count("/bundles/") == len(measured)

    bundle = tmp_path / "bundle"
    assert main(["deploy", str(out / "report.json"), "--out", str(bundle), "--to", "loop", "--json"]) == 0
    deployed = json.loads(capsys.readouterr().out)
    assert deployed["device"]["passed"] and deployed["device"]["report"]["checks"]
    assert deployed["manifest"]["target"] == "loop"
    figures = deployed["manifest"]["figures"]  # the device's measurement, labelled so (not the build machine's CPU)
    assert figures["measured_on_device"] == "loop" and figures["measured_on"].startswith("measured on device loop")
    assert server.count(" verify ") == 1


def test_a_device_dropping_mid_plan_is_measured_again_by_the_same_command(device, server, capsys):
    args = ["plan", "demo:digits", "--target", "loop", "--methods", "fp32,int8", "--seconds", "0.3", "--json"]
    server.drop_on = ("device measure", 0)  # the link dies while the candidates are timed
    assert main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert re.search(r"measured 0 of [45] candidates", err) and "missing:" in err and "Re-run the same command" in err
    missing = err.split("missing: ")[1].split(".")[0].split(", ")
    server.drop_on = None
    before = server.count("device measure")
    assert main(args) == 0
    report = _json(capsys.readouterr().out)
    assert server.count("device measure") - before == 1  # the missing ones, timed together
    assert [c for c in server.commands if "device measure" in c][-1].count("/bundles/") == len(missing)
    assert not [c for c in report["candidates"] if any("resumed" in n for n in c["notes"])]


def test_a_finished_measurement_is_not_resumed_later(device, server):
    """Figures are stored for a plan the device drops out of; kept after a plan finished, a plan of the
    same model and settings later took them as "resumed from an interrupted run" and measured nothing."""
    from edgekit.devices.planning import DeviceMeasurer
    from edgekit.models import load_model

    items = [("onnxruntime/cpu/fp32", load_model("demo:digits"), "onnxruntime", "cpu", "fp32")]
    DeviceMeasurer(device).measure(items, 0.2)
    measurer = DeviceMeasurer(device)
    measurer.measure(items, 0.2)
    assert server.count("device measure") == 2
    assert not measurer.measured["onnxruntime/cpu/fp32"].resumed


def test_cancelling_a_plan_stops_the_measurement_on_the_device(device, server):
    import threading
    import time

    from edgekit.errors import Cancelled
    from edgekit.planner import plan
    from edgekit.progress import CancelToken

    token = CancelToken()

    def cancel_once_it_runs_there() -> None:
        deadline = time.monotonic() + 300
        while server.count("device measure") == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        token.cancel()

    watcher = threading.Thread(target=cancel_once_it_runs_there, daemon=True)
    watcher.start()
    try:
        report = plan("demo:digits", target="loop", methods=("fp32",), seconds=60, cache=False, cancel=token)
    except Cancelled:
        pass
    else:  # say what happened instead (it finished once in CI, not reproduced since)
        pytest.fail(f"the plan finished instead of being cancelled (cancel fired: {token.is_set()}): "
                    f"{[(c.key, str(c.status), c.p50_ms, c.reasons, c.notes) for c in report.candidates]}; "
                    f"commands there: {server.commands}")
    watcher.join(5)
    pid = server.pid_of("device measure")
    deadline = time.monotonic() + 10
    while server.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server.alive(pid)


def test_a_failure_of_any_kind_mid_measurement_closes_the_connection(device, monkeypatch):
    """Not only a dropped link or a cancel: whatever stops the loop, the connection and its thread go."""
    import threading

    from edgekit.devices.planning import DeviceMeasurer
    from edgekit.devices.runner import DeviceRunner
    from edgekit.models import load_model

    def broken(*_args, **_kwargs):
        raise ValueError("an unexpected failure while measuring")

    measurer = DeviceMeasurer(device)
    monkeypatch.setattr(DeviceRunner, "measure_together", broken)
    with pytest.raises(ValueError, match="unexpected failure"):
        measurer.measure([("onnxruntime/cpu/fp32", load_model("demo:digits"), "onnxruntime", "cpu", "fp32")], 0.2)
    assert "edgekit-ssh" not in [t.name for t in threading.enumerate() if t.is_alive()]


def test_a_dynamic_int8_slower_on_the_device_names_its_graph(device, capsys):
    """Timed on a device over SSH (not profiled there), a slower dynamic-INT8 candidate was rejected with
    "the quantize/dequantize overhead outweighs the compute saved (a small or Gemm-bound model)"; its
    unfused ConvInteger nodes, read from the graph, hold on any CPU."""
    args = ["plan", "demo:digits", "--target", "loop", "--methods", "fp32,int8-dynamic", "--seconds", "0.3",
            "--no-cache", "--json"]
    assert main(args) == 0
    report = _json(capsys.readouterr().out)
    dyn = next(c for c in report["candidates"] if c["key"] == "onnxruntime/cpu/int8-dynamic")
    fp32 = next(c for c in report["candidates"] if c["key"] == "onnxruntime/cpu/fp32")
    if dyn["p50_ms"] > fp32["p50_ms"] and dyn["status"] == "rejected":
        why = " ".join(dyn["reasons"])
        assert "ConvInteger node" in why and "quantize their inputs at run time" in why, why
    else:
        pytest.skip(f"dynamic INT8 was not measured slower on this machine ({dyn['p50_ms']} vs {fp32['p50_ms']} ms)")
