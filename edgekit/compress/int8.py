"""INT8 post-training quantization: onnxruntime QDQ (static and dynamic) and NNCF for OpenVINO.

Calibration data is a plain iterable of ``{input_name: float32 array}`` (what
:func:`edgekit.data.calibration_set` returns); :class:`FeedReader` adapts it
to onnxruntime's ``CalibrationDataReader`` and :func:`nncf_dataset` to NNCF.

``reduce_range``: on x86 CPUs *without* VNNI, onnxruntime runs U8S8 through
``VPMADDUBSW``, whose 16-bit intermediate can saturate; 7-bit weights avoid
that at a small accuracy cost. :func:`needs_reduce_range` decides it from the
hardware profile (never hard-coded per machine).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.backends._common import saturating_cpu, sums_saturate
from edgekit.backends.base import cast_feed
from edgekit.compress._common import as_onnx, output_path, refuse_quantized, say, write_result
from edgekit.compress.calibration import check_calibration
from edgekit.errors import ConversionError, map_exceptions, require_argument, warn_caller
from edgekit.models.model import Model
from edgekit.progress import Progress, emit
from edgekit.types import Format, Precision

CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
Feed = dict[str, np.ndarray]


class FeedReader:
    """onnxruntime ``CalibrationDataReader`` over any iterable of feeds (re-iterable via ``rewind``)."""

    def __init__(self, feeds: Iterable[Feed], progress: Progress | None = None):
        self.feeds = list(feeds)
        self._it = iter(self.feeds)
        self._count = _Counter(progress, len(self.feeds))

    def get_next(self) -> Feed | None:
        feed = next(self._it, None)
        if feed is not None:
            self._count()
        return feed

    def rewind(self) -> None:
        self._it = iter(self.feeds)
        self._count.seen = 0

    def __len__(self) -> int:
        return len(self.feeds)


class _Counter:
    """Calls ``progress`` with "calibrating n/N" as a quantizer reads calibration samples
    (every few samples, so a 300-image calibration moves the bar without flooding it). A quantizer
    that reads the set again (NNCF's accuracy-controlled search) counts each pass from 1 again."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.seen = progress, max(1, total), 0
        self.every = max(1, self.total // 50)

    def __call__(self) -> None:
        self.seen += 1
        done = (self.seen - 1) % self.total + 1
        if self.progress is not None and (done % self.every == 0 or done == self.total):
            emit(self.progress, "calibrating", f"{done}/{self.total} samples", done=done, total=self.total,
                 fraction=0.1 + 0.8 * done / self.total)


def needs_reduce_range(profile: Any = None) -> bool:
    """True on x86 CPUs without VNNI/AMX (saturation risk of U8S8 on AVX2/AVX-512F): ``profile``'s,
    or this machine's (:func:`~edgekit.backends._common.saturating_cpu`) when ``None``."""
    if profile is None:
        return saturating_cpu()
    return sums_saturate(profile.arch, profile.has)


def quantize_int8(
    model: Model,
    calibration: Iterable[Feed],
    out: str | Path | None = None,
    *,
    method: str = "minmax",
    per_channel: bool = True,
    reduce_range: bool | None = None,
    exclude: Iterable[str] = (),
    labels: Iterable[int] | None = None,
    quant_format: str = "qdq",
    force: bool = False,
    progress: Progress | None = None,
) -> Model:
    """Static INT8 (QDQ) for onnxruntime from a calibration set.

    Args:
        model: an FP32 ONNX (or PyTorch, exported first) model.
        calibration: feeds ``{input_name: array}``; 300 is a good size.
        out: output file or folder (default ``<stem>.int8.onnx`` beside the input).
        method: "minmax", "entropy" or "percentile".
        per_channel: per-output-channel weight scales (better accuracy for convs).
        reduce_range: 7-bit weights; ``None`` decides from this machine's ISA.
        exclude: node names kept in float (see :mod:`.accuracy_control`).
        labels: the calibration images' labels, when known (checks classes).
        quant_format: "qdq" (QuantizeLinear/DequantizeLinear pairs, portable; ORT fuses
            them on CPU) or "qoperator" (QLinearConv/QLinearMatMul written out; on some
            CPUs faster, less portable). The planner measures rather than assumes.

    Returns:
        A new INT8 ``Model``; ``metadata["compression"]`` holds the settings.

    Raises:
        DataError: calibration set too small or unfit (see :func:`check_calibration`).
        ConversionError: already quantized, wrong format, or onnxruntime failed.

    Example:
        >>> q = quantize_int8(model, calibration_set(ds, model))   # doctest: +SKIP
    """
    require_argument(model, "quantize_int8", "a Model (edgekit.load_model(path) makes one)")
    refuse_quantized(model, "static INT8")
    feeds = check_calibration(calibration, labels=labels, num_classes=model.num_classes)
    if method not in CALIBRATION_METHODS:
        raise ConversionError(f"calibration method {method!r} unknown; choose one of {', '.join(CALIBRATION_METHODS)}")
    reduce_range = needs_reduce_range() if reduce_range is None else reduce_range
    if quant_format not in ("qdq", "qoperator"):
        raise ConversionError(f"quant_format {quant_format!r} unknown; choose qdq or qoperator")
    settings = {"method": method, "format": quant_format, "per_channel": per_channel, "reduce_range": reduce_range,
                "exclude": sorted(exclude), "calibration_samples": len(feeds), "backend": "onnxruntime"}
    with tempfile.TemporaryDirectory(prefix="edgekit-q-") as work:
        source = as_onnx(model, Path(work), progress)
        dest = output_path(model, out, "int8", Format.ONNX)
        say(progress, "calibrating", f"{model.name} on {len(feeds)} samples ({method})", 0.05)
        feeds = [cast_feed(source.inputs, f) for f in feeds]  # fp16 / uint8 inputs get their own dtype
        result = write_result(dest, Format.ONNX, model, force, "int8", settings,
                              lambda tmp: _ort_static(source.path, tmp, feeds, Path(work), settings, progress))
        say(progress, "writing", str(result.path), 1.0)
    return result.replace(precision=Precision.INT8)


def _ort_static(src: Path, tmp: Path, feeds: list[Feed], work: Path, s: dict, progress: Progress | None = None) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    prepped = _preprocess(src, work)
    prepped = _at_least_opset13(prepped, work) if s["per_channel"] else prepped
    calib = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
             "percentile": CalibrationMethod.Percentile}[s["method"]]
    with map_exceptions({Exception: ConversionError}, f"onnxruntime static quantization of {src} failed: {{error}}",
                        path=src):
        quantize_static(
            str(prepped), str(tmp), FeedReader(feeds, progress),
            quant_format=QuantFormat.QDQ if s["format"] == "qdq" else QuantFormat.QOperator,
            per_channel=s["per_channel"], reduce_range=s["reduce_range"],
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            nodes_to_exclude=list(s["exclude"]) or None, calibrate_method=calib,
            extra_options={"CalibTensorRangeSymmetric": False, "ActivationSymmetric": False},
        )


def _at_least_opset13(src: Path, work: Path) -> Path:
    """Per-channel scales need DequantizeLinear's ``axis`` (opset 13); older graphs (YOLOX exports are
    opset 11) are converted first, else onnxruntime writes a file the ONNX checker refuses."""
    import onnx
    from onnx import version_converter

    proto = onnx.load(str(src))
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 13)
    if opset >= 13:
        return src
    with map_exceptions({Exception: ConversionError}, f"{src} is ONNX opset {opset}; converting it to opset 13 for "
                        "per-channel INT8 failed ({error}); re-export it with opset 13 or use per_channel=False",
                        path=src):
        out = work / f"{src.stem}.opset13.onnx"
        onnx.save(version_converter.convert_version(proto, 13), str(out))
    return out


def _preprocess(src: Path, work: Path) -> Path:
    """ORT's recommended pre-pass (shape inference + graph optimisation); the source if it fails."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepped = work / f"{src.stem}.prep.onnx"
    try:
        quant_pre_process(str(src), str(prepped), skip_symbolic_shape=True)
    except Exception:  # noqa: BLE001 - optional optimisation; quantizing the raw graph still works
        return src
    return prepped


def quantize_dynamic_int8(
    model: Model,
    out: str | Path | None = None,
    *,
    per_channel: bool = False,
    reduce_range: bool | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Model:
    """Dynamic INT8 for onnxruntime: weights stored INT8, activations quantized at run time.

    No calibration data needed; helps MatMul/Gemm-heavy models most, convs little.

    Raises:
        ConversionError: already quantized, wrong format, or onnxruntime failed.
    """
    require_argument(model, "quantize_dynamic_int8", "a Model (edgekit.load_model(path) makes one)")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    refuse_quantized(model, "dynamic INT8")
    reduce_range = needs_reduce_range() if reduce_range is None else reduce_range
    settings = {"per_channel": per_channel, "reduce_range": reduce_range, "backend": "onnxruntime"}
    with tempfile.TemporaryDirectory(prefix="edgekit-q-") as work:
        source = as_onnx(model, Path(work), progress)
        dest = output_path(model, out, "int8-dynamic", Format.ONNX)
        say(progress, "quantizing", f"{model.name} weights to INT8 (dynamic)", 0.1)

        def write(tmp: Path) -> None:
            with map_exceptions({Exception: ConversionError}, f"dynamic quantization of {source.path} failed: {{error}}",
                                path=source.path):
                quantize_dynamic(str(_preprocess(source.path, Path(work))), str(tmp), per_channel=per_channel,
                                 reduce_range=reduce_range, weight_type=QuantType.QInt8)

        result = write_result(dest, Format.ONNX, model, force, "int8-dynamic", settings, write)
        say(progress, "writing", str(result.path), 1.0)
    return result.replace(precision=Precision.INT8_DYNAMIC)


SUBSET_PER_CLASS = 10
SUBSET_MIN, SUBSET_MAX = 100, 300


def nncf_subset_size(n: int, num_classes: int | None) -> int:
    """Calibration samples NNCF needs: 10 per class, at least 100, at most 300 (NNCF's default) and ``n``.

    Why: min/max activation statistics of a convnet settle after ~100 varied images; a 10-class model
    calibrated on 100 instead of 300 quantizes 3x faster with the same ranges (the plan measures the
    accuracy of the result either way), while a 1000-class model keeps all 300.
    """
    wanted = max(SUBSET_MIN, SUBSET_PER_CLASS * (num_classes or 0))
    return max(1, min(n, wanted, SUBSET_MAX))


@contextlib.contextmanager
def nncf_output(progress: Progress | None = None) -> Iterator[None]:
    """NNCF's log lines (warnings and worse) on stderr while NNCF runs; its progress bars on
    stderr too, or dropped when ``progress`` is given (edgekit reports the work itself).

    Why: NNCF logs INFO lines ("Not adding activation input quantizer for operation ...") and
    draws its "Statistics collection" bars on stdout, so ``edgekit compress --format openvino
    --json`` printed JSON that would not parse; stdout is for the result alone. And where the
    caller shows progress (``edgekit compress``, ``edgekit plan``, the app), NNCF's bar and
    edgekit's took turns on the same terminal line ("calibrating: 4/100 samples" / "Statistics
    collection 0%") and NNCF's finished bar stayed behind as a stray line; edgekit's bar already
    counts every sample NNCF reads (:func:`nncf_dataset`).
    """
    import io
    import logging

    from nncf.common.logging import nncf_logger

    handlers = [(h, h.stream) for h in nncf_logger.handlers if isinstance(h, logging.StreamHandler)]
    level = nncf_logger.level
    nncf_logger.setLevel(logging.WARNING)
    for handler, _ in handlers:
        handler.setStream(sys.stderr)
    bars = sys.stderr if progress is None else io.StringIO()  # not a terminal: rich draws nothing there
    try:
        with contextlib.redirect_stdout(bars):  # the bars (rich) print to whatever sys.stdout is
            yield
    finally:
        nncf_logger.setLevel(level)
        for handler, stream in handlers:
            handler.setStream(stream)


def nncf_dataset(feeds: list[Feed], progress: Progress | None = None) -> Any:
    """An ``nncf.Dataset`` over feeds (NNCF hands each item to the model as-is; each one read is counted)."""
    import nncf

    count = _Counter(progress, len(feeds))

    def item(feed: Feed) -> Any:
        count()
        return next(iter(feed.values())) if len(feed) == 1 else feed

    return nncf.Dataset(feeds, item)


def overflow_fix(reduce_range: bool) -> str:
    """NNCF's ``overflow_fix`` for a target: every layer where U8S8 sums saturate, else NNCF's default."""
    return "enable" if reduce_range else "first_layer_only"


def nncf_advanced(fix: str) -> Any:
    """``AdvancedQuantizationParameters`` carrying ``overflow_fix`` (NNCF imported by the caller)."""
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix

    return AdvancedQuantizationParameters(overflow_fix=OverflowFix(fix))


def ov_names(ov_model: Any, names: Iterable[str]) -> list[str]:
    """``names`` as the OpenVINO graph calls its layers, for NNCF's ignored scope.

    Why: an ONNX ``Conv`` named ``/features.4/Conv`` reaches OpenVINO as ``/features.4/Conv/WithoutBiases``
    and its bias ``Add`` as ``/features.4/Conv``: NNCF kept the ``Add`` float and quantized the layer a
    caller had asked to keep in float, silently. A name the graph has stays, and the convolutions and
    matrix products named under it join it; what matches nothing is warned about.
    """
    ops = {op.get_friendly_name(): op.get_type_name() for op in ov_model.get_ordered_ops()}
    resolved, missing = [], []
    for name in names:
        under = [n for n, kind in ops.items() if n.startswith(name + "/")
                 and kind in ("Convolution", "GroupConvolution", "MatMul")]
        found = ([name] if name in ops else []) + under  # the name itself may be the bias Add
        resolved.extend(found)
        if not found:
            missing.append(name)
    if missing:
        warn_caller(f"layers to keep in float not in the model, quantized as the rest: "
                    f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    return resolved


def quantize_openvino(
    model: Model,
    calibration: Iterable[Feed],
    out: str | Path | None = None,
    *,
    labels: Iterable[int] | None = None,
    force: bool = False,
    progress: Progress | None = None,
    ignored: Iterable[str] | Callable[[Any], Iterable[str]] = (),
    subset_size: int | None = None,
    reduce_range: bool | None = None,
) -> Model:
    """Static INT8 for OpenVINO with NNCF (``nncf.quantize`` on an ``ov.Model``, fast bias correction).

    Args:
        model: FP32 ONNX or OpenVINO IR (PyTorch models are exported to ONNX first).
        ignored: node names NNCF must keep in float, or a function that finds them in the ``ov.Model``
            being quantized (as :func:`edgekit.compress.detection.tail_resolver` does: OpenVINO names
            unnamed ops anew on every read, so such names only hold in the model they came from).
        subset_size: calibration samples NNCF reads; ``None``: chosen from the data
            (:func:`nncf_subset_size`).
        reduce_range: 7-bit weights in every layer (NNCF's ``overflow_fix="enable"``), for an x86
            CPU without VNNI/AMX where OpenVINO's U8S8 pair sums saturate; ``False`` keeps NNCF's
            default (the first layer only); ``None`` decides from this machine's ISA
            (:func:`needs_reduce_range`), as :func:`quantize_int8` does. Why: measured on an AVX2
            EPYC, YOLOX-Nano INT8 on OpenVINO scored mAP@0.5:0.95 0.023 on 64 COCO photos with the
            default and 0.224 with every layer fixed (FP32: 0.415).

    Returns:
        A new INT8 OpenVINO IR ``Model`` (``<stem>.int8.xml`` + ``.bin``).

    Raises:
        DataError / ConversionError: as :func:`quantize_int8`.
    """
    require_argument(model, "quantize_openvino", "a Model (edgekit.load_model(path) makes one)")
    import nncf
    import openvino as ov

    refuse_quantized(model, "NNCF INT8")
    resolve = ignored if callable(ignored) else None
    ignored = [] if resolve else list(ignored)  # read twice below (settings, scope): not a generator
    feeds = check_calibration(calibration, labels=labels, num_classes=model.num_classes)
    subset = min(len(feeds), subset_size or nncf_subset_size(len(feeds), model.num_classes))
    feeds = feeds[:subset]  # the calibration set is class-balanced in order: a prefix stays balanced
    reduce_range = needs_reduce_range() if reduce_range is None else reduce_range
    fix = overflow_fix(reduce_range)
    settings = {"backend": "openvino", "calibration_samples": subset, "ignored": sorted(ignored),
                "fast_bias_correction": True, "overflow_fix": fix}
    with tempfile.TemporaryDirectory(prefix="edgekit-q-") as work:
        source = model if model.format is Format.OPENVINO else as_onnx(model, Path(work), progress)
        dest = output_path(model, out, "int8", Format.OPENVINO)
        say(progress, "calibrating", f"{model.name} for OpenVINO with NNCF on {subset} samples", 0.05)

        def write(tmp: Path) -> None:
            with map_exceptions({Exception: ConversionError}, f"NNCF quantization of {source.path} failed: {{error}}",
                                path=source.path):
                ov_model = ov.Core().read_model(str(source.path))
                names = list(resolve(ov_model)) if resolve else ov_names(ov_model, ignored)
                settings["ignored"] = sorted(names)
                scope = nncf.IgnoredScope(names=names, validate=False) if names else None
                with nncf_output(progress):
                    quantized = nncf.quantize(ov_model, nncf_dataset(feeds, progress), subset_size=subset,
                                              fast_bias_correction=True, ignored_scope=scope,
                                              advanced_parameters=nncf_advanced(fix))
                ov.save_model(quantized, str(tmp), compress_to_fp16=False)

        result = write_result(dest, Format.OPENVINO, model, force, "int8", settings, write)
        say(progress, "writing", str(result.path), 1.0)
    return result.replace(precision=Precision.INT8)
