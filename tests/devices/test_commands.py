"""The CLI hooks around a device: bench --device (table), deploy --to, a failing candidate there."""

from __future__ import annotations

import sys

from conftest import add_device

from edgekit.cli import main


def test_bench_on_the_device_prints_where_it_was_measured(device, server, capsys):
    assert main(["bench", "demo:digits", "--device", "loop", "--backend", "onnxruntime", "--backend", "torch",
                 "--seconds", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "measured on device loop" in out and "onnxruntime" in out
    assert "torch (" in out and "not installed on loop" in out  # torch is never shipped in a bundle
    assert "remote start-up" in out and server.count("device measure") == 1


def test_deploy_to_an_unknown_device_fails_before_building(tmp_path, capsys):
    assert main(["deploy", "demo:digits", "--out", str(tmp_path / "b"), "--to", "nowhere"]) == 2
    assert "no device named 'nowhere'" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_deploy_to_copies_a_zip_and_verifies_it_there(device, server, tmp_path, capsys):
    assert main(["deploy", "demo:digits", "--out", str(tmp_path / "digits.zip"), "--samples", "16",
                 "--to", "loop"]) == 0
    out = capsys.readouterr().out
    assert "copied to loop" in out and "verified on loop: every promise held" in out
    assert (server.home / "edgekit-work" / "bundles" / "digits.zip").is_file()
    from edgekit.deployment import Bundle

    assert Bundle.open(tmp_path / "digits.zip").manifest.target == "loop"  # it said "local": this machine


def test_a_candidate_failing_there_is_marked_failed_not_missing(server, client_key):
    from edgekit.devices.planning import DeviceMeasurer
    from edgekit.models import load_model

    failing = server.home / "edgekit-failing"
    failing.write_text("#!/bin/sh\n"
                       "case \"$*\" in *'device measure'*) echo 'error: openvino cannot compile it here' >&2; exit 2;; esac\n"
                       f"exec {sys.executable} -m edgekit \"$@\"\n")
    failing.chmod(0o755)
    add_device("flaky", server, client_key, edgekit=str(failing))
    measurer = DeviceMeasurer.for_target("flaky")
    model = load_model("demo:digits")
    seen = []
    results = measurer.measure([("onnxruntime/cpu/fp32", model, "onnxruntime", "cpu", "fp32")], 0.2,
                               progress=lambda event: seen.append(f"{event.stage}: {event.message}"))
    r = results["onnxruntime/cpu/fp32"]
    assert r.status == "failed" and "openvino cannot compile it here" in r.reason
    assert seen == ["benchmarking: on flaky: shipping onnxruntime/cpu/fp32 (1 of 1)",
                    "benchmarking: on flaky: 1 candidate(s) timed together, interleaved (0.2 s each)"]
    assert server.count("device measure") == 1  # one bundle: measured once, not again one by one


def test_bench_on_the_device_fits_an_80_column_terminal(device, server, capsys, monkeypatch):
    """The device's table is `edgekit bench`'s: at 80 columns the secondary columns are left out (and
    said so), instead of every name and number cut to 'onnxrunt…' and '1.9…'."""
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["bench", "demo:digits", "--device", "loop", "--backend", "onnxruntime", "--seconds", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "narrow terminal: p90 ms" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("onnxruntime"))
    assert "…" not in row and len(row) <= 80, row


def test_a_device_command_prints_no_warnings_from_inside_asyncssh(device, server):
    """`edgekit device check` shows the device, not the 'DSA is deprecated' warnings (with lines of
    asyncssh's source) that importing asyncssh prints under recent cryptography releases (51 here): ten
    lines above every device command, about a key type edgekit never offers."""
    import subprocess

    bare = subprocess.run([sys.executable, "-W", "default", "-c", "import asyncssh"], check=False,
                          capture_output=True, text=True, timeout=120)
    run = subprocess.run([sys.executable, "-W", "default", "-m", "edgekit", "device", "check", "loop"],
                         check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "ready" in run.stdout, run.stdout + run.stderr
    assert "Warning" not in run.stderr, f"{run.stderr}\n(a bare import printed {bare.stderr.count('Warning')})"


def test_deploy_takes_a_device_as_its_target_as_plan_does(device, server, tmp_path, capsys):
    """`plan --target loop` measured there; `deploy --target loop` refused it as an unknown target."""
    import json
    import zipfile

    out = tmp_path / "digits.zip"
    assert main(["deploy", "demo:digits", "--out", str(out), "--samples", "8", "--target", "loop"]) == 0, \
        capsys.readouterr().err
    assert json.loads(zipfile.ZipFile(out).read("manifest.json"))["target"] == "loop"


def test_a_copy_to_a_device_can_be_cancelled(device, server, tmp_path):
    import threading

    import pytest

    from edgekit.deployment import deploy
    from edgekit.devices.planning import deploy_to_device
    from edgekit.errors import Cancelled

    bundle = deploy("demo:digits", out=tmp_path / "digits.zip", samples=8)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        deploy_to_device(bundle.path, "loop", cancel=stop)
    assert not (server.home / "edgekit-work" / "bundles" / "digits.zip").exists()


def test_an_older_edgekit_there_measuring_one_bundle_per_call_still_measures_every_candidate(server, client_key):
    """Candidates are timed together in one `device measure` call; an edgekit there that takes one bundle
    per call refuses the batch, and each is then measured alone (not interleaved, but measured)."""
    from edgekit.devices.planning import DeviceMeasurer
    from edgekit.models import load_model

    older = server.home / "edgekit-older"
    older.write_text("#!/bin/sh\n"
                     "case \"$*\" in *'device measure '*/bundles/*' '*/bundles/*) "
                     "echo 'Error: Got unexpected extra argument' >&2; exit 2;; esac\n"
                     f"exec {sys.executable} -m edgekit \"$@\"\n")
    older.chmod(0o755)
    add_device("older", server, client_key, edgekit=str(older))
    model = load_model("demo:digits")
    results = DeviceMeasurer.for_target("older").measure(
        [("onnxruntime/cpu/fp32", model, "onnxruntime", "cpu", "fp32"),
         ("openvino/cpu/fp32", model, "openvino", "cpu", "fp32")], 0.2)
    assert [r.status for r in results.values()] == ["ok", "ok"]
    assert server.count("device measure") == 3  # the refused batch, then one call each
