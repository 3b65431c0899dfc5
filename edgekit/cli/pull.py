"""``edgekit pull NAME``: download a pretrained ImageNet classifier into the user cache.

``edgekit pull --list`` shows the catalogue and what is already cached. The
downloaded model then loads as ``load_model("hub:NAME")``. Names read as
``load_model`` reads them: ``hub:NAME`` is the catalogue's NAME, and a bundled
``demo:NAME`` needs no download (pull says so and succeeds).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape as esc
from rich.table import Table


def register(app: typer.Typer) -> None:
    """Add ``pull`` to the CLI."""

    @app.command("pull")
    def pull_cmd(
        name: Annotated[str | None, typer.Argument(help="Catalogue name, e.g. mobilenetv2 (or hub:mobilenetv2).")] = None,
        list_all: Annotated[bool, typer.Option("--list", help="List the catalogue instead.")] = False,
        base_url: Annotated[
            str | None,
            typer.Option("--base-url", help="Hub root URL (default $EDGEKIT_HUB_URL or the ONNX Model Zoo)."),
        ] = None,
        force: Annotated[bool, typer.Option("--force", help="Download again even if cached.")] = False,
    ) -> None:
        """Download a model from the catalogue (sha256-verified, never a partial file)."""
        from edgekit.cli._console import console, print_message
        from edgekit.zoo.catalog import list_catalog
        from edgekit.zoo.download import is_cached
        from edgekit.zoo.hub import cache_dir, is_bundled, resolve

        if list_all or name is None:
            table = Table(title=f"Model catalogue (cache: {esc(str(cache_dir()))})", title_justify="left")
            for col in ("name", "model", "size", "cached"):
                table.add_column(col)
            for e in list_catalog():
                table.add_row(e.name, esc(e.title), f"{e.size / 1e6:.1f} MB", "yes" if is_cached(e) else "-")
            console.print(table)
            return
        if is_bundled(name):
            path = resolve(name)  # unknown demo name or missing file: ModelLoadError with the fix
            print_message(f"[green]ok[/] {esc(name)} is bundled with edgekit ({esc(str(path))}); no download "
                          f"needed, load it as {esc(name)}", to=console)
            return
        name = name.removeprefix("hub:")
        path = _pull_with_bar(name, base_url, force)
        console.print(
            f"[green]ok[/] {esc(name)} -> {esc(str(path))}  (load it as hub:{esc(name)})", highlight=False
        )


def _pull_with_bar(name: str, base_url: str | None, force: bool):
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from edgekit.cli._console import err_console
    from edgekit.zoo.catalog import get_entry
    from edgekit.zoo.download import pull

    entry = get_entry(name)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"pull {entry.name}", total=entry.size)
        return pull(
            entry,
            base_url=base_url,
            force=force,
            progress=lambda event: bar.update(task, completed=event.done, total=event.total),
        )
