"""Helpers every backend module shares: package checks, file checks, precision rules.

Kept apart from :mod:`edgekit.backends.base` (a shared contract) so the backends
can grow these without touching it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import platform
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from edgekit.backends.base import validate_inputs
from edgekit.errors import BackendUnavailable, ModelLoadError
from edgekit.types import Precision

QUANTIZED = (Precision.INT8, Precision.INT8_DYNAMIC)
_INT8_ISA = ("avx512_vnni", "avx_vnni", "amx_int8")  # 8-bit products summed in 32 bits: nothing saturates
_X86 = ("x86_64", "amd64", "i386", "i686")


def has_package(module: str) -> bool:
    """True when ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_package(backend: str, module: str, extra: str) -> str:
    """The reason string for a backend whose Python package is not installed."""
    return (
        f"{backend} needs the Python package {module!r}, which is not installed; "
        f'install it with: pip install "edgekit[{extra}]"'
    )


def package_available(backend: str, module: str, extra: str) -> tuple[bool, str]:
    """``Backend.available`` of a backend that needs one Python package: ``(True, "")``
    or ``(False, reason naming the pip extra)``."""
    if not has_package(module):
        return False, missing_package(backend, module, extra)
    return True, ""


def require(available: tuple[bool, str]) -> None:
    """Raise ``BackendUnavailable(reason)`` unless ``available[0]``."""
    ok, reason = available
    if not ok:
        raise BackendUnavailable(reason)


def check_files(model: Any) -> Path:
    """Return the model's main file, checking it and every companion file still exist.

    Why: a model loaded earlier whose file was deleted or moved would otherwise
    surface as a runtime's C++ error text.

    Raises:
        ModelLoadError: naming the missing file.
    """
    if model.path is None:
        raise ModelLoadError(
            f"model {model.name!r} has no file on disk; "
            "export it first with edgekit.models.convert(model, to='onnx')"
        )
    for path in (Path(model.path), *map(Path, model.files)):
        if not path.is_file():
            raise ModelLoadError(
                f"model file {path} no longer exists (deleted or moved after loading); load the model again",
                path=path,
            )
    return Path(model.path)


def parse_precision(precision: str | Precision) -> Precision:
    """Parse a precision name, turning a typo into ``BackendUnavailable``."""
    try:
        return Precision.parse(precision, "precision")
    except ValueError as exc:
        raise BackendUnavailable(str(exc)) from exc


def stored_precision_rule(
    backend: str, model: Any, requested: Precision
) -> tuple[Precision, tuple[str, ...]]:
    """Precision for runtimes that execute a graph as stored (onnxruntime, torch CPU).

    The default request ``fp32`` on an already quantized or fp16 model runs the
    model as it is stored and says so in a note; any other mismatch is refused,
    since this runtime cannot change a model's precision by itself.

    Returns:
        ``(precision in force, notes)``.

    Raises:
        BackendUnavailable: naming the stored precision and how to get the asked one.
    """
    stored = Precision.parse(model.precision)
    if requested == stored:
        return stored, ()
    if requested == Precision.FP32:
        return stored, (f"model is stored in {stored}; {backend} runs it as stored (asked fp32)",)
    head = f"{backend} runs a model in the precision it is stored in ({stored}), not {requested}"
    if requested == Precision.BF16:  # no file is stored in bf16 here: it is how OpenVINO executes one
        raise BackendUnavailable(f"{head}; bf16 is an execution precision: use the openvino backend, which runs "
                                 "an fp32 model in bf16 on a CPU with BF16 arithmetic (AMX or AVX512-BF16)")
    if requested in QUANTIZED:
        raise BackendUnavailable(f"{head}; quantize it with edgekit.compress first")
    raise BackendUnavailable(f"{head}; make a {requested} copy with edgekit.compress first"
                             + (", or use the openvino backend, which sets the execution precision"
                                if requested == Precision.FP16 else ""))


def build_options(cls: type, options: Any, backend: str) -> Any:
    """Return ``options`` as an instance of ``cls`` (``None`` -> defaults, dict -> fields).

    Raises:
        BackendUnavailable: options of another backend's type or unknown keys.
    """
    if options is None:
        return cls()
    if isinstance(options, cls):
        return options
    if isinstance(options, dict):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise BackendUnavailable(f"unknown {backend} options {unknown}; known: {sorted(known)}")
        return cls(**options)
    kind = type(options).__name__ if is_dataclass(options) else repr(options)
    raise BackendUnavailable(f"{backend} takes {cls.__name__} options, not {kind}")


def physical_cores() -> int:
    """Physical core count (what onnxruntime and OpenVINO default to), best effort."""
    try:
        import psutil

        return psutil.cpu_count(logical=False) or os.cpu_count() or 1
    except ImportError:
        return os.cpu_count() or 1


class InputChecker:
    """``validate_inputs`` with a fast path for the common call: one C-contiguous array
    of the right dtype and shape for a single-input model.

    Why: on small models the general check costs several microseconds per call,
    a visible share of a sub-millisecond inference; the fast path checks the same
    things (dtype, rank, fixed dims, layout) with precomputed specs, and every
    other case goes through :func:`~edgekit.backends.base.validate_inputs`.
    """

    def __init__(self, specs: tuple) -> None:
        import numpy as np

        self.specs = specs
        self._single = specs[0].name if len(specs) == 1 else None
        spec = specs[0] if specs else None
        self._dtype = np.dtype(spec.dtype) if spec is not None else None
        self._rank = len(spec.shape) if spec is not None else 0
        self._fixed = (
            tuple((i, d) for i, d in enumerate(spec.shape) if isinstance(d, int) and d > 0) if spec else ()
        )
        self._ndarray = np.ndarray

    def __call__(self, inputs: Any) -> dict:
        """``{name: array}`` ready for the runtime.

        Raises:
            InputMismatch: naming the input (from ``validate_inputs``).
        """
        if (
            self._single is not None
            and type(inputs) is self._ndarray
            and inputs.dtype == self._dtype
            and inputs.ndim == self._rank
            and inputs.flags.c_contiguous
        ):
            shape = inputs.shape
            if all(shape[i] == d for i, d in self._fixed):
                return {self._single: inputs}

        return validate_inputs(self.specs, inputs)


def sums_saturate(arch: str, has: Callable[[str], bool]) -> bool:
    """True for an x86 CPU without VNNI/AMX (``arch`` and an ISA-flag test ``has``), where U8S8 integer
    products can saturate: their pairs are summed in 16 bits (``VPMADDUBSW``), which 8-bit weights
    against 8-bit activations overflow. The one rule behind onnxruntime's widened sums, OpenVINO's
    caveat and 7-bit INT8 weights (``reduce_range``), for this machine or a planner's target."""
    return arch.lower() in _X86 and not any(has(f) for f in _INT8_ISA)


SATURATION_CAUSE = (
    "OpenVINO INT8 on this x86 CPU without VNNI: it sums pairs of 8-bit weight x 8-bit activation products "
    "in 16 bits (VPMADDUBSW), which can saturate and cost accuracy")
SATURATION_FIX = ("quantize the FP32 model with edgekit (`edgekit compress --method int8`) on this CPU: its weights "
                  "are then 7-bit and cannot saturate")
SATURATES = (  # the caveat said where nothing was compared (bench, eval, the demo)
    f"{SATURATION_CAUSE} (measured: a third-party ShuffleNet V2 INT8 QDQ scored 70.8% top-1 on 500 ImageNet "
    "photos on OpenVINO, 76.6% on onnxruntime, which widens its sums on such a CPU); compare its accuracy on "
    f"onnxruntime, or {SATURATION_FIX}")


def beside_a_comparison(caveat: str) -> str:
    """``caveat`` as said beside a comparison just measured (the planner's "the same file scores
    75.60% on onnxruntime"): the saturation caveat without its example figures and its advice to
    compare, which read as a second, different measurement of the same file; others unchanged."""
    return f"{SATURATION_CAUSE}; to run it on OpenVINO, {SATURATION_FIX}" if caveat == SATURATES else caveat


@functools.lru_cache(maxsize=1)
def saturating_cpu() -> bool:
    """:func:`sums_saturate` for this machine (its ISA read from the CPU alone: no full hardware
    profile, which would import OpenVINO)."""
    if platform.machine().lower() not in _X86:
        return False
    try:
        from edgekit.hardware.cpu import probe_cpu

        isa = probe_cpu().isa
    except OSError:
        return False
    return sums_saturate(platform.machine(), lambda flag: bool(isa.get(flag)))
