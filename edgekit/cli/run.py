"""``edgekit run plan.yaml``: replay a saved ``PlanConfig`` (written by ``plan --save-config`` or the GUI).

Its ``out:`` folder must be new or empty unless ``--force``, as with ``edgekit plan --out``.
"""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        config_file: Annotated[str, typer.Argument(help="A plan.yaml with a `plan:` mapping.")],
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Measure again even if cached.")] = False,
        force: Annotated[bool, typer.Option("--force", help="Replace an existing `out:` folder.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    ) -> None:
        """Run a saved plan configuration."""
        from edgekit.cli.plan import run_config
        from edgekit.planner import PlanConfig

        config = PlanConfig.load(config_file)
        if no_cache:
            config = config.replace(cache=False)
        run_config(config, as_json, force, setting=f"out: in {config_file}")
