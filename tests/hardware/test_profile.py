"""profile_hardware on this machine, its JSON round-trip, and probes that fail or find nothing."""

from __future__ import annotations

import os
import platform
import stat
import subprocess
import sys

import pytest

import edgekit
from edgekit.errors import TargetError
from edgekit.hardware import CudaDevice, HardwareProfile, OpenVINODevice, accelerators, profile_hardware


@pytest.fixture(scope="module")
def profile() -> HardwareProfile:
    return profile_hardware()


def _numpy_features() -> dict[str, bool]:
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:
        from numpy.core._multiarray_umath import __cpu_features__
    return __cpu_features__


def test_this_machine(profile):
    assert profile is not None and edgekit.profile_hardware is profile_hardware
    assert profile.logical_cores == os.cpu_count()
    assert 1 <= profile.usable_cores <= profile.logical_cores
    assert profile.physical_cores is None or 1 <= profile.physical_cores <= profile.logical_cores
    assert profile.memory_total and 0 < profile.memory_available <= profile.memory_total
    assert profile.versions["python"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    assert profile.versions["numpy"]
    assert "CPUExecutionProvider" in profile.ort_providers
    assert profile.peak_gflops is None and profile.mem_bandwidth_gbs is None  # no bench asked


def test_isa_agrees_with_numpy_runtime_dispatch(profile):
    """An independent check: numpy's own cpuid-based detection must see the same flags."""
    feats = _numpy_features()
    pairs = {"avx2": "AVX2", "fma": "FMA3", "avx512f": "AVX512F", "avx512_vnni": "AVX512VNNI"}
    if profile.arch_family == "arm":
        pairs = {"neon": "ASIMD", "dotprod": "ASIMDDP"}
    for ours, theirs in pairs.items():
        assert profile.has(ours) == bool(feats.get(theirs)), ours


@pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"),
    reason="this check is for the x86-64 dev/CI machine",
)
def test_x86_machine_reports_avx2(profile):
    if not _numpy_features().get("AVX2"):
        pytest.skip("this x86-64 CPU has no AVX2")
    assert profile.has("avx2") and profile.has("AVX2") and not profile.has("no_such_flag")


def test_openvino_cpu_device_has_full_name(profile):
    pytest.importorskip("openvino")
    cpu = [d for d in profile.openvino_devices if d.name == "CPU"]
    assert cpu and cpu[0].full_name


def test_cuda_absent_with_reason(profile):
    if profile.cuda_available:
        pytest.skip("this machine has a CUDA GPU")
    assert profile.cuda_devices == ()
    reason = profile.probe_notes["cuda"]
    assert reason.startswith("no CUDA device: ") and ("torch" in reason or "nvidia-smi" in reason)
    assert profile.probe_errors is profile.probe_notes


def test_json_round_trip(profile):
    assert HardwareProfile.from_json(profile.to_json()) == profile
    rich = HardwareProfile.from_dict(
        {
            **profile.to_dict(),
            "cuda_devices": [CudaDevice(0, "NVIDIA A100", 80 * 2**30, "8.0", "torch").to_dict()],
            "openvino_devices": [OpenVINODevice("GPU.0", "Intel Arc A770", ("FP16", "INT8")).to_dict()],
            "peak_gflops": 123.5,
            "mem_bandwidth_gbs": 45.25,
        }
    )
    again = HardwareProfile.from_json(rich.to_json())
    assert (
        again == rich and again.cuda_available and again.openvino_devices[0].capabilities == ("FP16", "INT8")
    )


def test_bad_json_is_a_clear_error():
    with pytest.raises(TargetError, match="not valid JSON"):
        HardwareProfile.from_json("{nope")
    with pytest.raises(TargetError, match="incomplete"):
        HardwareProfile.from_json('{"os": "Linux"}')


def test_fingerprint_is_stable_and_sensitive(profile):
    again = profile_hardware()
    assert again.fingerprint == profile.fingerprint and len(profile.fingerprint) == 16
    data = profile.to_dict()
    other = HardwareProfile.from_dict(
        {**data, "isa": {**profile.isa, "amx_int8": not profile.has("amx_int8")}}
    )
    assert other.fingerprint != profile.fingerprint
    newer = HardwareProfile.from_dict({**data, "versions": {**profile.versions, "onnxruntime": "99.0"}})
    assert newer.fingerprint != profile.fingerprint


def test_failing_probe_is_recorded_not_raised(monkeypatch):
    def broken():
        raise RuntimeError("plugin crashed")

    monkeypatch.setattr("edgekit.hardware.profile.probe_openvino", broken)
    monkeypatch.setattr("edgekit.hardware.profile.probe_cpu", broken)
    p = profile_hardware()
    assert p.openvino_devices == ()
    assert p.probe_notes["openvino"] == "openvino probe failed: RuntimeError: plugin crashed"
    assert "plugin crashed" in p.probe_notes["cpu"]
    assert p.logical_cores == os.cpu_count() and p.cpu_name  # fallback values, still a usable profile


def _fake_smi(tmp_path, script: str):
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\n" + script)
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    return str(tmp_path)


@pytest.mark.skipif(sys.platform == "win32", reason="fake nvidia-smi is a shell script")
def test_cuda_from_nvidia_smi(tmp_path, monkeypatch):
    """Fake only the hardware edge: an nvidia-smi that reports one GPU."""
    monkeypatch.setattr(accelerators, "dist_version", lambda *n: None if n == ("torch",) else "1")
    monkeypatch.setenv("PATH", _fake_smi(tmp_path, 'echo "0, NVIDIA RTX A2000, 6138, 8.6, 535.1"\n'))
    gpus = accelerators.probe_cuda()
    assert gpus == (CudaDevice(0, "NVIDIA RTX A2000", 6138 * 2**20, "8.6", "nvidia-smi"),)


@pytest.mark.skipif(sys.platform == "win32", reason="fake nvidia-smi is a shell script")
def test_cuda_nvidia_smi_without_driver_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(accelerators, "dist_version", lambda *n: None if n == ("torch",) else "1")
    script = 'echo "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver."\nexit 9\n'
    monkeypatch.setenv("PATH", _fake_smi(tmp_path, script))
    with pytest.raises(accelerators.Absent, match="torch is not installed and nvidia-smi failed: NVIDIA-SMI"):
        accelerators.probe_cuda()


def test_import_is_light():
    code = (
        "import sys, edgekit, edgekit.hardware\n"
        "heavy = [m for m in ('torch', 'openvino', 'onnxruntime', 'PySide6', 'nncf') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
