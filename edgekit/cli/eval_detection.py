"""The detection half of ``edgekit eval``: COCO mAP, per-class AP and P/R/F1 of a detector.

``edgekit eval`` dispatches here when the model card, the ONNX metadata or the
output shapes say the model is a detector; ``--data`` is then a YOLO folder
(``images/`` + ``labels/``), a COCO json or a Pascal VOC folder.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape as esc
from rich.table import Table


def _fmt(value: float) -> str:
    return "n/a" if value < 0 else f"{value:.3f}"


def render(result: Any, reference: Any = None) -> tuple[Table, str]:
    """Per-class AP table and a summary paragraph of a ``DetectionEvalResult``."""
    m = result.metrics
    table = Table(title=f"{esc(result.model)} on {result.backend}/{result.device}/{result.precision}",
                  title_justify="left")
    for col in ("class", "AP@0.5", "AP@0.5:0.95", "boxes"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for row in sorted(m.per_class, key=lambda r: -r["gt"]):
        table.add_row(esc(str(row["class"])), _fmt(row["ap50"]), _fmt(row["ap"]), str(row["gt"]))
    lo, hi = m.map50_ci
    s = result.settings
    lines = [
        (f"mAP@0.5 {_fmt(m.map50)} (95% CI {lo:.3f}-{hi:.3f}), mAP@0.5:0.95 {_fmt(m.map)} "
        f"(95% CI {m.map_ci[0]:.3f}-{m.map_ci[1]:.3f}), mAP@0.75 {_fmt(m.stats[2])}; "
        f"small/medium/large {_fmt(m.stats[3])}/{_fmt(m.stats[4])}/{_fmt(m.stats[5])}"),
        (f"at conf {m.conf:g}, IoU 0.5: precision {m.precision:.3f}, recall {m.recall:.3f}, F1 {m.f1:.3f}; "
        f"{m.n_images} images, {m.n_gt} boxes, {m.n_dets} predicted"),
        (f"decoder {s.get('decoder')}, conf {s.get('conf')}, NMS IoU {s.get('iou')}, max {s.get('max_det')} boxes"
        f"{', multi-label' if s.get('multi_label') else ''}; {result.seconds:.1f}s"),
    ]
    if reference is not None:
        lines.append(f"pycocotools on the same boxes: mAP@0.5 {_fmt(reference[1])}, "
                     f"mAP@0.5:0.95 {_fmt(reference[0])}")
    from edgekit.detection.datasets import NO_LABEL_FILE

    left_out = {why: n for why, n in result.skipped.items() if why != NO_LABEL_FILE}
    if left_out:
        lines.append("left out: " + "; ".join(f"{n} {why}" for why, n in sorted(left_out.items())))
    if result.skipped.get(NO_LABEL_FILE):  # they are scored (false positives count), only named here
        lines.append(f"note: {result.skipped[NO_LABEL_FILE]} {NO_LABEL_FILE}")
    return table, "\n".join(lines)


def run(loaded: Any, data: str, *, backend: str, device: str, precision: str, limit: int | None,
        as_json: bool, cross_check: bool, conf: float | None = None, iou: float | None = None,
        max_det: int | None = None) -> None:
    """Evaluate a detector and print the table (or JSON); ``conf``/``iou``/``max_det`` replace the
    per-decoder evaluation settings (``None``: keep them)."""
    from edgekit.cli._console import console, print_json
    from edgekit.cli._progress import progress_bar
    from edgekit.detection.evaluate import evaluate_detection

    with progress_bar(f"evaluating {loaded.name}") as progress:
        result = evaluate_detection(loaded, data, backend, device=device, precision=precision, limit=limit,
                                    progress=progress, conf=conf, iou=iou, max_det=max_det)
    reference = None
    if cross_check:
        from edgekit.detection.coco import pycocotools_stats

        reference = pycocotools_stats(result.truths, result.predictions, _classes(result))
    if as_json:
        data_out = result.to_dict()
        if reference is not None:
            data_out["pycocotools_stats"] = [float(v) for v in reference]
        print_json(data_out)
        return
    table, summary = render(result, reference)
    console.print(table)
    console.print(summary, highlight=False)


def _classes(result: Any) -> list[str]:
    """Class ids 0..top as names: pycocotools needs a category for every id seen."""
    seen = [int(c) for t in result.truths for c in t.class_ids.tolist()]
    seen += [int(c) for p in result.predictions for c in p.class_ids.tolist()]
    return [str(i) for i in range(max(seen, default=0) + 1)]
