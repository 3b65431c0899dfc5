"""Every backend gets every artifact it can run, not only the ones made for it.

Why: OpenVINO loads ONNX, so the INT8 QDQ model made by onnxruntime's
quantizer is a second OpenVINO INT8 candidate beside NNCF's IR -- sometimes
the faster one. Planning only "each backend's own" files left it unmeasured,
and the regret was counted among the candidates that happened to be built.

A :class:`ForeignSpec` names the backend that *runs* the file and the backend
whose builder *makes* it (``maker``); :func:`edgekit.planner.build.build`
reuses the maker's file, so nothing is quantized twice. Capabilities come
from the registry (formats a backend loads, methods it runs, its quantizer).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.backends.registry import capabilities
from edgekit.planner.build import Spec
from edgekit.types import Method

SHARED_METHODS = (Method.INT8,)


@dataclass(frozen=True)
class ForeignSpec(Spec):
    """A candidate running a file another backend's builder makes (``maker``)."""

    maker: str = ""

    @property
    def key(self) -> str:
        return f"{self.backend}/{self.device}/{self.method}@{self.maker}"


def foreign_specs(specs: list[Spec]) -> list[ForeignSpec]:
    """For each built artifact, every *other* planned backend that loads its format, runs its method and
    would not make the same file itself (another quantizer), on the devices that backend is planned on."""
    out: list[ForeignSpec] = []
    planned = {(s.backend, s.device) for s in specs if s.method == Method.FP32}
    for s in specs:
        if s.method not in SHARED_METHODS:
            continue
        made = capabilities(s.backend)
        for backend, device in sorted(planned):
            caps = capabilities(backend)
            if backend == s.backend or caps.needs_module or made.artifact_format not in caps.formats:
                continue
            if caps.runs_method(s.method) and caps.int8_quantizer != made.int8_quantizer:
                spec = ForeignSpec(backend, device, s.precision, s.method, maker=s.backend)
                if spec.key not in {o.key for o in out}:
                    out.append(spec)
    return out
