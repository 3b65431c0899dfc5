"""What every compression method shares: where the output goes, how it is
written (staged, then moved into place: never half a file, never over the
input), and how the new ``Model`` remembers where it came from.

Staging, the card and the moves are :mod:`edgekit.models._output`'s, so a
converted and a compressed model are written the same way.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from edgekit._io import check_writable, expand_user
from edgekit.errors import ConversionError, EdgekitError
from edgekit.models import convert, load_model
from edgekit.models._output import model_card, move_into_place, output_files, safe_stem, staging_dir
from edgekit.models.model import Model
from edgekit.progress import Progress, emit, scaled
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
    stem = safe_stem(model)
    if out is None:
        if model.path is None:
            raise ConversionError(f"{model.name} is held in memory: give an output file (out=...)")
        dest = model.path.with_name(f"{stem}.{tag}{suffix}")
    else:
        out = expand_user(out)
        if out.suffix.lower() == suffix:
            dest = out
        elif out.suffix and not out.is_dir():
            raise ConversionError(f"output {out} should end in {suffix} for a {fmt} model, or be a folder", path=out)
        else:
            dest = out / f"{stem}.{tag}{suffix}"
    if any(dest.resolve() == f.resolve() for f in model.files if f.exists()):
        raise ConversionError(f"output {dest} is the input model itself; compression never edits its input", path=dest)
    return dest


def refuse_existing(dest: Path, fmt: Format, source: Model, force: bool) -> list[Path]:
    """Every file written for ``dest`` (model, ``.bin``, ``.json`` card), each checked to be new.

    Callers that do slow work before :func:`write_result` (calibration, pruning) call it
    first, so an existing output is refused before the minutes, not after.

    Raises:
        OutputExists: one of them exists and ``force`` is false.
    """
    finals = output_files(dest, fmt, _card(source) is not None)
    for path in finals:
        check_writable(path, force)
    return finals


def write_result(
    dest: Path, fmt: Format, source: Model, force: bool, method: str, settings: dict, write: Callable[[Path], None]
) -> Model:
    """Run ``write(staging_path)``, check the file loads, move it (and its card) to ``dest``.

    The output is staged beside ``dest`` and loaded *before* it is moved into
    place, so a broken output never appears; that one load is also the
    returned ``Model``, which remembers its parent and ``settings``. The card
    (``.json``: preprocess + labels) is written beside it so that
    ``load_model`` of the result knows how to feed it.

    Raises:
        OutputExists: an output file exists and ``force`` is false.
        ConversionError: the written file does not load back (nothing is written).
    """
    card = _card(source)
    finals = refuse_existing(dest, fmt, source, force)  # refuse before minutes of work
    with staging_dir(dest) as stage:
        tmp = stage / dest.name
        write(tmp)
        if card is not None:
            tmp.with_suffix(".json").write_text(json.dumps(card, indent=2), encoding="utf-8")
        try:
            model = load_model(tmp, name=f"{source.name} [{method}]")
        except EdgekitError as exc:
            raise ConversionError(
                f"the {method} model written for {dest} does not load back ({exc}); nothing was written", path=dest
            ) from exc
        move_into_place(stage, finals, force)
    meta = {**model.metadata, "compression": {"method": method, "parent_sha256": source.sha256,
                                              "parent_path": None if source.path is None else str(source.path),
                                              **settings}}
    return model.replace(path=dest, files=tuple(dest.parent / f.name for f in model.files),
                         preprocess=model.preprocess or source.preprocess,
                         labels=model.labels or source.labels, metadata=meta)


def _card(source: Model) -> dict | None:
    return model_card(source, "compressed_from")


def as_onnx(model: Model, workdir: Path, progress: Progress | None = None) -> Model:
    """``model`` itself when it is ONNX; a PyTorch model is exported into ``workdir`` first.

    Raises:
        ConversionError: for formats that cannot become ONNX here (OpenVINO IR).
    """
    if model.format is Format.ONNX:
        return model
    if model.format is Format.TORCH:
        onnx_model, _ = convert(model, to="onnx", out=workdir, progress=scaled(progress, 0.0, 0.05))
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
        found = quantized_as(model)
        raise ConversionError(
            f"{model.name} is already quantized to {model.precision}{f' ({found})' if found else ''}; not "
            f"quantizing it again for {what} -- start from the FP32 model instead", path=model.path,
        )


_QDQ = ("QuantizeLinear", "DequantizeLinear")
_DYNAMIC = ("DynamicQuantizeLinear", "ConvInteger", "MatMulInteger")


def onnx_op_counts(path: str | Path) -> Counter:
    """How many nodes of each op type the ONNX graph at ``path`` holds (external weights not read)."""
    import onnx

    return Counter(n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node)


def quantized_as(model: Model) -> str | None:
    """What in ``model``'s file makes it quantized, for a message: "a QDQ graph: 120
    QuantizeLinear/DequantizeLinear nodes", "a QOperator graph: 52 QLinearConv, ..." -- the ops
    :func:`edgekit.models.onnx_io.precision` detected INT8 by, counted (``FakeQuantize`` ops for an
    OpenVINO IR). ``None`` when there is no file or none of them is found (the caller stays vague)."""
    path = getattr(model, "path", None)
    fmt = getattr(model, "format", None)
    try:
        if path is None or fmt not in (Format.ONNX, Format.OPENVINO):
            return None
        if fmt is Format.OPENVINO:
            n = Path(path).read_text(errors="replace").count('type="FakeQuantize"')
            return f"an IR with {n} FakeQuantize ops" if n else None
        ops = onnx_op_counts(path)
    except Exception:  # noqa: BLE001 -- only a message's detail: never fail the refusal over it
        return None

    def listed(names) -> str:
        return ", ".join(f"{ops[op]} {op}" for op in sorted(names, key=lambda op: -ops[op]))

    qop = [op for op in ops if op.startswith("QLinear") or op == "QGemm"]
    if qop:
        return f"a QOperator graph: {listed(qop)} ops"
    dyn = [op for op in _DYNAMIC if ops[op]]
    if dyn:
        return f"dynamic quantization: {listed(dyn)} nodes"
    qdq = sum(ops[op] for op in _QDQ)
    return f"a QDQ graph: {qdq} QuantizeLinear/DequantizeLinear nodes" if qdq else None


def say(progress: Progress | None, stage: str, text: str, fraction: float | None = None) -> None:
    """Report one step of a compression (a :class:`~edgekit.progress.ProgressEvent`) to ``progress``."""
    emit(progress, stage, text, fraction=fraction)
