"""Pure parsers over text from machines we do not have: /proc/cpuinfo, /proc/meminfo, nvidia-smi."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.hardware import isa_from_flags, parse_cpuinfo, parse_meminfo, parse_nvidia_smi_csv

DATA = Path(__file__).parent / "data"


def _cpu(name: str):
    return parse_cpuinfo((DATA / name).read_text())


def test_x86_server_with_avx512_vnni_and_amx():
    info = _cpu("x86_sapphire_rapids.txt")
    assert info.name == "Intel(R) Xeon(R) Platinum 8480+"
    assert (info.logical_cores, info.physical_cores) == (4, 2)  # SMT: 2 threads per core
    for flag in ("sse4_2", "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8"):
        assert info.isa[flag], flag
    assert not info.isa["neon"] and not info.isa["dotprod"]
    assert info.board is None  # "model : 143" of an x86 block is not a board name


@pytest.mark.parametrize(
    ("fixture", "name", "cores", "dotprod", "board"),
    [
        ("arm_raspberry_pi4.txt", "Cortex-A72", 4, False, "Raspberry Pi 4 Model B Rev 1.4"),
        ("arm_raspberry_pi5.txt", "Cortex-A76", 4, True, "Raspberry Pi 5 Model B Rev 1.0"),
        ("arm_jetson_orin_nano.txt", "Cortex-A78AE", 6, True, None),
        ("arm32_raspberry_pi3.txt", "Cortex-A53", 4, False, "Raspberry Pi 3 Model B Rev 1.2"),
    ],
)
def test_arm_boards(fixture, name, cores, dotprod, board):
    info = _cpu(fixture)
    assert info.name == name
    assert info.logical_cores == cores
    assert info.physical_cores is None  # Arm kernels give no "core id"; sysfs answers on the device
    assert info.isa["neon"]  # "asimd" on aarch64, "neon" on 32-bit kernels
    assert info.isa["dotprod"] is dotprod
    assert not info.isa["avx2"]
    assert info.board == board


def test_isa_dict_always_has_every_key():
    isa = isa_from_flags(["AVX2"])
    assert isa["avx2"] and not isa["avx512f"]
    assert set(isa) == set(isa_from_flags([]))


def test_empty_cpuinfo_is_unknown_not_an_error():
    info = parse_cpuinfo("")
    assert info.name == "unknown" and info.logical_cores == 1 and not any(info.isa.values())


def test_meminfo():
    text = "MemTotal:       24683656 kB\nMemFree:        24105884 kB\nMemAvailable:   24333280 kB\n"
    assert parse_meminfo(text) == (24683656 * 1024, 24333280 * 1024)
    assert parse_meminfo("MemTotal: 1000 kB\n") == (1024000, None)  # kernels before 3.14
    with pytest.raises(ValueError, match="MemTotal"):
        parse_meminfo("garbage")


def test_nvidia_smi_csv():
    text = "0, NVIDIA GeForce RTX 4090, 24564, 8.9, 550.54\n1, NVIDIA A100-SXM4-80GB, 81920, 8.0, 550.54\n"
    gpus = parse_nvidia_smi_csv(text)
    assert [g.name for g in gpus] == ["NVIDIA GeForce RTX 4090", "NVIDIA A100-SXM4-80GB"]
    assert gpus[0].memory_bytes == 24564 * 2**20 and gpus[0].compute_capability == "8.9"
    # old driver without compute_cap, and Jetson's [N/A] memory
    old = parse_nvidia_smi_csv("0, Orin, [N/A], 540.3.0\n")
    assert old[0].memory_bytes is None and old[0].compute_capability is None
    assert parse_nvidia_smi_csv("No devices were found\n") == ()
