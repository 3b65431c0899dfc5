"""``edgekit profile``: print what this machine is and what it can run.

A readable card by default; ``--json`` prints only the profile's JSON (for
scripts and for ``--target`` files); ``--bench`` adds measured GFLOP/s and
memory bandwidth; ``--out FILE`` also saves the JSON (never over an existing
file unless ``--force``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape as esc
from rich.table import Table

from edgekit.hardware import HardwareProfile


def _gib(n: int | None) -> str:
    return "unknown" if n is None else f"{n / 2**30:.1f} GiB"


def _isa_rows(p: HardwareProfile) -> list[tuple[str, str]]:
    """Present and absent flags on separate rows, readable without colour too."""
    have = " ".join(k for k in p.isa_keys if p.has(k)) or "none found"
    lack = " ".join(k for k in p.isa_keys if not p.has(k)) or "-"
    return [("ISA", f"[green]{have}[/]"), ("ISA not present", f"[dim]{lack}[/]")]


def _device_rows(p: HardwareProfile) -> list[tuple[str, str]]:
    rows = []
    for d in p.cuda_devices:
        cc = f", compute {d.compute_capability}" if d.compute_capability else ""
        rows.append((f"CUDA {d.index}", esc(f"{d.name} ({_gib(d.memory_bytes)}{cc})")))
    if not p.cuda_devices:
        rows.append(("CUDA", f"[yellow]{esc(p.probe_notes.get('cuda', 'none'))}[/]"))
    for d in p.openvino_devices:
        caps = f" [dim]({esc(', '.join(d.capabilities))})[/]" if d.capabilities else ""
        rows.append((f"OpenVINO {esc(d.name)}", f"{esc(d.full_name)}{caps}"))
    if not p.openvino_devices:
        rows.append(("OpenVINO", f"[yellow]{esc(p.probe_notes.get('openvino', 'none'))}[/]"))
    missing = f"[yellow]{esc(p.probe_notes.get('onnxruntime', 'none'))}[/]"
    rows.append(("onnxruntime EPs", ", ".join(p.ort_providers) or missing))
    return rows


def render(p: HardwareProfile) -> Table:
    """The profile as a two-column rich table (also used by other commands)."""
    from edgekit.cli._console import key_value_table

    cores = f"{p.physical_cores or '?'} physical / {p.logical_cores} logical ({p.usable_cores} usable)"
    rows = [
        ("OS", esc(p.os_release)),
        ("CPU", f"{esc(p.cpu_name)} [dim]({esc(p.arch)})[/]"),
        ("Cores", cores),
    ]
    if p.board:
        rows.append(("Board", esc(p.board)))
    rows += _isa_rows(p)
    rows.append(("Memory", f"{_gib(p.memory_total)} total, {_gib(p.memory_available)} available"))
    rows += _device_rows(p)
    rows.append(("Versions", esc(", ".join(f"{k} {v}" for k, v in p.versions.items() if v))))
    if p.peak_gflops is not None:
        rows.append(("Peak FP32", f"{p.peak_gflops:.1f} GFLOP/s [dim](numpy matmul, measured)[/]"))
    if p.mem_bandwidth_gbs is not None:
        rows.append(("Memory bandwidth", f"{p.mem_bandwidth_gbs:.1f} GB/s [dim](array copy, measured)[/]"))
    for name, note in p.probe_notes.items():
        if name not in ("cuda", "openvino", "onnxruntime"):
            rows.append((f"note: {esc(name)}", f"[yellow]{esc(note)}[/]"))
    rows.append(("Fingerprint", p.fingerprint))
    return key_value_table("Hardware profile", rows)


def _profile_with_spinner(bench: bool) -> HardwareProfile:
    from edgekit.cli._progress import progress_bar
    from edgekit.hardware import profile_hardware

    if not bench:
        return profile_hardware()
    with progress_bar("measuring the hardware", disable=False) as progress:
        return profile_hardware(bench=True, progress=progress)


def register(app: typer.Typer) -> None:
    """Add ``profile`` to the CLI."""

    @app.command("profile")
    def profile(
        as_json: Annotated[bool, typer.Option("--json", help="Print only the profile as JSON.")] = False,
        bench: Annotated[
            bool,
            typer.Option("--bench", help="Also measure peak FP32 GFLOP/s and memory bandwidth (seconds)."),
        ] = False,
        out: Annotated[
            Path | None, typer.Option("--out", "-o", help="Also save the JSON to this file.")
        ] = None,
        force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    ) -> None:
        """Show this machine's CPU, ISA flags, memory, CUDA/OpenVINO devices, onnxruntime
        providers and runtime versions; say why anything is missing."""
        from edgekit._io import check_writable, write_text_atomic
        from edgekit.cli._console import console, err_console, print_json

        if out is not None:
            check_writable(out, force)  # fail before the (possibly long) profiling
        p = _profile_with_spinner(bench)
        if out is not None:
            write_text_atomic(out, p.to_json() + "\n", force=force)
        if as_json:
            print_json(p.to_dict())
            return
        console.print(render(p))
        if out is not None:
            err_console.print(f"saved {esc(str(out))}")
