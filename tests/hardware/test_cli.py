"""``edgekit profile`` through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from edgekit.cli import main


def test_profile_json(capsys):
    assert main(["profile", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)  # stdout holds JSON only
    assert "CPUExecutionProvider" in data["ort_providers"]
    if data["versions"].get("openvino"):
        assert "CPU" in [d["name"] for d in data["openvino_devices"]]
    if not data["cuda_devices"]:
        assert data["probe_notes"]["cuda"].startswith("no CUDA device")
    assert data["peak_gflops"] is None


def test_profile_bench_measures(capsys):
    assert main(["profile", "--json", "--bench"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["peak_gflops"] > 0 and data["mem_bandwidth_gbs"] > 0


def test_profile_table(capsys):
    assert main(["profile"]) == 0
    out = capsys.readouterr().out
    assert "Hardware profile" in out and "Fingerprint" in out and "CPUExecutionProvider" in out


def test_profile_out_never_overwrites(tmp_path, capsys):
    out = tmp_path / "hw.json"
    assert main(["profile", "--json", "--out", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved == json.loads(capsys.readouterr().out)
    out.write_text("mine")
    assert main(["profile", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_text() == "mine"
    assert main(["profile", "--json", "--out", str(out), "--force"]) == 0
    assert json.loads(out.read_text())["cpu_name"]


@pytest.mark.parametrize("argv", [["profile", "--help"]])
def test_help(argv, capsys):
    assert main(argv) == 0
    assert "--bench" in capsys.readouterr().out
