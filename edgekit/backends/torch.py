"""PyTorch backend: eager CPU (the reference every other backend is compared with)
and the CUDA path (fp32, fp16/bf16 autocast, channels_last, CUDA graphs, torch.compile).

It runs ``model.module`` or a TorchScript file; an ONNX-only model has no
PyTorch module, and this backend says so instead of pretending.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.backends._common import (
    InputChecker,
    build_options,
    package_available,
    parse_precision,
    require,
)
from edgekit.backends.base import Backend, Session, SessionInfo
from edgekit.backends.capabilities import BackendCapabilities
from edgekit.errors import BackendUnavailable, ModelLoadError, map_exceptions
from edgekit.types import DeviceKind, Format, Method, Precision

_CUDA_PRECISIONS = (Precision.FP32, Precision.FP16, Precision.BF16)


@dataclass(frozen=True)
class TorchOptions:
    """Settings of the PyTorch backend.

    Attributes:
        threads: ``torch.set_num_threads`` (process-wide!); ``None`` = leave as is.
        channels_last: convert the module and 4-D inputs to channels_last (CUDA).
        cuda_graphs: capture one CUDA graph for a fixed input shape and replay it.
        compile: wrap the module in ``torch.compile``.
        compile_mode: ``torch.compile`` mode ("default", "reduce-overhead", "max-autotune").
        allow_tf32: let fp32 matmuls/convs use TF32 on Ampere+ (process-wide flags);
            off by default so that "fp32" on CUDA really means fp32.
    """

    threads: int | None = None
    channels_last: bool = True
    cuda_graphs: bool = False
    compile: bool = False
    compile_mode: str | None = None
    allow_tf32: bool = False


class TorchSession(Session):
    """Runs a module under ``torch.inference_mode`` (and autocast on CUDA)."""

    def __init__(
        self, model: Any, module: Any, info: SessionInfo, device: str, opts: TorchOptions, autocast: Any
    ) -> None:
        import torch

        self.model, self.info, self._module, self._opts = model, info, module, opts
        self._device, self._autocast, self._torch = torch.device(device), autocast, torch
        self._specs, self._check = model.inputs, InputChecker(model.inputs)
        self._names = [o.name for o in model.outputs] or ["output"]
        self._graph = None

    def run(self, inputs: Any) -> dict[str, np.ndarray]:
        torch = self._torch
        feed = self._check(inputs)
        with torch.inference_mode():
            tensors = [self._to_device(torch.from_numpy(a)) for a in feed.values()]
            if self._opts.cuda_graphs and self._device.type == "cuda":
                out = self._replay(tensors)
            else:
                with self._autocast():
                    out = self._module(*tensors)
        return self._outputs(out)

    def _to_device(self, tensor: Any) -> Any:
        if self._device.type == "cpu":
            return tensor
        tensor = tensor.to(self._device, non_blocking=True)
        if self._opts.channels_last and tensor.dim() == 4:
            tensor = tensor.contiguous(memory_format=self._torch.channels_last)
        return tensor

    def _replay(self, tensors: list[Any]) -> Any:
        """Capture a CUDA graph on first use (after a warm-up on a side stream), then replay."""
        torch = self._torch
        if self._graph is None or any(s.shape != t.shape for s, t in zip(self._static_in, tensors)):
            self._static_in = [t.clone() for t in tensors]
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream), self._autocast():
                for _ in range(3):
                    self._module(*self._static_in)
            torch.cuda.current_stream().wait_stream(stream)
            self._graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self._graph), self._autocast():
                self._static_out = self._module(*self._static_in)
        for static, tensor in zip(self._static_in, tensors):
            static.copy_(tensor)
        self._graph.replay()
        return self._static_out

    def _outputs(self, out: Any) -> dict[str, np.ndarray]:
        if isinstance(out, dict):
            out = list(out.values())
        if not isinstance(out, (list, tuple)):
            out = [out]
        arrays = [
            o.detach().float().cpu().numpy()
            if o.dtype in (self._torch.float16, self._torch.bfloat16)
            else o.detach().cpu().numpy()
            for o in out
        ]
        names = self._names if len(self._names) == len(arrays) else [f"output{i}" for i in range(len(arrays))]
        return dict(zip(names, arrays))

    def close(self) -> None:
        self._module = self._graph = None


class TorchBackend(Backend):
    """PyTorch eager (CPU) and CUDA."""

    name = "torch"
    extra = "torch"
    capabilities = BackendCapabilities(
        label="PyTorch",
        formats=(Format.TORCH,),
        devices=(DeviceKind.CPU, DeviceKind.CUDA),
        precisions=_CUDA_PRECISIONS,
        methods=(Method.EAGER,),
        options=TorchOptions,
        needs_module=True,
        bundle=False,
        packages=("torch>=2.1",),
        bench_devices=("cuda",),
        profile_parts=("cuda",),
    )

    def available(self, profile: Any = None) -> tuple[bool, str]:
        return package_available(self.name, "torch", self.extra)

    def support(self, profile: Any = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """FP32 on the CPU; CUDA (and FP16 there) when the profile found a CUDA device."""
        if getattr(profile, "cuda_devices", None):
            return ("cpu", "cuda"), ("fp32", "fp16")
        return ("cpu",), ("fp32",)

    def devices(self, profile: Any = None) -> list[str]:
        return [d for d, ok, _ in self.device_status(profile) if ok]

    def device_status(self, profile: Any = None) -> list[tuple[str, bool, str]]:
        """``cpu`` and ``cuda`` with availability and the reason/fix."""
        return [("cpu", *self._device_ok("cpu")), ("cuda", *self._device_ok("cuda"))]

    def _device_ok(self, device: str) -> tuple[bool, str]:
        ok, reason = self.available()
        if not ok:
            return ok, reason
        kind = device.lower().split(":")[0]
        if kind == "cpu":
            return True, ""
        if kind not in ("cuda", "gpu"):
            return False, f"torch backend runs on cpu or cuda, not {device!r}"
        import torch

        if not torch.cuda.is_available():
            build = torch.version.cuda
            why = (
                f"torch {torch.__version__} is a CPU-only build"
                if build is None
                else "no CUDA GPU/driver was found"
            )
            return (
                False,
                (f"CUDA is not available: {why}; "
                "install a CUDA build of torch on a machine with an NVIDIA GPU"),
            )
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            return False, f"no CUDA device {index}: this machine has {torch.cuda.device_count()}"
        return True, ""

    def compile(
        self, model: Any, device: str = "cpu", precision: str = "fp32", options: Any = None
    ) -> Session:
        """Prepare the module for eager CPU or CUDA execution.

        Raises:
            BackendUnavailable: torch missing, no CUDA, no module, precision unsupported.
            ModelLoadError: a TorchScript file is gone or unreadable.
        """
        require(self.available())
        opts = build_options(TorchOptions, options, self.name)
        require(self._device_ok(device))
        import torch

        dev = "cuda" if device.lower() in ("cuda", "gpu") else device.lower()
        prec = parse_precision(precision)
        start = time.perf_counter()
        module, ran = _module(model, dev)
        if dev != "cpu":
            module = copy.deepcopy(module)  # .to(cuda) would move the caller's module
        if opts.threads:
            torch.set_num_threads(opts.threads)
        autocast, notes = _autocast(torch, dev, prec, model)
        notes = ran + notes
        if dev != "cpu":
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = opts.allow_tf32
            notes += ("TF32 allowed for fp32 math (process-wide)",) if opts.allow_tf32 else ()
        module = module.to(dev).eval()
        if dev != "cpu" and opts.channels_last:
            module = module.to(memory_format=torch.channels_last)
        if opts.compile:
            module = torch.compile(module, mode=opts.compile_mode)
        info = SessionInfo(
            backend=self.name,
            device=dev,
            precision=str(prec),
            threads=torch.get_num_threads() if dev == "cpu" else None,
            streams=1,
            providers=(f"torch {torch.__version__} {'eager' if not opts.compile else 'compiled'}",),
            notes=notes,
            load_ms=(time.perf_counter() - start) * 1e3,
        )
        return TorchSession(model, module, info, dev, opts, autocast)


def _module(model: Any, device: str) -> tuple[Any, tuple[str, ...]]:
    """The model's ``nn.Module``, its TorchScript file, or the PyTorch checkpoint beside its ONNX file
    (:func:`edgekit.models.twin.torch_twin`), with a note naming that checkpoint; else unavailable."""
    if model.module is not None:
        return model.module, ()
    path = None if model.path is None else Path(model.path)
    if Format.parse(model.format) == Format.TORCH and path is not None:
        if not path.is_file():
            raise ModelLoadError(
                f"model file {path} no longer exists (deleted or moved after loading); load the model again",
                path=path,
            )
        import torch

        with map_exceptions(
            {Exception: BackendUnavailable},
            f"{path} is not a TorchScript file torch can run ({{error}}); "
            "load it with edgekit.load_model and its architecture",
            path=path,
        ):
            return torch.jit.load(str(path), map_location=device), ()
    from edgekit.models.twin import torch_twin

    try:  # a checkpoint beside the file that does not load is this backend's problem, not the model's
        twin = torch_twin(model)
    except ModelLoadError as error:
        raise BackendUnavailable(str(error), path=error.path) from error
    if twin is not None and twin.module is not None:
        arch = model.metadata.get("card", {}).get("architecture")
        return twin.module, (f"ran {twin.path.name}, the PyTorch checkpoint beside {path.name} ({arch})",)
    raise BackendUnavailable(
        f"no PyTorch module for this model ({model.name}, {model.format}); the torch backend needs the "
        "nn.Module, a TorchScript file, or the checkpoint as X.pt beside X.onnx with the architecture in its card"
    )


def _autocast(torch: Any, device: str, prec: Precision, model: Any) -> tuple[Any, tuple[str, ...]]:
    """The autocast context for the asked precision, or unavailable."""
    import contextlib

    stored = Precision.parse(model.precision)
    if stored != Precision.FP32 and model.module is None:
        raise BackendUnavailable(f"torch backend runs fp32 modules; this model is stored in {stored}")
    if device == "cpu":
        if prec != Precision.FP32:
            raise BackendUnavailable(
                f"torch CPU eager is the fp32 reference; {prec} is offered on cuda or by openvino/onnxruntime"
            )
        return contextlib.nullcontext, ()
    if prec not in _CUDA_PRECISIONS:
        raise BackendUnavailable(f"torch CUDA runs fp32, fp16 or bf16, not {prec}")
    if prec == Precision.FP32:
        return contextlib.nullcontext, ()
    dtype = torch.float16 if prec == Precision.FP16 else torch.bfloat16
    return (lambda: torch.autocast("cuda", dtype=dtype)), (
        f"{prec} via torch.autocast; outputs returned as float32",
    )
