"""The contract every backend fulfils, and the input checks they share.

A backend turns a :class:`~edgekit.models.Model` into a :class:`Session` for
one device and precision. Adding a backend = one module with a subclass of
:class:`Backend` (declaring its capabilities) + one line in
:mod:`edgekit.backends.registry` (or a :func:`~edgekit.backends.registry.register_backend` call).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from edgekit.errors import InputMismatch

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

    from edgekit.backends.capabilities import BackendCapabilities
    from edgekit.hardware import HardwareProfile
    from edgekit.models import Model
    from edgekit.models.spec import TensorSpec

Inputs = np.ndarray | Mapping[str, np.ndarray]


@dataclass(frozen=True)
class SessionInfo:
    """What a compiled session really runs on.

    Attributes:
        backend: registry name ("onnxruntime", "openvino", "torch").
        device: device actually used ("cpu", "CPU", "GPU.0", "cuda:0", ...).
        precision: execution precision actually in force.
        threads: inference threads actually used, when known.
        streams: parallel streams / infer requests, when known.
        providers: execution providers or plugins that really run nodes.
        node_placement: provider/plugin -> number of nodes it runs.
        notes: fallbacks and caveats, in plain words ("12 nodes fell back to CPU").
        load_ms: time to load + compile the model.
        workers: ``predict`` calls the session was compiled to serve at once, each on its own
            thread (a live pipeline runs that many inference workers); more than 1 when each
            call runs on one thread and the cores are filled by calls side by side.
        caveats: the notes that bear on the results themselves, not only on speed (each is also
            in ``notes``). Why apart: a note on threads or caches is for a benchmark table, a
            caveat on accuracy (OpenVINO INT8 on a CPU whose integer sums saturate) must also
            reach the user where a result is judged or a runtime chosen without a table: the
            planner's accuracy rejection, the demo's start-up notices.
    """

    backend: str
    device: str
    precision: str
    threads: int | None = None
    streams: int | None = None
    providers: tuple[str, ...] = ()
    node_placement: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    load_ms: float = 0.0
    workers: int = 1
    caveats: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        data = asdict(self)
        data["providers"] = list(self.providers)
        data["notes"], data["caveats"] = list(self.notes), list(self.caveats)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SessionInfo:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["providers"] = tuple(data.get("providers", ()))
        data["notes"], data["caveats"] = tuple(data.get("notes", ())), tuple(data.get("caveats", ()))
        return cls(**data)


class Session(abc.ABC):
    """A model compiled for one backend, device and precision; ready to run.

    ``run`` takes an array (single-input models) or ``{name: array}`` and
    returns ``{output_name: array}``; ``predict`` returns the first output.
    """

    model: Model
    info: SessionInfo

    @abc.abstractmethod
    def run(self, inputs: Inputs) -> dict[str, np.ndarray]:
        """Run one batch synchronously.

        Raises:
            InputMismatch: wrong names, shapes or dtypes (checked before the runtime).
        """

    def predict(self, inputs: Inputs) -> np.ndarray:
        """Run and return the first output only."""
        return next(iter(self.run(inputs).values()))

    def run_many(self, batches: list[Inputs]) -> list[dict[str, np.ndarray]]:
        """Run several independent batches; backends override this with an
        async/multi-stream path for throughput."""
        return [self.run(b) for b in batches]

    def close(self) -> None:
        """Release the runtime's resources (idempotent)."""

    def __repr__(self) -> str:
        """``<OrtSession digits on onnxruntime cpu fp32, 2 threads>``: what runs where (a REPL showed the
        object's address)."""
        info, model = getattr(self, "info", None), getattr(self, "model", None)
        where = "" if info is None else f" on {info.backend} {info.device} {info.precision}"
        threads = f", {info.threads} threads" if info is not None and info.threads else ""
        return f"<{type(self).__name__} {getattr(model, 'name', '?')}{where}{threads}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Backend(abc.ABC):
    """One inference runtime.

    Attributes:
        name: registry name (set by the registry to the name it was registered under).
        extra: the pip extra that installs it (``pip install "edgekit[openvino]"``).
        capabilities: what it loads, runs and needs (see :class:`BackendCapabilities`);
            everything outside ``backends/`` decides from this, never from ``name``.
    """

    name: str = ""
    extra: str = ""
    capabilities: ClassVar[BackendCapabilities]

    def support(self, profile: HardwareProfile | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(device kinds, precisions)`` it offers on the machine ``profile`` describes, read from
        the profile alone (no runtime import): the ``local`` target's entry for it.

        The default is the CPU at every declared precision; backends with accelerators override it.
        """
        return ("cpu",), tuple(str(p) for p in self.capabilities.precisions)

    @abc.abstractmethod
    def available(self, profile: HardwareProfile | None = None) -> tuple[bool, str]:
        """Return ``(True, "")`` or ``(False, reason with the fix)``; never raises."""

    @abc.abstractmethod
    def devices(self, profile: HardwareProfile | None = None) -> list[str]:
        """Device names this backend can compile for here (empty when unavailable)."""

    @abc.abstractmethod
    def compile(
        self,
        model: Model,
        device: str = "cpu",
        precision: str = "fp32",
        options: Any = None,
    ) -> Session:
        """Compile ``model`` for ``device`` at ``precision``.

        Raises:
            BackendUnavailable: runtime missing (names the pip extra), device
                absent, or precision unsupported here.
            ModelLoadError: the model's files are gone or unreadable.
        """


def validate_inputs(specs: tuple[TensorSpec, ...], inputs: Inputs) -> dict[str, np.ndarray]:
    """Check inputs against the model's specs before a runtime sees them.

    Accepts an array for single-input models. Fixed dims must match exactly;
    dynamic dims accept any size. Float64 arrays are not silently cast.

    Returns:
        ``{name: contiguous array}`` in spec order.

    Raises:
        InputMismatch: naming the input and the expected vs given shape/dtype.
    """
    if not isinstance(inputs, (np.ndarray, dict)):  # a list was "'list' object has no attribute 'keys'"-style noise
        raise InputMismatch(f"session inputs must be a numpy array (single-input model) or a dict "
                            f"{{name: array}}, not {type(inputs).__name__}; wrap a list with np.asarray(...)")
    if isinstance(inputs, np.ndarray):
        if len(specs) != 1:
            names = ", ".join(s.name for s in specs)
            raise InputMismatch(f"model has {len(specs)} inputs ({names}); pass a dict {{name: array}}")
        inputs = {specs[0].name: inputs}
    expected = {s.name for s in specs}
    missing = [s.name for s in specs if s.name not in inputs]
    unknown = sorted(set(inputs) - expected)
    if missing or unknown:
        raise InputMismatch(
            f"inputs do not match the model: missing {missing or 'none'}, unknown {unknown or 'none'}; "
            f"expected names: {sorted(expected)}"
        )
    return {s.name: _check_one(s, inputs[s.name]) for s in specs}


# Declared input dtypes a float32 image tensor is cast to: third-party models take
# half-precision or 8-bit images as they come, and every path (eval, plan, deploy, demo,
# compress) feeds the float32 that preprocessing makes. Float64 is still refused: it
# means the caller built the tensor by hand and should choose the dtype.
_CAST_FROM_FLOAT32 = frozenset({"float16", "uint8", "int8"})


def cast_to_spec(array: np.ndarray, dtype: str) -> np.ndarray:
    """``array`` (float32) in the model's declared ``dtype``: half precision as is,
    8-bit types rounded and clipped to their range (a uint8 input takes 0..255 pixels)."""
    target = np.dtype(dtype)
    if target.kind in "iu":
        info = np.iinfo(target)
        return np.clip(np.rint(array), info.min, info.max).astype(target)
    return array.astype(target)


def cast_feed(specs: tuple[TensorSpec, ...], feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``feed`` with each float32 array cast to its input's declared dtype (see :func:`cast_to_spec`),
    for runtimes edgekit does not wrap (onnxruntime's quantizer reads calibration feeds itself)."""
    dtypes = {s.name: str(s.dtype) for s in specs}
    return {k: cast_to_spec(v, dtypes[k]) if getattr(v, "dtype", None) == np.float32
            and dtypes.get(k) in _CAST_FROM_FLOAT32 else v for k, v in feed.items()}


def _check_one(spec: TensorSpec, value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == np.float32 and str(spec.dtype) in _CAST_FROM_FLOAT32:
        array = cast_to_spec(array, str(spec.dtype))
    if array.dtype != np.dtype(spec.dtype):
        raise InputMismatch(
            f"input {spec.name!r}: expected dtype {spec.dtype}, got {array.dtype}; "
            f"convert with array.astype(np.{spec.dtype})"
        )
    if array.ndim != len(spec.shape) or any(
        isinstance(d, int) and d > 0 and d != g for d, g in zip(spec.shape, array.shape)
    ):
        raise InputMismatch(
            f"input {spec.name!r}: expected shape {list(spec.shape)}, got {list(array.shape)}"
        )
    return np.ascontiguousarray(array)
