"""What a model's inputs and outputs look like: names, shapes, dtypes, layouts."""

from __future__ import annotations

from dataclasses import asdict, dataclass

Dim = int | str | None  # an int, a symbolic name ("batch"), or unknown


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output.

    Attributes:
        name: tensor name in the graph.
        shape: dims; ``int`` when fixed, ``str`` (symbol) or ``None`` when dynamic.
        dtype: numpy dtype name, e.g. ``"float32"``.
        layout: ``"NCHW"``, ``"NHWC"``, ``"NC"`` or ``""`` when unknown.
    """

    name: str
    shape: tuple[Dim, ...]
    dtype: str = "float32"
    layout: str = ""

    @property
    def is_dynamic(self) -> bool:
        """True when any dim is not a fixed positive int."""
        return any(not isinstance(d, int) or d <= 0 for d in self.shape)

    def concrete_shape(self, batch: int = 1) -> tuple[int, ...]:
        """The shape with dynamic dims filled: batch dim -> ``batch``, others -> 1."""
        dims = []
        for i, d in enumerate(self.shape):
            dims.append(d if isinstance(d, int) and d > 0 else (batch if i == 0 else 1))
        return tuple(dims)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        data = asdict(self)
        data["shape"] = list(self.shape)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TensorSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=data["name"],
            shape=tuple(data["shape"]),
            dtype=data.get("dtype", "float32"),
            layout=data.get("layout", ""),
        )


def guess_layout(shape: tuple[Dim, ...]) -> str:
    """Guess an image layout from a 4-D shape: channels of 1/3/4 decide."""
    if len(shape) == 2:
        return "NC"
    if len(shape) != 4:
        return ""
    if shape[1] in (1, 3, 4):
        return "NCHW"
    if shape[3] in (1, 3, 4):
        return "NHWC"
    return ""
