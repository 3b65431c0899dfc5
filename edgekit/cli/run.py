"""``edgekit run FILE.yaml``: replay a saved request -- a ``PlanConfig`` (``plan:``, written by
``plan --save-config`` or the GUI) or a ``LiveConfig`` (``live:``, written by ``demo --save-config``
or the GUI's Live demo page).

A plan's ``out:`` folder must be new or empty unless ``--force``, as with ``edgekit plan --out``;
a live run's ``record:``/``json_out:`` files likewise.
"""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        config_file: Annotated[str, typer.Argument(help="A plan.yaml (`plan:` mapping) or live.yaml (`live:`).")],
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Measure again even if cached (a plan).")] = False,
        force: Annotated[bool, typer.Option(
            "--force", help="Replace what it writes: a plan's `out:` folder, a live run's `record:` and `json_out:` files.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report (a plan) or the stats (a live run) as JSON.")] = False,
    ) -> None:
        """Run a saved plan or live-demo configuration."""
        from edgekit.cli.plan import run_config
        from edgekit.planner import PlanConfig

        if _kind(config_file) == "live":
            from edgekit.cli.demo import run_live, with_model
            from edgekit.vision.config import LiveConfig

            live = LiveConfig.load(config_file)
            run_live(with_model(live.replace(force=live.force or force)), as_json)  # its card flags, refused as demo refuses
            return
        config = PlanConfig.load(config_file)
        if no_cache:
            config = config.replace(cache=False)
        run_config(config, as_json, force, setting=f"out: in {config_file}")


def _kind(path: str) -> str:
    """``"live"`` for a file whose top-level mapping is ``live:``, else ``"plan"`` (whose loader names any problem)."""
    from edgekit.errors import EdgekitError
    from edgekit.safeyaml import read_yaml

    try:
        data = read_yaml(path)  # safe: no tags, aliases bounded (the loader then names any problem)
    except EdgekitError:
        return "plan"
    return "live" if isinstance(data, dict) and "live" in data and "plan" not in data else "plan"
