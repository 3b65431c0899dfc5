"""Small enums shared by every part: formats, precisions, device kinds, methods, tasks.

They are ``StrEnum``-like (``str`` subclasses) so they compare equal to the plain
strings a user types on the command line or writes in YAML.
"""

from __future__ import annotations

import enum


class _StrEnum(str, enum.Enum):
    """``enum.StrEnum`` for Python 3.10 too."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: str | _StrEnum, what: str = "value"):
        """Return the member for ``value`` (case-insensitive) or raise ``ValueError``."""
        if isinstance(value, cls):
            return value
        text = str(value).strip().lower()
        for member in cls:
            if member.value == text:
                return member
        choices = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown {what} {value!r}; choose one of: {choices}")


class Format(_StrEnum):
    """On-disk model formats edgekit reads or writes."""

    ONNX = "onnx"
    OPENVINO = "openvino"  # IR: .xml + .bin
    TORCH = "torch"  # an nn.Module, TorchScript file or state-dict checkpoint


class Precision(_StrEnum):
    """Numeric precision a model is stored or executed in."""

    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    INT8 = "int8"  # static post-training quantization (QDQ / NNCF)
    INT8_DYNAMIC = "int8-dynamic"


class DeviceKind(_StrEnum):
    """Kinds of compute device a backend can run on (what a target YAML lists)."""

    CPU = "cpu"
    GPU = "gpu"
    NPU = "npu"
    CUDA = "cuda"  # an NVIDIA GPU through CUDA (torch, onnxruntime's CUDA provider)
    AUTO = "auto"  # the runtime picks (OpenVINO AUTO)


class Method(_StrEnum):
    """How a model file is made for a deployment: the compression methods and the planner's baselines.

    ``PRUNE`` is what a user asks for (``--methods prune``); the candidate it
    makes is called ``PRUNED`` in reports, as saved reports always did.
    """

    FP32 = "fp32"  # the source model as it is
    EAGER = "eager"  # the PyTorch module itself
    FP16 = "fp16"
    BF16 = "bf16"  # the FP32 file executed in bfloat16 (OpenVINO on a CPU with AMX or AVX512-BF16)
    INT8 = "int8"  # static post-training quantization (ORT QDQ or NNCF)
    INT8_QOP = "int8-qop"  # onnxruntime static INT8 as QLinear* operators
    INT8_DYNAMIC = "int8-dynamic"
    INT8_AC = "int8-ac"  # INT8 with its most sensitive layers kept in float
    PRUNE = "prune"
    PRUNED = "pruned"


class CandidateStatus(_StrEnum):
    """Where a planner candidate ended: a plain string in JSON, equal to its value in comparisons."""

    CHOSEN = "chosen"
    VALID = "valid"  # meets every rule and budget, not chosen
    REJECTED = "rejected"  # measured, but breaks a rule or budget (its ``reasons`` say which)
    FAILED = "failed"  # could not be built, run or measured


class Task(_StrEnum):
    """What a model's outputs mean: predictions, metrics, overlays and bundles dispatch on it."""

    CLASSIFICATION = "classification"
    DETECTION = "detection"


# what --resize (and a saved config's card_flags.resize) accepts, and the Preprocess.resize each means
RESIZE_NAMES = {"stretch": "stretch", "shorter-crop": "center_crop", "center-crop": "center_crop",
                "center_crop": "center_crop", "crop": "center_crop", "letterbox": "letterbox"}
