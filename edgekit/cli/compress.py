"""``edgekit compress MODEL --method fp16|int8|int8-dynamic|prune --out FILE``.

Writes a new model file (and its ``.json`` card); the input is never touched.
INT8 static needs calibration images (``--data DIR``; by default the
calibration data the model's card names -- the demo models' training split).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape as esc

from edgekit._text import first_few
from edgekit.data.layouts import DETECTION_FORMS
from edgekit.types import Format, Method

METHODS = (Method.FP16, Method.INT8, Method.INT8_AC, Method.INT8_DYNAMIC, Method.PRUNE)
_TAGS = {Method.FP16: "fp16", Method.INT8: "int8", Method.INT8_AC: "int8", Method.INT8_DYNAMIC: "int8-dynamic",
         Method.PRUNE: "pruned"}  # output file tags
_CALIBRATED = (Method.INT8, Method.INT8_AC)  # methods fed calibration images (they need preprocessing)
_WRITES_IR = (Method.FP16, Method.INT8)  # methods that can write OpenVINO IR


def _calibration(model, data: str | None, n: int):
    from edgekit.data import calibration_set, open_dataset
    from edgekit.data.spec import image_size
    from edgekit.errors import DataError

    card = model.validation  # the data the model's card names (the demo models: their training split)
    spec = data or (card and (card.calibration or card.dataset))
    if not spec:
        raise DataError(f"INT8 static needs calibration images for {model.name}: pass --data DIR "
                        "(one sub-folder of images per class) or --data FILE.csv (a path,label manifest)")
    ds = open_dataset(spec, image_size(model))
    return calibration_set(ds, model, n=n)


def _detector_int8(model, out, fmt, data, samples, force, progress):
    """INT8 of a detector (:func:`edgekit.compress.detection.quantize_detector`): ``--data`` is a YOLO folder,
    COCO json or VOC folder, letterboxed like the model's input; the box/score decode tail stays float."""
    from edgekit.compress.detection import quantize_detector
    from edgekit.errors import DataError

    if not data:
        raise DataError(f"INT8 of the detector {model.name} needs calibration images: pass --data with "
                        f"{DETECTION_FORMS}")
    quantizer = "nncf" if fmt == Format.OPENVINO else "onnxruntime"
    return quantize_detector(model, data, out, quantizer=quantizer, samples=samples, force=force, progress=progress)


def _controlled_int8(model, out, data, samples, max_drop, force, progress):
    """``--method int8-ac``: onnxruntime's static INT8 with the layers that cost the most accuracy kept in
    float until the drop on a held-out half of ``--data`` fits ``max_drop``; the other half calibrates (as
    ``edgekit plan`` splits it). Why here too: a user who wants one compressed file within a budget got a
    25-point mAP loss from ``--method int8`` on YOLOX-Nano and a pointer to a whole plan."""
    from edgekit.errors import ConversionError, DataError
    from edgekit.planner.detection import is_detector

    if model.format != Format.ONNX:
        raise ConversionError(f"--method int8-ac quantizes ONNX models for onnxruntime; {model.name} is "
                              f"{model.format} (convert it to ONNX first, or try int8 with --format openvino)")
    if not data:
        raise DataError(f"--method int8-ac needs labelled --data for {model.name}: half calibrates, the other half "
                        "measures the accuracy the budget is judged on")
    if is_detector(model):
        from edgekit.compress.detection import detection_calibration
        from edgekit.compress.detection_control import quantize_detector_controlled
        from edgekit.detection.datasets import open_detection_dataset
        from edgekit.detection.head import detector_spec
        from edgekit.planner.detection import split

        labels = detector_spec(model).labels
        calib, val = split(open_detection_dataset(data, labels=labels, num_classes=len(labels) if labels else None))
        result = quantize_detector_controlled(model, detection_calibration(calib, model, samples), val, out,
                                              max_drop=max_drop, force=force, progress=progress)
        metric, held_out = "mAP@0.5:0.95", len(val)
    else:
        from edgekit.compress.accuracy_control import controlled
        from edgekit.data import calibration_set, calibration_validation_split, check_classes, open_dataset
        from edgekit.data.spec import image_size

        ds = open_dataset(data, image_size(model))
        index = check_classes(ds, model.labels)
        calib, val, _ = calibration_validation_split(ds)
        name, pre = model.input.name, model.preprocess
        pairs = [({name: pre(image)}, int(index[label])) for image, label in val]
        result = controlled(model, calibration_set(calib, model, n=samples), pairs, out, max_drop=max_drop,
                            force=force, progress=progress)
        metric, held_out = "top-1", len(val)
    met = getattr(result, "met", True)  # a classifier's search raises BudgetNotMet instead
    return result.model.replace(metadata={**result.model.metadata, "accuracy_control": {
        "metric": metric, "fp32": result.baseline, "int8": result.accuracy, "held_out": held_out,
        "float_layers": list(result.float_layers), "met": met}})


def _controlled_sentence(control: dict, max_drop: float) -> str:
    """What ``--method int8-ac`` kept in float and what it measured, in one sentence."""
    layers = control["float_layers"]
    names = first_few(layers, 2)
    met = "within" if control["met"] else "[yellow]over[/]"
    drop = 100 * (control["int8"] - control["fp32"]) + 0.0  # + 0.0: "+0.00", not "-0.00"
    return (f"kept {len(layers)} layer(s) in float{f' ({esc(names)})' if names else ''}: {control['metric']} "
            f"{100 * control['int8']:.1f}% vs FP32 {100 * control['fp32']:.1f}% ({drop:+.2f} points) on "
            f"the {control['held_out']} images not used to calibrate (the layers were chosen on them), {met} "
            f"--max-accuracy-drop {max_drop:g}")


def _check_format(fmt: str | None, method: str) -> str | None:
    """``--format`` is onnx or openvino, and openvino only where a method can write it (not silently ignored)."""
    from edgekit.errors import ConfigError

    if fmt is None:
        return None
    fmt = fmt.lower()
    if fmt not in (Format.ONNX, Format.OPENVINO):
        raise ConfigError(f"--format {fmt!r} is unknown; choose onnx or openvino (or leave it out)")
    if fmt == Format.OPENVINO and method not in _WRITES_IR:
        raise ConfigError(f"--method {method} writes ONNX only; drop --format openvino, or convert the result "
                          "afterwards with edgekit convert --to openvino")
    return fmt


def _refuse_existing(model, method: str, out, fmt, force) -> None:
    """Refuse an existing ``--out`` (or its ``.json`` / ``.bin``) before calibration or pruning runs,
    naming the same files, with the same message, the method itself would refuse minutes later."""
    from edgekit.compress._common import output_path, refuse_existing

    if method == Method.FP16:
        target = Format.parse(fmt or model.format, "format")
    else:
        target = Format.OPENVINO if method == Method.INT8 and fmt == Format.OPENVINO else Format.ONNX
    refuse_existing(output_path(model, out, _TAGS[method], target), target, model, force)


def _refuse_int8(model, method: str, fmt) -> None:
    """An INT8 file asked to be quantized is refused first, naming what makes it INT8 -- before the
    calibration data, preprocessing flags or ``--out`` are asked for: none could make it quantizable."""
    from edgekit.compress._common import refuse_quantized

    if method == Method.INT8_DYNAMIC:
        refuse_quantized(model, "dynamic INT8")
    elif method in _CALIBRATED:
        refuse_quantized(model, "NNCF INT8" if fmt == Format.OPENVINO else "static INT8")


def _compress(model, method: str, out, fmt, data, samples, ratio, force, progress=None, max_drop=0.01):
    from edgekit.errors import ConversionError

    if method not in METHODS:
        raise ConversionError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method == Method.PRUNE:
        from edgekit.models.twin import torch_twin

        twin = torch_twin(model)  # a checkpoint that does not load is named, with the mismatch
        if twin is None:
            from edgekit.backends._common import has_package, missing_package

            if not has_package("torch"):
                raise ConversionError(missing_package("pruning", "torch", "torch"))
            raise ConversionError(f"pruning needs a PyTorch model; {model.name} has no .pt checkpoint beside it "
                                  "(with its architecture in the card)")
        model = twin
    _refuse_int8(model, method, fmt)
    _refuse_existing(model, method, out, fmt, force)
    if method == Method.FP16:
        from edgekit.compress import to_fp16

        return to_fp16(model, out, fmt=fmt, force=force, progress=progress)
    if method == "int8-dynamic":
        from edgekit.compress import quantize_dynamic_int8

        return quantize_dynamic_int8(model, out, force=force, progress=progress)
    if method == Method.INT8:
        from edgekit.compress import quantize_int8, quantize_openvino
        from edgekit.planner.detection import is_detector
        from edgekit.progress import emit

        emit(progress, "preparing", f"up to {samples} calibration images", fraction=0.0)
        if is_detector(model):  # letterboxed detection images; the decode tail stays float
            return _detector_int8(model, out, fmt, data, samples, force, progress)
        feeds = _calibration(model, data, samples)
        if fmt == Format.OPENVINO:
            return quantize_openvino(model, feeds, out, force=force, progress=progress)
        return quantize_int8(model, feeds, out, force=force, progress=progress)
    if method == Method.INT8_AC:
        return _controlled_int8(model, out, data, samples, max_drop, force, progress)
    from edgekit.compress import prune_channels

    return prune_channels(model, ratio, out, train_data=_fine_tune_images(model, data, samples), force=force,
                          progress=progress).model


def _fine_tune_images(model, data: str | None, n: int):
    """At most ``n`` class-balanced labelled images to fine-tune a pruned model on: ``--data``, else the
    training images the card names (the demo models': their training split); ``None`` without either.

    Why: pruning alone (no fine-tune) took digits-mnv2 from 98 % to chance (10 %) on demo-test even at
    ``--ratio 0.05``, and ``compress`` had the labelled images in hand; ``edgekit plan`` fine-tunes too."""
    from edgekit.data import open_dataset
    from edgekit.data.sampling import at_most
    from edgekit.data.spec import image_size

    card = model.validation
    spec = data or (card and card.calibration)
    return at_most(open_dataset(spec, image_size(model)), n) if spec else None


def _pruned_sentence(meta: dict) -> str:
    """What ``--method prune`` removed and whether it was fine-tuned, in one sentence."""
    removed = 1.0 - meta["flops_after"] / max(1, meta["flops_before"])
    said = (f"removed {removed:.0%} of the FLOPs and {1.0 - meta['params_after'] / max(1, meta['params_before']):.0%} "
            "of the parameters (channel counts kept multiples of 8)")
    tuned = meta.get("fine_tuned_images")
    if tuned:
        return said + f"; fine-tuned {meta['epochs']} epochs on {tuned} labelled images"
    return said + ("; not fine-tuned: give labelled images (--data) for a short fine-tune, which recovers most of "
                   "what pruning alone loses")


def _check(source, result, data: str):
    """``(AccuracyChange, None)``, or ``(None, why)`` when the images cannot score the models or a
    runtime cannot run one of them: the new file is written by then, and stays."""
    from edgekit.cli._compress_check import accuracy_change
    from edgekit.cli._progress import progress_bar
    from edgekit.errors import Cancelled, EdgekitError
    from edgekit.planner.detection import is_detector

    try:
        with progress_bar(f"accuracy before and after on {data}") as progress:
            return accuracy_change(source, result, data, detector=is_detector(source), progress=progress), None
    except Cancelled:
        raise
    except EdgekitError as exc:  # images without labels, a runtime that fails: the file is written all the same
        return None, str(exc)


CHECK_PANEL = "Accuracy check"  # --help: --check and --max-accuracy-drop


def _a_fraction(value: float) -> float:
    if value >= 1.0:
        raise typer.BadParameter(f"{value:g} is not a fraction: 0.01 is 1 point (as in edgekit plan), so give "
                                 f"{value / 100:g} for {value:g} point{'' if value == 1 else 's'}")
    return value


def register(app: typer.Typer) -> None:
    @app.command("compress")
    def compress_cmd(
        model: Annotated[str, typer.Argument(help="Model file or name.")],
        method: Annotated[str, typer.Option(help="fp16 | int8 | int8-ac (INT8 keeping the layers that cost the "
                                                 "most accuracy in float, within --max-accuracy-drop) | "
                                                 "int8-dynamic | prune")],
        out: Annotated[str, typer.Option(help="Output file (.onnx / .xml) or folder.")],
        fmt: Annotated[str | None, typer.Option("--format", help="onnx | openvino (fp16, int8).")] = None,
        data: Annotated[str | None, typer.Option(help="Calibration images (int8), labelled images to fine-tune "
                                                     "on (prune); for a detector a YOLO folder, COCO .json or VOC "
                                                     "folder.")] = None,
        samples: Annotated[int, typer.Option(min=1, help="Calibration (int8) or fine-tune (prune) images, "
                                                         "at most.")] = 300,
        ratio: Annotated[float, typer.Option(help="Share of channels removed (prune).")] = 0.3,
        force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
        # a panel of their own: in Options, beside --no-check and --size's range, 80 columns cut the name
        # to "--max-accuracy-d…"
        check: Annotated[bool, typer.Option("--check/--no-check", rich_help_panel=CHECK_PANEL, help="With labelled "
                                            "--data: measure the new file's accuracy beside the original's on "
                                            "those images.")] = True,
        # a fraction, as plan's flag of the same name and plan.yaml (it was points here: 0.5 meant half a
        # point to compress and fifty to plan)
        max_accuracy_drop: Annotated[float, typer.Option(min=0.0, callback=_a_fraction, rich_help_panel=CHECK_PANEL,
                                                         help="Warn when the check finds more lost than this, "
                                                         "as a fraction (0.01 = 1 point), as in edgekit plan."
                                                         )] = 0.01,
        as_json: Annotated[bool, typer.Option("--json", help="Print the new model as JSON.")] = False,
    ) -> None:
        """Compress a model into a NEW file (never edits the input)."""
        from edgekit.cli._card_flags import load_cli_model
        from edgekit.cli._console import console, print_json

        fmt = _check_format(fmt, method)
        from edgekit.errors import DataError

        try:
            source = load_cli_model(model, need_preprocess=method in _CALIBRATED)  # INT8 feeds it calibration images
        except DataError:  # no preprocessing given: an already-INT8 file says that first, not which flags to give
            if method in _CALIBRATED:
                _refuse_int8(load_cli_model(model), method, fmt)
            raise
        from edgekit.cli._progress import progress_bar

        with progress_bar(f"{method} {model}") as progress:
            result = _compress(source, method, out, fmt, data, samples, ratio, force, progress, max_accuracy_drop)
        try:
            change, why_not = _check(source, result, data) if data and check else (None, None)
        except KeyboardInterrupt:  # the new file is whole: say it stays, before "cancelled" ends the run
            from edgekit.cli._console import print_message

            print_message(f"note: {esc(str(result.path))} was written; only the accuracy check after it was "
                          "cancelled (delete the file if you do not want it)")
            raise
        if change is not None and method in _CALIBRATED:  # --data calibrated it too
            change = dataclasses.replace(change, calibrated="INT8 was calibrated")
        elif change is not None and result.metadata.get("compression", {}).get("fine_tuned_images"):
            change = dataclasses.replace(change, calibrated="the pruned model was fine-tuned")
        if as_json:
            print_json({**result.to_dict(), **({"accuracy_check": change.to_dict()} if change else {})})
            return
        before, after = source.size_bytes / 1e6, result.size_bytes / 1e6
        console.print(f"[green]wrote[/] {esc(str(result.path))} ({result.precision}, {after:.2f} MB, was {before:.2f} MB)")
        if method == Method.PRUNE and "flops_after" in result.metadata.get("compression", {}):
            console.print(_pruned_sentence(result.metadata["compression"]), highlight=False)
        if "accuracy_control" in result.metadata:
            console.print(_controlled_sentence(result.metadata["accuracy_control"], max_accuracy_drop))
        if change is not None:
            console.print(esc(change.sentence(data)), highlight=False)
            control = result.metadata.get("accuracy_control")
            if change.drop_points > 100 * max_accuracy_drop and control:  # the budget held on the held-out half
                from edgekit.cli._console import print_message

                held = 100 * (control["fp32"] - control["int8"])
                print_message(
                    f"[yellow]warning:[/] int8-ac lost {change.drop_points:.1f} points of {change.metric} on all "
                    f"{change.images} images, {held:.1f} on the {control['held_out']} its float layers were chosen "
                    "on: with this few images the choice is noisy; give more labelled images (a few hundred) "
                    "for one that holds beyond them")
            elif change.drop_points > 100 * max_accuracy_drop:
                from edgekit.cli._console import print_message, shell_arg

                budget = "" if max_accuracy_drop == 0.01 else f" --max-accuracy-drop {max_accuracy_drop:g}"
                controlled = ""  # the way to keep plain INT8's speed within the budget, where it applies
                if method == Method.INT8 and str(source.format) == "onnx":
                    ac = Path(out).with_name(f"{Path(out).stem}-ac{Path(out).suffix or '.onnx'}")
                    controlled = (f"`edgekit compress {shell_arg(model)} --method int8-ac --data {shell_arg(data)}"
                                  f"{budget} --out {shell_arg(str(ac))}` keeps its most sensitive layers in float "
                                  "until the drop is within the budget; ")
                print_message(
                    f"[yellow]warning:[/] {method} lost {change.drop_points:.1f} points of {change.metric} on "
                    f"these images (more than --max-accuracy-drop {max_accuracy_drop:g}, "
                    f"{100 * max_accuracy_drop:g} point{'' if max_accuracy_drop == 0.01 else 's'}); {controlled}`edgekit plan "
                    f"{shell_arg(model)} --data {shell_arg(data)}{budget}` measures each method on each runtime on held-out images and "
                    "keeps only what stays within the budget")
        elif why_not:
            console.print(f"accuracy not compared: {esc(why_not)}", highlight=False)
