"""What every compression method shares: where the output goes, how it is
written (staged, then moved into place: never half a file, never over the
input), and how the new ``Model`` remembers where it came from.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from edgekit._io import check_writable
from edgekit.errors import ConversionError, EdgekitError
from edgekit.models.model import Model
from edgekit.types import Format, Precision

_SUFFIX = {Format.ONNX: ".onnx", Format.OPENVINO: ".xml", Format.TORCH: ".pt"}


def output_path(model: Model, out: str | Path | None, tag: str, fmt: Format) -> Path:
    """The main output file for ``model`` compressed by ``tag``.

    ``out`` may be a file with the right suffix, a folder, or ``None`` (beside
    the input, as ``<stem>.<tag><suffix>``).

    Raises:
        ConversionError: ``out`` is the input file itself or has the wrong suffix.
    """
    suffix = _SUFFIX[fmt]
    stem = model.path.stem if model.path else re.sub(r"[^A-Za-z0-9_.-]+", "_", model.name) or "model"
    if out is None:
        if model.path is None:
            raise ConversionError(f"{model.name} is held in memory: give an output file (out=...)")
        dest = model.path.with_name(f"{stem}.{tag}{suffix}")
    else:
        out = Path(out).expanduser()
        if out.suffix.lower() == suffix:
            dest = out
        elif out.suffix and not out.is_dir():
            raise ConversionError(f"output {out} should end in {suffix} for a {fmt} model, or be a folder", path=out)
        else:
            dest = out / f"{stem}.{tag}{suffix}"
    if any(dest.resolve() == f.resolve() for f in model.files if f.exists()):
        raise ConversionError(f"output {dest} is the input model itself; compression never edits its input", path=dest)
    return dest


def companions(dest: Path, fmt: Format, with_card: bool) -> list[Path]:
    """Every file written for ``dest``, the main file last (it appears only when all else is in place)."""
    names = [dest.with_suffix(".bin")] if fmt is Format.OPENVINO else []
    if with_card:
        names.append(dest.with_suffix(".json"))
    return [*names, dest]


def refuse_existing(dest: Path, fmt: Format, source: Model, force: bool) -> list[Path]:
    """Every file written for ``dest`` (model, ``.bin``, ``.json`` card), each checked to be new.

    Callers that do slow work before :func:`staged` (calibration, pruning) call it
    first, so an existing output is refused before the minutes, not after.

    Raises:
        OutputExists: one of them exists and ``force`` is false.
    """
    finals = companions(dest, fmt, _card(source) is not None)
    for path in finals:
        check_writable(path, force)
    return finals


@contextmanager
def staged(dest: Path, fmt: Format, source: Model, force: bool) -> Iterator[Path]:
    """Yield a staging path ``<tmpdir>/<dest.name>``; on success move every file into place.

    The card (``.json``: preprocess + labels) is written beside it so that
    ``load_model`` of the result knows how to feed it.
    """
    card = _card(source)
    finals = refuse_existing(dest, fmt, source, force)  # refuse before minutes of work
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        yield stage / dest.name
        _verify(stage / dest.name)
        if card is not None:
            (stage / dest.with_suffix(".json").name).write_text(json.dumps(card, indent=2), encoding="utf-8")
        for final in finals:
            check_writable(final, force)
            os.replace(stage / final.name, final)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _verify(path: Path) -> None:
    """Load the staged file before it is moved into place: a broken output never appears."""
    from edgekit.models import load_model

    try:
        load_model(path)
    except EdgekitError as exc:
        raise ConversionError(f"the compressed model does not load back ({exc}); nothing was written") from exc


def _card(source: Model) -> dict | None:
    if source.preprocess is None and source.labels is None:
        return None
    return {
        "preprocess": None if source.preprocess is None else source.preprocess.to_dict(),
        "labels": None if source.labels is None else list(source.labels),
        "compressed_from": {"format": str(source.format), "sha256": source.sha256},
    }


def load_result(dest: Path, source: Model, method: str, settings: dict) -> Model:
    """Load the written file as a ``Model`` that remembers its parent and settings."""
    from edgekit.models import load_model

    try:
        model = load_model(dest, name=f"{source.name} [{method}]")
    except EdgekitError as exc:
        raise ConversionError(f"the {method} model written to {dest} does not load back: {exc}", path=dest) from exc
    meta = {**model.metadata, "compression": {"method": method, "parent_sha256": source.sha256,
                                              "parent_path": None if source.path is None else str(source.path),
                                              **settings}}
    return model.replace(preprocess=model.preprocess or source.preprocess,
                         labels=model.labels or source.labels, metadata=meta)


def as_onnx(model: Model, workdir: Path, progress: Callable[[str], None] | None = None) -> Model:
    """``model`` itself when it is ONNX; a PyTorch model is exported into ``workdir`` first.

    Raises:
        ConversionError: for formats that cannot become ONNX here (OpenVINO IR).
    """
    if model.format is Format.ONNX:
        return model
    if model.format is Format.TORCH:
        from edgekit.models import convert

        onnx_model, _ = convert(model, to="onnx", out=workdir, progress=progress)
        return onnx_model
    raise ConversionError(
        f"{model.name} is {model.format}; onnxruntime quantization needs an ONNX (or PyTorch) model", path=model.path
    )


def refuse_quantized(model: Model, what: str) -> None:
    """Quantizing twice only adds error: refuse models already stored in INT8.

    Raises:
        ConversionError: naming the model and what to do instead.
    """
    if model.precision in (Precision.INT8, Precision.INT8_DYNAMIC):
        raise ConversionError(
            f"{model.name} is already quantized ({model.precision}: e.g. a QDQ graph); not quantizing it again "
            f"for {what} -- start from the FP32 model instead", path=model.path,
        )


def say(progress: Callable[[str], None] | None, text: str) -> None:
    """Report one step to the caller's progress callback, if any."""
    if progress is not None:
        progress(text)
