"""``edgekit eval MODEL --data DIR|demo-test``: accuracy, per-class P/R/F1 and the summary.

``--data`` takes an image folder (one sub-folder per class), a ``path,label``
CSV manifest, or ``demo-test`` / ``demo-train`` (the bundled real handwriting,
rendered at the model's input size; ``demo-hard``: the held-out scans as realistic
pen/pencil/marker photos). A detector (task ``detection`` in its card,
ONNX metadata or output shapes) goes to :mod:`edgekit.cli.eval_detection`: COCO mAP
on a YOLO folder, a COCO json or a VOC folder.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape as esc
from rich.table import Table

ROWS = 20  # classes the table lists whole; past this it lists the ROWS with the lowest F1


def render(result, all_classes: bool = False) -> tuple[Table, str]:
    """Per-class table and a one-paragraph summary of an ``EvalResult``.

    With more than :data:`ROWS` classes in the data or the predictions (an ImageNet model on 500
    photos: 540), the table lists the :data:`ROWS` with the lowest F1 (worst first), where a person
    looks, and says how many it left out; ``all_classes`` lists every one. Why: the headline accuracy
    was printed after 540 rows, scrolled off any screen."""
    m = result.metrics
    rows = [row for row in m.per_class()
            if not (row["support"] == 0 and m.confusion
                    and sum(r[m.classes.index(row["class"])] for r in m.confusion) == 0)]  # e.g. unused ImageNet classes
    shown = rows if all_classes or len(rows) <= ROWS else \
        sorted(rows, key=lambda r: (r["f1"], -r["support"], str(r["class"])))[:ROWS]
    table = Table(
        title=f"{esc(result.model)} on {result.backend}/{result.device}/{result.precision}",
        title_justify="left",
    )
    for col in ("class", "precision", "recall", "F1", "support"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for row in shown:
        table.add_row(
            esc(str(row["class"])),
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
    lo, hi = m.accuracy_ci
    top = "".join(f", top-{k} {v:.2%}" for k, v in sorted(m.top_k.items()) if k > 1)
    left_out = "" if shown is rows else \
        f"above: the {len(shown)} of {len(rows)} classes with the lowest F1; --all-classes lists every one\n"
    summary = (  # the left-out line is not the table's caption: a caption wraps at the table's width
        f"{left_out}accuracy {m.accuracy:.2%} (95% CI {lo:.2%}-{hi:.2%}, n={m.n}){top}\n"
        f"macro P/R/F1 {m.macro_precision:.3f}/{m.macro_recall:.3f}/{m.macro_f1:.3f}; "
        f"weighted P/R/F1 {m.weighted_precision:.3f}/{m.weighted_recall:.3f}/{m.weighted_f1:.3f}; "
        f"{result.seconds:.1f}s"
        + (f"\n{result.skipped} unreadable image(s) skipped" if result.skipped else "")
        + "".join(f"\nnote: {note}" for note in result.notes)  # how the runtime ran it, as bench footnotes do
    )
    return table, summary


def register(app: typer.Typer) -> None:
    """Add ``eval`` to the CLI."""

    @app.command("eval")
    def eval_cmd(
        model: Annotated[
            str, typer.Argument(help="Model file or name (demo:digits, hub:mobilenetv2, model.onnx).")
        ],
        data_arg: Annotated[str | None, typer.Argument(
            metavar="data", show_default=False, help="The labelled images (as --data): `edgekit eval MODEL DATA`.")] = None,
        data: Annotated[
            str | None, typer.Option("--data", "-d", help="Image folder, path,label CSV, demo-test or demo-hard.")
        ] = None,
        backend: Annotated[str, typer.Option(
            "--backend", "-b", help="auto | onnxruntime | openvino | torch. auto: the first that reads the "
            "model's format (onnxruntime for .onnx, openvino for an .xml IR).")] = "auto",
        device: Annotated[str, typer.Option("--device", help="cpu, gpu, cuda, npu...")] = "cpu",
        precision: Annotated[str, typer.Option("--precision", help="fp32, fp16, int8...")] = "fp32",
        limit: Annotated[
            int | None, typer.Option("--limit", min=1, help="Evaluate only the first N images.")
        ] = None,
        batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Images per inference call.")] = 32,
        as_json: Annotated[bool, typer.Option("--json", help="Print only the result as JSON.")] = False,
        all_classes: Annotated[bool, typer.Option(
            "--all-classes", help=f"List every class in the table (past {ROWS}: the {ROWS} with the lowest F1).")] = False,
        cross_check: Annotated[bool, typer.Option(
            "--cross-check", help="Detectors: also print pycocotools' mAP on the same boxes.")] = False,
        conf: Annotated[float | None, typer.Option(
            "--conf", min=0.0, max=1.0, help="Detectors: keep boxes scoring at least this (default per decoder, 0.001).")] = None,
        iou: Annotated[float | None, typer.Option(
            "--iou", min=0.0, max=1.0, help="Detectors: NMS IoU threshold (default per decoder).")] = None,
        max_det: Annotated[int | None, typer.Option(
            "--max-det", min=1, help="Detectors: boxes kept per image (default per decoder).")] = None,
    ) -> None:
        """Measure a model's accuracy, per-class precision/recall/F1 and confusion on labelled images."""
        # `edgekit eval MODEL DATA` as well as `--data DATA` (the positional said "Missing option '--data'")
        if data_arg is not None and data is not None and data_arg != data:
            raise typer.BadParameter(f"two data sets given ({data_arg} and --data {data}); give one",
                                     param_hint="DATA")
        data = data or data_arg
        if data is None:
            raise typer.BadParameter("give the labelled images: edgekit eval MODEL DATA (or --data DATA): an image "
                                     "folder, a path,label CSV, demo-test or demo-hard", param_hint="DATA")
        from edgekit.backends.registry import format_backend
        from edgekit.cli._card_flags import load_cli_model
        from edgekit.cli._console import console, print_json
        from edgekit.data import open_dataset
        from edgekit.evaluation.accuracy import evaluate

        loaded = load_cli_model(model)
        backend = format_backend(loaded.format, device, precision) if backend == "auto" else backend
        from edgekit.detection.head import model_task

        if model_task(loaded) == "detection":  # --data: YOLO folder, COCO json or VOC folder; the head
            from edgekit.cli import eval_detection  # decides the letterbox and pixel format
            from edgekit.cli._card_flags import note_assumptions

            note_assumptions(loaded)

            eval_detection.run(loaded, data, backend=backend, device=device, precision=precision, limit=limit,
                               as_json=as_json, cross_check=cross_check, conf=conf, iou=iou, max_det=max_det)
            return
        if (conf, iou, max_det) != (None, None, None):
            from edgekit.errors import ConfigError

            raise ConfigError(f"--conf/--iou/--max-det apply to detectors; {model} is a classifier (drop them)")
        loaded = load_cli_model(loaded, need_preprocess=True)
        size = loaded.preprocess.size[0] if loaded.preprocess is not None else None
        dataset = open_dataset(data, size)
        from edgekit.cli._progress import progress_bar

        with progress_bar(f"evaluating {model}") as progress:
            result = evaluate(loaded, dataset, backend, device=device, precision=precision, batch_size=batch_size,
                              limit=limit, progress=progress)
        if as_json:
            print_json(result.to_dict())
            return
        table, summary = render(result, all_classes)
        console.print(table)
        console.print(summary, highlight=False)
