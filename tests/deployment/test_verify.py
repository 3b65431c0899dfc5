"""``edgekit verify``: 0 on an untouched bundle, 1 when a promise does not hold, 2 when refused."""

from __future__ import annotations

import json

from edgekit.cli import main
from edgekit.deployment import verify_bundle
from edgekit.deployment.build import write_manifest


def _edit_manifest(bundle, **validation):
    """Change the promise and re-write the manifest digest, as a deliberate editor would."""
    data = json.loads((bundle / "manifest.json").read_text())
    data["validation"].update(validation)
    write_manifest(bundle, data)


def test_untouched_bundle_passes(bundle_zip, capsys):
    assert main(["verify", str(bundle_zip)]) == 0
    out = capsys.readouterr().out
    assert "every promise held" in out and "FAILED" not in out


def test_verify_report_compares_with_the_recorded_sample(bundle_dir):
    report = verify_bundle(bundle_dir)
    assert report.passed and report.backend == "onnxruntime"
    assert report.sample.agreement == 1.0 and report.sample.max_abs_diff < 1e-4
    assert report.sample.preprocess_max_diff == 0.0
    assert {c.name for c in report.checks} >= {"sample accuracy", "top-1 agreement with deploy time"}


def test_accuracy_promise_edited_upward_fails_with_exit_1(bundle_copy, capsys):
    real = json.loads((bundle_copy / "manifest.json").read_text())["validation"]["accuracy"]
    _edit_manifest(bundle_copy, accuracy=min(1.0, real + 0.25))
    assert main(["verify", str(bundle_copy)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "does not keep its promises" in out
    report = verify_bundle(bundle_copy)
    assert [c.name for c in report.checks if c.ok is False] == ["sample accuracy"]


def test_latency_promise_edited_downward_fails(bundle_copy):
    data = json.loads((bundle_copy / "manifest.json").read_text())
    data["figures"]["latency_ms"] = 1e-6
    data["tolerance"]["latency_slack_ms"] = 0.0
    write_manifest(bundle_copy, data)
    failed = [c.name for c in verify_bundle(bundle_copy).checks if c.ok is False]
    assert failed == ["p50 latency ms (batch 1)"]


def test_tampered_bundle_exits_2_naming_the_file(bundle_copy, capsys):
    (bundle_copy / "labels.txt").write_text("ant\nbee\ncat\nwolf\n")
    assert main(["verify", str(bundle_copy)]) == 2
    assert "labels.txt was modified" in capsys.readouterr().err


def test_verify_json_output(bundle_dir, capsys):
    assert main(["verify", str(bundle_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is True and data["backend"] == "onnxruntime"


def test_a_latency_measured_on_another_machine_is_reported_not_enforced(bundle_copy):
    """A bundle built on a laptop and installed on a Pi by a Mender update failed the post-install verify
    on the laptop's latency, so every update rolled back. A device's own measurement is still enforced."""
    from edgekit.hardware.cpu import machine_label

    data = json.loads((bundle_copy / "manifest.json").read_text())
    assert data["figures"]["measured_on"] == machine_label()  # deploy labels what it measured here
    data["figures"]["latency_ms"] = 1e-6
    data["tolerance"]["latency_slack_ms"] = 0.0
    data["figures"]["measured_on"] = "Cortex-A76 (aarch64)"
    write_manifest(bundle_copy, data)
    check = next(c for c in verify_bundle(bundle_copy).checks if c.name == "p50 latency ms (batch 1)")
    assert check.ok is None and check.note == (f"promise was measured on Cortex-A76 (aarch64); this is "
                                               f"{machine_label()}; not enforced")
    data["figures"]["measured_on_device"] = "pi5"  # planned on the device over SSH: its label is no CPU name
    write_manifest(bundle_copy, data)
    failed = [c.name for c in verify_bundle(bundle_copy).checks if c.ok is False]
    assert failed == ["p50 latency ms (batch 1)"]
