"""The contract every backend fulfils, and the input checks they share.

A backend turns a :class:`~edgekit.models.Model` into a :class:`Session` for
one device and precision. Adding a backend = one module with a subclass of
:class:`Backend` + one line in :mod:`edgekit.backends.registry`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from edgekit.errors import InputMismatch

if TYPE_CHECKING:
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

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        data = asdict(self)
        data["providers"] = list(self.providers)
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SessionInfo:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["providers"] = tuple(data.get("providers", ()))
        data["notes"] = tuple(data.get("notes", ()))
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

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Backend(abc.ABC):
    """One inference runtime.

    Attributes:
        name: registry name.
        extra: the pip extra that installs it (``pip install "edgekit[openvino]"``).
    """

    name: str = ""
    extra: str = ""

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


def _check_one(spec: TensorSpec, value: Any) -> np.ndarray:
    array = np.asarray(value)
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
