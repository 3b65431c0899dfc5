"""``edgekit convert``: PyTorch/ONNX -> ONNX/OpenVINO IR, with the numeric check's report.

The conversion and its check run under a spinner on stderr; the report is a
table on stdout (``--json`` for scripts). Nothing is written when the check
fails, and existing files are kept unless ``--force``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape as esc
from rich.table import Table

from edgekit.cli._options import ArchOption, InputShapeOption, ModelArg, parse_shape


def _fmt(value: float | None, spec: str) -> str:
    return "skipped" if value is None else format(value, spec)


def render(report) -> Table:
    """A ConversionReport as a two-column table."""
    from edgekit.cli._console import key_value_table

    verdict = {True: "[green]passed[/]", False: "[red]FAILED[/]", None: "[yellow]not checked (--no-check)[/]"}
    rows = [
        ("From", f"{report.source_format}  {esc(report.source_path or '(in memory)')}"),
        ("To", f"{report.target_format}  {esc(report.target_path or '')}"),
        ("Size", f"{report.output_bytes / 1e6:.2f} MB"),
        ("Conversion time", f"{report.seconds:.2f} s"),
        ("Numeric check", verdict[report.passed]),
        ("Max abs diff", f"{_fmt(report.max_abs_diff, '.3g')} (tolerance {report.tolerance:.3g})"),
        ("Mean abs diff", _fmt(report.mean_abs_diff, ".3g")),
        ("Relative error", "n/a" if report.relative_diff is None else f"{report.relative_diff:.2%}"),
        ("Pass rule", esc(report.rule or f"max abs diff <= {report.tolerance:.3g}")),
        ("Top-1 agreement", f"{report.top1_agreement:.1%}" if report.top1_agreement is not None else
         "n/a (outputs are not class scores: compared by the diffs above)" if report.passed is not None else "n/a"),
        ("Samples", f"{report.samples} ({report.check_seconds:.2f} s)"),
    ]
    return key_value_table("Conversion", rows)


def register(app: typer.Typer) -> None:
    """Add ``convert`` to the CLI."""

    @app.command("convert")
    def convert_cmd(
        model: ModelArg,
        to: Annotated[str, typer.Option("--to", help="Target format: onnx or openvino.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.onnx/.xml) or folder.")],
        force: Annotated[bool, typer.Option("--force", help="Replace existing output files.")] = False,
        no_check: Annotated[
            bool, typer.Option("--no-check", help="Skip the numeric check (not advised).")
        ] = False,
        input_shape: InputShapeOption = None,
        arch: ArchOption = None,
        tolerance: Annotated[
            float | None,
            typer.Option("--tolerance", help="Max abs output difference allowed (default by precision)."),
        ] = None,
        samples: Annotated[int, typer.Option("--samples", min=1, help="Random inputs for the check.")] = 8,
        fp16: Annotated[bool, typer.Option("--fp16", help="OpenVINO: store weights as float16.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print only the report as JSON.")] = False,
    ) -> None:
        """Convert a model (PyTorch -> ONNX, ONNX/PyTorch -> OpenVINO IR) and check that the
        result gives the same outputs as the source on random inputs."""
        from edgekit.cli._card_flags import load_cli_model
        from edgekit.cli._console import console, print_json
        from edgekit.cli._progress import progress_bar
        from edgekit.models import convert

        with progress_bar(f"loading {model}") as say:
            source = load_cli_model(model, input_shape=parse_shape(input_shape), arch=arch)
            _, report = convert(
                source,
                to,
                out,
                force=force,
                check=not no_check,
                tolerance=tolerance,
                samples=samples,
                fp16=fp16,
                progress=say,
            )
        if as_json:
            print_json(report.to_dict())
            return
        console.print(render(report))
