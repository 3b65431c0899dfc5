"""``edgekit bench MODEL``: measure a model on every backend, interleaved, in one table.

MODEL is a file (``.onnx``, ``.xml``, ``.pt``), a hub name (``demo:digits``) or
a zoo architecture ``zoo:NAME`` (exported to ONNX in a temporary folder, with
its PyTorch module kept as the eager baseline). By default all three backends
run on the CPU, plus a torch CUDA row (unavailable, with the reason, without a GPU).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Group
from rich.markup import escape as esc
from rich.table import Table
from rich.text import Text


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


_COLUMNS = ("backend", "device", "prec", "status", "p50 ms", "p90 ms", "p99 ms", "img/s", "runs", "±CI", "cold ms",
            "GFLOP/s")
_SECONDARY = ("p90 ms", "p99 ms", "runs", "cold ms", "GFLOP/s")  # left out under NARROW columns


def render(results: list[Any], width: int | None = None) -> Group:
    """BenchResults as one rich table with numbered footnotes (reasons, notes).

    ``width`` under ``NARROW`` columns (an 80-column terminal): the secondary columns are
    left out (said below the table) so that no number wraps or becomes "…"."""
    from edgekit.cli._console import NARROW

    narrow = width is not None and width < NARROW
    first = results[0] if results else None
    title = f"{esc(first.model)} - {first.mode} mode" if first else "benchmark"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    shown = [name for name in _COLUMNS if not (narrow and name in _SECONDARY)]
    for name in shown:
        right = name.endswith("ms") or name in ("img/s", "runs", "GFLOP/s", "±CI")
        table.add_column(name, justify="right" if right else "left", no_wrap=name not in ("prec", "status"))
    notes: list[str] = []
    for r in results:
        texts = [r.reason] if not r.ok else list(r.info.get("notes", ()))
        marks = "".join(f"[{len(notes) + i + 1}]" for i in range(len(texts)))
        notes += texts
        if not r.ok:
            table.add_row(r.backend, r.device, r.precision, f"[yellow]{r.status}[/] {marks}", *["-"] * (len(shown) - 4))
            continue
        lat, share = r.latency_ms, f" ({r.peak_share:.0%})" if r.peak_share else ""
        cells = dict(zip(_COLUMNS, (
            r.backend,
            r.device,
            r.precision,
            f"[green]ok[/] {marks}",
            _fmt(lat.get("p50"), 3),
            _fmt(lat.get("p90"), 3),
            _fmt(lat.get("p99"), 3),
            _fmt(r.throughput_fps, 1),
            str(r.runs),
            "-" if r.ci_rel is None else f"{r.ci_rel:.1%}",
            _fmt(r.cold_start_ms, 0),
            _fmt(r.gflops, 1) + share,
        )))
        table.add_row(*(cells[name] for name in shown))
    lines = [Text(f"[{i}] {text}", style="dim") for i, text in enumerate(notes, 1)]
    if narrow:
        lines.append(Text(f"narrow terminal: {', '.join(_SECONDARY)} left out (--json or a wider terminal shows them)",
                          style="dim"))
    if first is not None and first.mode == "throughput":
        per = ", ".join(f"{r.backend} {r.requests}" for r in results if r.ok)
        lines.append(Text(f"latency = one call with N requests in flight (N: {per})", style="dim"))
    return Group(table, *lines)


def resolve_model(spec: str, workdir: Path) -> Any:
    """A model from a path, a hub name or ``zoo:NAME`` (exported into ``workdir``)."""
    if spec.startswith("zoo:"):
        from edgekit.models.from_zoo import zoo_onnx_model

        return zoo_onnx_model(spec[4:], workdir)
    from edgekit.cli._card_flags import load_cli_model

    return load_cli_model(spec)


def _split(given: list[str] | None) -> list[str] | None:
    """Repeated values and comma lists alike: ``["fp32,int8", "fp16"]`` -> ``["fp32", "int8", "fp16"]``."""
    if not given:
        return given
    return [part.strip() for item in given for part in item.split(",") if part.strip()]


def _profile(peak: bool, backends: list[str] | None = None) -> Any:
    """The hardware profile for the manifest (and peak GFLOP/s with ``--peak``); None if unavailable.

    Only the parts the chosen backends need are probed: ``-b onnxruntime`` never imports OpenVINO or torch.
    """
    try:
        from edgekit.hardware import profile_hardware
    except ImportError:
        return None
    from edgekit.backends import capabilities, is_backend
    from edgekit.hardware.profile import PARTS

    declared = (p for b in backends or () if is_backend(b) for p in capabilities(b).profile_parts)
    wanted = {"cpu", "memory", "versions", *declared}
    return profile_hardware(bench=peak, parts=tuple(p for p in PARTS if p in wanted) if backends else None)


def _run(model: Any, profile: Any, kwargs: dict, quiet: bool) -> list[Any]:
    from edgekit.cli._progress import progress_bar
    from edgekit.evaluation.benchmark import bench

    with progress_bar("benchmark", disable=quiet or None) as progress:
        return bench(model, profile=profile, progress=progress, **kwargs)


def register(app: typer.Typer) -> None:
    """Add ``bench`` to the CLI."""

    @app.command("bench")
    def bench_cmd(
        model: Annotated[str, typer.Argument(help="Model file, hub name (demo:digits) or zoo:NAME.")],
        backend: Annotated[
            list[str] | None,
            typer.Option("--backend", "-b", help="Backend (repeat, or a comma list); default: all."),
        ] = None,
        device: Annotated[
            list[str] | None,
            typer.Option("--device", "-d", help="Device (repeat, or a comma list); default: cpu (+ torch cuda); "
                         "or a device added with `edgekit device add` (measured there over SSH)."),
        ] = None,
        precision: Annotated[
            list[str] | None,
            typer.Option("--precision", "-p", help="Precision (repeat, or a comma list); default: as stored."),
        ] = None,
        mode: Annotated[
            str, typer.Option("--mode", help="latency (one sync request) or throughput (async requests).")
        ] = "latency",
        seconds: Annotated[
            float, typer.Option("--seconds", "-t", min=0.1, help="Timed budget per combination.")
        ] = 5.0,
        warmup: Annotated[float, typer.Option("--warmup", min=0.0, help="Most warm-up time per combination.")] = 2.0,
        peak: Annotated[
            bool, typer.Option("--peak", help="Measure the machine's peak GFLOP/s first (a few s).")
        ] = False,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print only JSON (results + manifest).")
        ] = False,
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Also save the JSON here.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    ) -> None:
        """Benchmark MODEL on several backends, interleaved: latency percentiles, throughput,
        cold start, memory; unavailable combinations are listed with the reason."""
        from edgekit._io import check_writable
        from edgekit.cli._console import err_console, print_json, table_console
        from edgekit.evaluation.benchmark import BenchSettings, bench_manifest, save_results

        if out is not None:
            check_writable(out, force)
        # `-p fp32,int8` as well as `-p fp32 -p int8` (plan's --methods is a comma list; bench's own
        # example was one, and measured nothing: "unknown precision 'fp32,int8'")
        backend, device, precision = (_split(given) for given in (backend, device, precision))
        try:
            settings = BenchSettings(mode=mode, seconds=seconds, warmup_seconds=warmup)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--mode") from exc
        from edgekit.devices.store import find_device

        remote = [d for d in device or () if find_device(d) is not None]
        if remote:  # a registered device: built here, measured there (edgekit.cli.device)
            from edgekit.cli.device import bench_there

            bench_there(model, remote[0], backend, precision, seconds, as_json, out, force)
            return
        with tempfile.TemporaryDirectory(prefix="edgekit-bench-") as tmp:
            loaded = resolve_model(model, Path(tmp))
            profile = _profile(peak, backend)
            kwargs = {
                "backends": backend or None,
                "devices": device or None,
                "precisions": precision or None,
                "settings": settings,
            }
            results = _run(loaded, profile, kwargs, quiet=as_json)
        if out is not None:
            save_results(results, out, profile=profile, force=force)
        if as_json:
            print_json(
                {"manifest": bench_manifest(settings, profile), "results": [r.to_dict() for r in results]}
            )
        else:
            # a pipe or file gets the whole table; a terminal gets its own width
            wide = table_console(132)
            wide.print(render(results, wide.width))
            if out is not None:
                err_console.print(f"saved {esc(str(out))}")
        _fail_if_nothing_measured(results)


def _fail_if_nothing_measured(results: list[Any]) -> None:
    """A benchmark that measured nothing is a failure (exit 2), not a table of reasons with exit 0."""
    if not any(r.ok for r in results):
        from edgekit.errors import BackendUnavailable

        raise BackendUnavailable(f"nothing could be measured: all {len(results)} backend/device/precision "
                                 "combination(s) were unavailable here (reasons above); pick another --backend, "
                                 "--device or --precision")
