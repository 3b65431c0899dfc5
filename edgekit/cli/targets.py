"""``edgekit targets [NAME]``: list the known targets, or show one with its sources."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape as esc
from rich.table import Table


def _list(width: int = 80) -> Table:
    from rich import box

    from edgekit.targets import list_targets, load_target

    # the name is what a user types (--target NAME): never folded mid-word, even at 80 columns;
    # the descriptive columns wrap at spaces instead
    table = Table(title="Targets", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("name", no_wrap=True)
    # "x86_64 x16, 32 GB" whole where there is room (at 80 columns "32" / "GB" were split over two
    # lines); a narrower terminal lets it wrap rather than cut the budgets off the right edge
    table.add_column("cpu, memory", ratio=1, overflow="fold", min_width=17 if width >= 80 else None)
    # one backend per line, the budgets on two lines and the memory beside the cores: at 80 columns
    # "openvino (cpu/gpu/npu)" and "Cortex-A78AE" were folded mid-word
    table.add_column("backends (devices)", no_wrap=True)
    table.add_column("budgets", no_wrap=True)
    for name in list_targets():
        t = load_target(name)
        backends = "\n".join(f"{b} ({'/'.join(e['devices'])})" for b, e in t.backends.items())
        b = t.budgets
        table.add_row(name, esc(f"{t.cpu_arch} x{t.cores}, {t.memory_mb / 1024:.0f} GB\n{t.cpu_model}"), backends,
                      f"p50 {f'{b.latency_ms:g} ms' if b.latency_ms else 'none'}\n"
                      f"size {f'{b.model_mb:g} MB' if b.model_mb else 'none'}")
    return table


def _budgets_text(b) -> str:
    """``p50 <= 100 ms, model <= 100 MB, memory <= 2048 MB`` (only the limits that are set)."""
    parts = [f"{label} <= {value:g} {unit}" for label, value, unit in
             (("p50", b.latency_ms, "ms"), ("model", b.model_mb, "MB"), ("memory", b.memory_mb, "MB")) if value]
    return ", ".join(parts) or "none"


def _show(name: str) -> Table:
    from edgekit.targets import load_target

    t = load_target(name)
    table = Table(title=f"{t.name}: {esc(t.description)}", show_header=False, title_justify="left")
    table.add_column(style="bold cyan")
    table.add_column(overflow="fold")
    table.add_row("CPU", esc(f"{t.cpu_arch}, {t.cores} cores, {t.cpu_model} {t.freq_ghz or ''} GHz"))
    table.add_row("ISA", ", ".join(t.isa) or "-")
    table.add_row("Memory", f"{t.memory_mb} MB")
    for a in t.accelerators:
        table.add_row("Accelerator", esc(f"{a.name} ({a.kind}, {a.peak_tops} TOPS {a.precision}) [{a.source}]"))
    for b, e in t.backends.items():
        table.add_row(f"Backend {b}", f"devices {', '.join(e['devices'])}; precisions {', '.join(e['precisions'])}")
    table.add_row("Budgets", _budgets_text(t.budgets))
    for label, fig in (("Peak GFLOP/s", t.peak_gflops), ("Memory GB/s", t.mem_bandwidth_gbs)):
        if fig:
            table.add_row(label, esc(f"{fig.value} {fig.precision}".strip() + f"{' (approx.)' if fig.approximate else ''} [{fig.source}]"))
    for r in t.references:
        table.add_row("Reference", esc(f"{r.model} {r.precision} {r.runtime}/{r.device}: {r.latency_ms} ms"
                                       f"{' (approx.)' if r.approximate else ''} [{r.source}]"))
    return table


def register(app: typer.Typer) -> None:
    @app.command("targets")
    def targets_cmd(
        name: Annotated[str | None, typer.Argument(help="Show one target (name or YAML path).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    ) -> None:
        """List target devices, or show one with its published reference figures."""
        from edgekit.cli._console import console, print_json
        from edgekit.targets import list_targets, load_target

        if as_json:
            print_json(load_target(name).to_dict() if name else list_targets())
        else:
            console.print(_show(name) if name else _list(console.width))
