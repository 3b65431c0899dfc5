"""``edgekit plan MODEL --target T``: measure every candidate, choose, explain.

A rich progress bar on stderr while it works; then the candidates table and
the decision log on stdout (``--json`` prints the report as JSON instead).
``--save-config plan.yaml`` writes the settings for ``edgekit run plan.yaml``.
``--out DIR`` must be new or empty unless ``--force``, like every other output; ``--force``
replaces it only while it holds nothing but the files an earlier plan wrote there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape as esc
from rich.table import Table

from edgekit.types import CandidateStatus as Status

_STYLE = {Status.CHOSEN: "bold green", Status.VALID: "green", Status.REJECTED: "yellow", Status.FAILED: "red"}


def render(report, width: int | None = None) -> Table:
    """The candidates as a table (estimates marked).

    ``width`` under ``NARROW`` columns (an 80-column terminal): the intervals and the "why"
    column are left out (the decision log below says why), numbers never wrap or become "…",
    and columns are one space apart. A candidate's key stays on one line when the rows fit
    ``width`` that way; only when they do not is it split after ``backend/device/`` (every row
    then takes two lines: a table twice as tall, measured on this machine's nine candidates)."""
    from edgekit.cli._console import NARROW

    narrow = width is not None and width < NARROW
    kind = "estimated" if report.estimated else report.hardware.get("measured_on", "measured")
    metric = getattr(report, "metric", "top-1")  # mAP@0.5:0.95 for a detector
    short = metric.split("@")[0] if narrow else metric  # "mAP" heads the column; the title says which
    cols = ("candidate", "status", "p50", "vs FP32", short if narrow else f"{metric} (95% CI)",
            "drop" if narrow else "drop (95% CI)", "MB") + (() if narrow else ("why",))
    rows = []
    for c in report.candidates:
        acc = "-" if c.accuracy is None else f"{100 * c.accuracy:.2f}%"
        drop = "-" if c.drop is None else f"{100 * c.drop:+.2f}"
        if not narrow:
            acc += "" if c.accuracy is None else f" ({100 * c.accuracy_ci[0]:.1f}-{100 * c.accuracy_ci[1]:.1f})"
            drop += "" if c.drop is None else f" ({100 * c.drop_ci[0]:+.2f}..{100 * c.drop_ci[1]:+.2f})"
        rows.append((c, [c.key, str(c.status), c.latency_text(), c.speedup_text(), acc, drop, f"{c.size_mb:.2f}"]))
    cells = [row for _, row in rows]
    split = narrow and _one_line_width(cols, cells) > width
    parts = [_key_parts(c) for c in report.candidates]  # the two lines of a split key
    key_width = max((len(part) for pair in parts for part in pair), default=9)
    keep = len(cols)
    while split and keep > 5 and _one_line_width(cols[:keep], cells, key_width) > width:
        keep -= 1  # narrower still: leave out "MB", then "drop", rather than crop their numbers
    scored = "" if short == metric else f"; {metric}"
    table = Table(title=f"{esc(report.model)} -> {esc(report.target)} (latency {kind}{scored})", title_justify="left",
                  box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD, padding=0 if narrow else (0, 1),
                  show_edge=not narrow, caption_justify="left",
                  caption=f"left out at {width} columns: {', '.join(cols[keep:])} (--json has every column)"
                  if keep < len(cols) else None)
    for col in cols[:keep]:
        table.add_column(col, overflow="fold", no_wrap=col not in ("candidate", "status", "why"),
                         min_width=key_width if split and col == "candidate" else None)
    for (c, row), pair in zip(rows, parts):
        key = "\n".join(pair) if split else c.key
        table.add_row(esc(key), f"[{_STYLE.get(c.status, '')}]{c.status}[/]", *row[2:keep],
                      *(() if narrow else (esc(_short(c)),)))
    return table


def _key_parts(c) -> tuple[str, str]:
    """A candidate's key as the two lines it is split into: ``backend/device/`` and the rest."""
    head = f"{c.backend}/{c.device}/"
    return head, c.key.removeprefix(head)


def _one_line_width(cols: tuple[str, ...], rows: list[list[str]], key_width: int | None = None) -> int:
    """Columns a narrow table needs with every cell on one line: the widest cell of each column
    (its heading included), one space between columns; ``key_width``: the key column's width
    when keys are split (:func:`_key_parts`)."""
    widest = [max([len(head), *(len(r[i]) for r in rows)]) for i, head in enumerate(cols)]
    if key_width is not None:
        widest[0] = max(len(cols[0]), key_width)
    return sum(widest) + len(widest) - 1


def _short(c) -> str:
    """The first clause of the first reason: the full sentences are in the decision log."""
    if not c.reasons:
        return "-"
    return c.reasons[0].split(";")[0] + (" (+more)" if len(c.reasons) > 1 else "")


def show(report, as_json: bool) -> None:
    """Print the report: JSON, or table + decision log."""
    from edgekit.cli._console import print_json, print_message, table_console

    if as_json:
        print_json(report.to_dict())
        return
    console = table_console(170)  # a pipe or file: rows readable unless $COLUMNS says otherwise
    console.print(render(report, console.width))
    console.print("\n[bold]Decision log[/]")
    for line in report.log:  # a terminal: wrapped under its text; a pipe or file: one line each
        print_message(f" - {esc(line)}", to=console, indent=3)


def check_out(out: str | None, force: bool, setting: str = "--out") -> Path | None:
    """``out`` as a path, refused unless new, empty or (``force``) all edgekit's own files;
    see :func:`edgekit.planner.outdir.check_out`."""
    from edgekit.planner.outdir import check_out as check

    return check(out, force, setting)


@contextlib.contextmanager
def report_folder(out: str | None, force: bool, setting: str = "--out") -> Iterator[None]:
    """Guard the plan's ``out`` folder for one run: :func:`edgekit.planner.outdir.report_folder`."""
    from edgekit.planner.outdir import report_folder as guard

    with guard(out, force, setting):
        yield


def run_config(config, as_json: bool, force: bool = False, setting: str = "--out") -> None:
    """Run a ``PlanConfig`` with a progress bar; print the report.

    ``force`` lets the run replace an existing ``config.out``; ``setting`` names where
    that folder was set, for the refusal (``--out``, or the YAML's ``out:``).
    """
    from edgekit.cli._card_flags import load_cli_model, use_flags
    from edgekit.cli._progress import progress_bar
    from edgekit.planner import plan

    with report_folder(config.out, force, setting), progress_bar("planning") as progress:
        with use_flags(config.card_flags):  # what plan was given, or what a replayed plan.yaml saved
            model = load_cli_model(config.model, need_preprocess=True)  # the card flags; refuses before any work
        report = plan(model, config=config, progress=progress)
    show(report, as_json)
    if as_json:
        return
    from edgekit.cli._console import console, shell_arg

    if config.out:  # the next step, as the folder is what deploy takes
        console.print(f"\nReport written to {esc(config.out)} (report.json, report.md, plot.png); "
                      f"package its choice: edgekit deploy {shell_arg(config.out)} --out bundle/", highlight=False)
    elif report.best_key:  # nothing kept: say how to keep it before the user wants to deploy
        console.print("\nNothing saved: add --out plan/ to keep the report and its models, then "
                      "edgekit deploy plan/ --out bundle/", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_cmd(
        model: Annotated[str, typer.Argument(help="Model file or name (demo:digits-mnv2).")],
        target: Annotated[str, typer.Option("--target", "-t", help=(
            "Target name or YAML; 'local' measures here; another target's latency is estimated from its "
            "published figures (INT8 from ratios timed here, where they carry over)."))] = "local",
        data: Annotated[str | None, typer.Option(help="Labelled image folder (one sub-folder per class); for a "
                                                     "detector a YOLO folder, COCO .json or VOC folder.")] = None,
        calib: Annotated[str | None, typer.Option(
            "--calib", help="Images to calibrate INT8 on (folder or manifest); then all of --data validates.")] = None,
        max_accuracy_drop: Annotated[float, typer.Option(help="Top-1 drop allowed vs FP32 (0.01 = 1 point); "
                                                         "mAP@0.5:0.95 points for a detector.")] = 0.01,
        latency_budget_ms: Annotated[float | None, typer.Option(help="p50 latency limit in ms.")] = None,
        max_model_mb: Annotated[float | None, typer.Option(help="Model size limit in MB.")] = None,
        objective: Annotated[str, typer.Option(help="latency | size | accuracy | efficiency")] = "latency",
        methods: Annotated[str, typer.Option(
            # the default in words: as one comma-joined word, 80 columns cut it to "fp32,fp16,int8,int8…"
            show_default=False, help="Comma list of: fp32, fp16, bf16, int8, int8-qop, int8-dynamic, prune "
            "(bf16: where the target's CPU has BF16 arithmetic) "
            "[default: fp32, fp16, bf16, int8, int8-dynamic]")] = "fp32,fp16,bf16,int8,int8-dynamic",
        seconds: Annotated[float, typer.Option(help="Timed benchmark seconds per candidate, at most: one clearly slower than the fastest stops after a quarter of them; the candidates tied with the fastest get them doubled, twice at most.")] = 1.0,
        verify: Annotated[bool, typer.Option("--verify", help="Re-measure the top three.")] = False,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Measure again even if cached (the new result then replaces the cached one).")] = False,
        out: Annotated[str | None, typer.Option(help="Folder for report.json/.md, plot.png and models.")] = None,
        save_config: Annotated[str | None, typer.Option(help="Also write these settings as YAML for `edgekit run`.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Replace an existing --out folder.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    ) -> None:
        """Find the fastest deployment within the accuracy/latency/size budget, by measuring."""
        from edgekit.cli._card_flags import given_flags
        from edgekit.planner import PlanConfig

        config = PlanConfig(model=model, target=target, data=data, max_accuracy_drop=max_accuracy_drop,
                            latency_budget_ms=latency_budget_ms, max_model_mb=max_model_mb, objective=objective,
                            methods=tuple(m.strip() for m in methods.split(",") if m.strip()), seconds=seconds,
                            verify=verify, cache=not no_cache, out=out, calibration=calib, card_flags=given_flags())
        check_out(out, force)  # before --save-config writes anything
        if save_config:
            config.save(save_config)
        run_config(config, as_json, force)
