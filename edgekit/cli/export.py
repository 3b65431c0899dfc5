"""``edgekit export BUNDLE --format triton --out repo/``: a Triton model repository from a bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

FORMATS = ("triton",)


def register(app: typer.Typer) -> None:
    """Add ``export`` to the CLI."""

    @app.command("export")
    def export_cmd(
        bundle: Annotated[Path, typer.Argument(help="Bundle folder or .zip.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Model repository folder (other models in it are kept).")],
        fmt: Annotated[str, typer.Option("--format", "-f", help="Export format: triton.")] = "triton",
        max_batch_size: Annotated[int, typer.Option(min=0, help="Triton max_batch_size for dynamic-batch models.")] = 8,
        instances: Annotated[int, typer.Option(min=1, help="Model instances (CPU).")] = 1,
        force: Annotated[bool, typer.Option("--force", help="Replace an existing model folder.")] = False,
    ) -> None:
        """Export a verified bundle for a serving cluster."""
        from edgekit.cli._console import console
        from edgekit.deployment.triton import export_triton
        from edgekit.errors import BundleError

        if fmt.lower() not in FORMATS:
            raise BundleError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
        folder = export_triton(bundle, out, max_batch_size=max_batch_size, instances=instances, force=force)
        console.print(f"[green]Triton model written:[/] {folder}  (tritonserver --model-repository {out})", highlight=False)
