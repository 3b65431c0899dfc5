"""``convert``: PyTorch -> ONNX, ONNX -> OpenVINO IR, ONNX -> ONNX; each checked.

One converter function per (source, target) pair, dispatched through
``_CONVERTERS`` and wrapped by :func:`_timed` (times it, logs the size
written), as Ultralytics does per export format. Every converter writes into
a staging folder beside the output; the result is checked numerically
against its source *before* it is moved into place, so a failed check or a
crash leaves no file behind and an existing output is replaced only with
``force``.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit._io import check_writable, expand_user
from edgekit.errors import ConversionError, EdgekitError, error_text
from edgekit.models._output import model_card, move_into_place, output_files, safe_stem, staging_dir
from edgekit.models.check import ConversionReport, check_conversion
from edgekit.models.load import load_model
from edgekit.models.model import Model
from edgekit.models.openvino_io import openvino
from edgekit.progress import Progress, emit
from edgekit.types import Format

log = logging.getLogger(__name__)

OPSET = 17
_SUFFIX = {Format.ONNX: ".onnx", Format.OPENVINO: ".xml"}


@dataclass(frozen=True)
class ConvertOptions:
    """Options every converter receives.

    Attributes:
        fp16: store OpenVINO IR weights as float16 (``compress_to_fp16``).
        opset: ONNX opset for PyTorch export.
    """

    fp16: bool = False
    opset: int = OPSET


def _timed(fn: Callable[[Model, Path, ConvertOptions], list[Path]]):
    """Time a converter, log what it wrote, and turn its failures into ConversionError."""

    @functools.wraps(fn)
    def wrapper(model: Model, dest: Path, opts: ConvertOptions) -> tuple[list[Path], float]:
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # exporters' deprecation chatter
                files = fn(model, dest, opts)
        except EdgekitError:
            raise
        except Exception as exc:
            first = error_text(exc)
            raise ConversionError(
                f"{fn.__name__} failed for {model.path or model.name}: {first}; "
                "check that the model runs in its own framework and uses standard ops",
                path=model.path,
            ) from exc
        seconds = time.perf_counter() - start
        size = sum(f.stat().st_size for f in files)
        log.info("%s: %s (%.1f MB) in %.2f s", fn.__name__, dest.name, size / 1e6, seconds)
        return files, seconds

    return wrapper


def _export_onnx(model: Model, dest: Path, opts: ConvertOptions) -> None:
    import torch

    dummy = torch.zeros(model.input.concrete_shape(1))
    torch.onnx.export(
        model.module,
        (dummy,),
        str(dest),
        dynamo=False,
        opset_version=opts.opset,
        input_names=["input"],
        output_names=["logits"],
        do_constant_folding=True,
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )


def _save_ir(onnx_path: Path, dest: Path, opts: ConvertOptions) -> list[Path]:
    ov = openvino()
    ov.save_model(ov.convert_model(str(onnx_path)), str(dest), compress_to_fp16=opts.fp16)
    return [dest, dest.with_suffix(".bin")]


@_timed
def torch_to_onnx(model: Model, dest: Path, opts: ConvertOptions) -> list[Path]:
    """Export an ``nn.Module`` / TorchScript to ONNX (opset 17, dynamic batch)."""
    _export_onnx(model, dest, opts)
    return [dest]


@_timed
def onnx_to_openvino(model: Model, dest: Path, opts: ConvertOptions) -> list[Path]:
    """Convert ONNX to OpenVINO IR (fp32 weights unless ``opts.fp16``)."""
    return _save_ir(model.path, dest, opts)


@_timed
def torch_to_openvino(model: Model, dest: Path, opts: ConvertOptions) -> list[Path]:
    """PyTorch -> ONNX (staged, not kept) -> OpenVINO IR."""
    tmp = dest.with_name(f".{dest.stem}.export.onnx")
    try:
        _export_onnx(model, tmp, opts)
        return _save_ir(tmp, dest, opts)
    finally:
        tmp.unlink(missing_ok=True)


@_timed
def onnx_to_onnx(model: Model, dest: Path, opts: ConvertOptions) -> list[Path]:
    """Re-save an ONNX model as one self-contained file (external data inlined)."""
    import onnx

    proto = onnx.load(str(model.path))  # external data already confined by load_model
    onnx.save(proto, str(dest))
    return [dest]


_CONVERTERS: dict[tuple[Format, Format], Callable[..., tuple[list[Path], float]]] = {
    (Format.TORCH, Format.ONNX): torch_to_onnx,
    (Format.TORCH, Format.OPENVINO): torch_to_openvino,
    (Format.ONNX, Format.OPENVINO): onnx_to_openvino,
    (Format.ONNX, Format.ONNX): onnx_to_onnx,
}


def supported_conversions() -> list[tuple[str, str]]:
    """(source, target) format pairs :func:`convert` handles."""
    return [(str(a), str(b)) for a, b in _CONVERTERS]


def target_path(model: Model, to: Format, out: str | Path) -> Path:
    """The main output file: ``out`` itself when it has the right suffix, else ``out/<stem><suffix>``.

    Raises:
        ConversionError: ``out`` has a suffix that does not fit ``to``.
    """
    out = expand_user(out)
    suffix = _SUFFIX[to]
    if out.suffix.lower() == suffix:
        return out
    if out.suffix and not out.is_dir():
        raise ConversionError(
            f"output {out} does not fit format {to}: give a {suffix} file or a folder", path=out
        )
    return out / f"{safe_stem(model)}{suffix}"


def convert(
    model: Model | str | Path | Any,
    to: str | Format,
    out: str | Path,
    *,
    force: bool = False,
    check: bool = True,
    tolerance: float | None = None,
    samples: int = 8,
    inputs: Sequence[Any] | None = None,
    fp16: bool = False,
    progress: Progress | None = None,
) -> tuple[Model, ConversionReport]:
    """Convert ``model`` to ``to``, check it numerically, and write it to ``out``.

    Args:
        model: a :class:`Model`, or anything :func:`load_model` accepts.
        to: ``"onnx"`` or ``"openvino"``.
        out: output file (``.onnx`` / ``.xml``) or folder.
        force: replace existing output files.
        check: compare outputs with the source (skipping it is reported as
            ``passed=None``).
        tolerance: max absolute output difference allowed (default by precision).
        samples: seeded random inputs for the check.
        inputs: real inputs to check on as well.
        fp16: OpenVINO only: store weights as float16.
        progress: receives a :class:`~edgekit.progress.ProgressEvent` per step (converting, checking, writing).

    Returns:
        The converted :class:`Model` (preprocess and labels carried over, also
        written as a ``.json`` card beside it) and its :class:`ConversionReport`.

    Raises:
        ConversionError: unsupported pair, failed export, or check over tolerance.
        OutputExists: an output file exists and ``force`` is false.

    Example:
        >>> ir, report = convert("tiny.onnx", to="openvino", out="ir/")   # doctest: +SKIP
        >>> report.passed
        True
    """
    source = model if isinstance(model, Model) else load_model(model)
    target = _parse_format(to)
    fn = _CONVERTERS.get((source.format, target))
    if fn is None:
        pairs = ", ".join(f"{a}->{b}" for a, b in supported_conversions())
        raise ConversionError(
            f"cannot convert {source.format} to {target}; supported: {pairs}", path=source.path
        )
    dest = target_path(source, target, out)
    card = model_card(source, "converted_from")
    finals = output_files(dest, target, card is not None)
    for path in finals:
        check_writable(path, force)  # fail before minutes of work, and again before moving
    with staging_dir(dest) as stage:
        _say(progress, "converting", f"{source.name} ({source.format}) to {target}", 0.0)
        files, seconds = fn(source, stage / dest.name, ConvertOptions(fp16=fp16))
        converted = _load_staged(stage / dest.name, source, target, card)
        report = _check(source, converted, check, tolerance, samples, inputs, progress)
        _say(progress, "writing", str(dest), 0.9)
        move_into_place(stage, finals, force)
    _say(progress, "writing", f"{dest} done", 1.0)
    moved = tuple(dest.parent / f.name for f in files)
    result = converted.replace(path=dest, files=moved, metadata={**converted.metadata, **_provenance(source)})
    report = report.replace(target_path=str(dest), seconds=seconds, output_bytes=result.size_bytes)
    return result, report


def _parse_format(to: str | Format) -> Format:
    try:
        target = Format.parse(to, "target format")
    except ValueError as exc:
        raise ConversionError(f"{exc}; convert writes onnx or openvino") from exc
    if target not in _SUFFIX:
        raise ConversionError(f"cannot write {target} files; convert writes onnx or openvino")
    return target


def _load_staged(path: Path, source: Model, target: Format, card: dict | None) -> Model:
    if card is not None:
        path.with_suffix(".json").write_text(json.dumps(card, indent=2), encoding="utf-8")
    try:
        return load_model(path, name=source.name)
    except EdgekitError as exc:
        raise ConversionError(
            f"the {target} file written for {source.name} does not load back: {exc}"
        ) from exc


def _check(source, converted, check, tolerance, samples, inputs, progress) -> ConversionReport:
    if check:
        _say(progress, "checking", f"against the source on {samples} inputs", 0.6)
        return check_conversion(source, converted, samples=samples, tolerance=tolerance, inputs=inputs)
    return ConversionReport(
        source_format=str(source.format),
        target_format=str(converted.format),
        source_path=None if source.path is None else str(source.path),
        target_path=None,
        max_abs_diff=None,
        mean_abs_diff=None,
        top1_agreement=None,
        tolerance=float(tolerance or 0.0),
        passed=None,
        seconds=0.0,
        samples=0,
    )


def _provenance(source: Model) -> dict:
    return {
        "converted_from": {
            "format": str(source.format),
            "sha256": source.sha256,
            "path": None if source.path is None else str(source.path),
        }
    }


def _say(progress: Progress | None, stage: str, text: str, fraction: float) -> None:
    log.info("%s %s", stage, text)
    emit(progress, stage, text, fraction=fraction)
