"""OpenVINO backend: CPU, GPU, NPU and AUTO devices as ``openvino.Core`` reports them.

Why an explicit inference precision: on CPUs with AMX or avx512_bf16 OpenVINO
silently executes fp32 models in bf16; edgekit always sets
``INFERENCE_PRECISION_HINT`` so the precision asked for is the one measured,
and refuses a precision the device does not list in its
``OPTIMIZATION_CAPABILITIES``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.backends._common import (
    QUANTIZED,
    SATURATES,
    InputChecker,
    build_options,
    check_files,
    package_available,
    parse_precision,
    require,
    saturating_cpu,
)
from edgekit.backends.base import Backend, Session, SessionInfo
from edgekit.backends.capabilities import BackendCapabilities
from edgekit.backends.scratch import scratch_folder
from edgekit.errors import BackendUnavailable, ModelLoadError, map_exceptions
from edgekit.types import DeviceKind, Format, Method, Precision

# execution precision -> (OpenVINO element type name, OPTIMIZATION_CAPABILITIES entry)
_PRECISIONS = {
    Precision.FP32: ("f32", "FP32"),
    Precision.FP16: ("f16", "FP16"),
    Precision.BF16: ("bf16", "BF16"),
}
_HINTS = {"latency": "LATENCY", "throughput": "THROUGHPUT", "cumulative_throughput": "CUMULATIVE_THROUGHPUT"}
KNOWN_DEVICES = ("CPU", "GPU", "NPU", "AUTO")


@dataclass(frozen=True)
class OpenVINOOptions:
    """Settings of an OpenVINO compiled model.

    Attributes:
        hint: "latency", "throughput" or "cumulative_throughput" (PERFORMANCE_HINT).
        streams: NUM_STREAMS; ``None`` = what the hint picks.
        threads: INFERENCE_NUM_THREADS; ``None`` = what the hint picks.
        requests: infer requests in ``run_many``; ``None`` = OPTIMAL_NUMBER_OF_INFER_REQUESTS.
        cache_dir: CACHE_DIR for compiled blobs (faster second compile); ``None`` = off, except
            inside :func:`edgekit.backends.scratch.compile_scratch` (a temporary folder).
    """

    hint: str = "latency"
    streams: int | None = None
    threads: int | None = None
    requests: int | None = None
    cache_dir: Path | None = None


class OpenVINOSession(Session):
    """An OpenVINO compiled model with one sync infer request (and a lazy async queue).

    ``run`` reuses one infer request, so one session serves one thread at a
    time; use ``run_many`` (an ``AsyncInferQueue``) for parallel requests.
    """

    def __init__(self, model: Any, compiled: Any, info: SessionInfo, ports: list[int], requests: int) -> None:
        self.model, self.info, self._compiled = model, info, compiled
        self._specs, self._ports, self._check = model.inputs, ports, InputChecker(model.inputs)
        self._names = [_port_name(o, i, model) for i, o in enumerate(compiled.outputs)]
        self._request = compiled.create_infer_request()
        self._queue = self._stream = None
        self._bound: dict[int, list[np.ndarray]] = {}  # submit_many's request -> the arrays its tensors wrap
        self.optimal_requests = requests

    def _feed(self, inputs: Any) -> dict[int, np.ndarray]:
        checked = self._check(inputs)
        return {port: checked[spec.name] for port, spec in zip(self._ports, self._specs)}

    def run(self, inputs: Any) -> dict[str, np.ndarray]:
        result = self._request.infer(self._feed(inputs), share_inputs=True)
        return dict(zip(self._names, result.to_tuple()))

    def run_many(self, batches: list[Any]) -> list[dict[str, np.ndarray]]:
        """Run batches through an ``AsyncInferQueue`` of ``optimal_requests`` requests."""
        from openvino import AsyncInferQueue

        if self._queue is None:
            self._queue = AsyncInferQueue(self._compiled, self.optimal_requests)
            self._queue.set_callback(self._collect)
        results: list[Any] = [None] * len(batches)
        for i, batch in enumerate(batches):
            self._queue.start_async(self._feed(batch), (results, i), share_inputs=True)
        self._queue.wait_all()
        return results

    def submit_many(self, batches: list[Any]) -> None:
        """Queue batches without waiting for their results: the throughput mode's call.

        Why: ``run_many`` waits for all its requests, so the queue drains at the end of
        every call and requests sit idle (0.6x of ``benchmark_app -hint throughput``).
        Here ``start_async`` only waits while every request is busy, so the
        ``optimal_requests`` requests stay busy across calls; :meth:`drain` waits for the rest.
        A request given the same arrays it already wraps is started without binding them
        again (as ``benchmark_app`` does), a few per cent of throughput on a small model.
        """
        if self._stream is None:
            from openvino import AsyncInferQueue

            self._stream = AsyncInferQueue(self._compiled, self.optimal_requests)  # no callback: nothing copied
        for batch in batches:
            feed = self._feed(batch)
            handle = self._stream.get_idle_request_id()  # the request start_async takes next
            arrays = list(feed.values())
            bound = self._bound.get(handle)
            if bound is not None and len(bound) == len(arrays) and all(a is b for a, b in zip(arrays, bound)):
                self._stream.start_async()  # its tensors already wrap these arrays
            else:
                self._stream.start_async(feed, share_inputs=True)
                self._bound[handle] = arrays  # kept alive: the request's tensors share their memory

    def drain(self) -> None:
        """Wait for every request queued by :meth:`submit_many`."""
        if self._stream is not None:
            self._stream.wait_all()

    def _collect(self, request: Any, userdata: tuple[list, int]) -> None:
        results, index = userdata
        results[index] = {n: request.get_output_tensor(i).data.copy() for i, n in enumerate(self._names)}

    def close(self) -> None:
        self.drain()
        self._queue = self._stream = self._request = self._compiled = None
        self._bound.clear()


class OpenVINOBackend(Backend):
    """OpenVINO: reads ONNX and IR (.xml); devices and precisions as the runtime reports."""

    name = "openvino"
    extra = "openvino"
    capabilities = BackendCapabilities(
        label="OpenVINO",
        formats=(Format.OPENVINO, Format.ONNX),
        devices=(DeviceKind.CPU, DeviceKind.GPU, DeviceKind.NPU, DeviceKind.AUTO),
        # int8-dynamic: it runs an onnxruntime dynamic-INT8 ONNX (ConvInteger) as stored, and fuses it:
        # yolov8n_int8_op11 at 85-137 ms vs onnxruntime's 211-425 ms here; it cannot make one (no method)
        precisions=(Precision.FP32, Precision.FP16, Precision.BF16, Precision.INT8, Precision.INT8_DYNAMIC),
        methods=(Method.FP32, Method.FP16, Method.BF16, Method.INT8, Method.INT8_AC),
        options=OpenVINOOptions,
        artifact_format=Format.OPENVINO,
        int8_quantizer="nncf",
        cpu_fp16_runs_as=Precision.FP32,
        sets_precision=True,
        packages=("openvino>=2024.0",),
        triton="openvino",
        kserve_platform="openvino",
        throughput_options={"hint": "throughput"},
        graph_runtime=True,
        stand_ins=("tflite",),
        profile_parts=("openvino",),
    )

    def available(self, profile: Any = None) -> tuple[bool, str]:
        return package_available(self.name, "openvino", self.extra)

    def support(self, profile: Any = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The device kinds the profile's OpenVINO probe found (CPU when it found none) at
        FP32/FP16/INT8, and dynamic-INT8 models as stored; BF16 too on a CPU with BF16 arithmetic.

        Why BF16 there: OpenVINO's own default on such a CPU is BF16, and it is what makes OpenVINO
        fast there: on a 2-core Xeon with AMX, YOLOX-Nano ran in 6.35 ms at BF16 against 9.24 ms at
        FP32 (1.46x), MobileNetV2-0.5 in 1.22 against 1.61 ms (1.33x), while edgekit asked for FP32
        and the planner never measured BF16. It changes the numbers (a 7-bit mantissa), so it is a
        candidate of its own whose accuracy the planner measures, never a silent default."""
        names = getattr(profile, "openvino_device_names", None) or ()
        devices = tuple(sorted({d.split(".")[0].lower() for d in names} or {"cpu"}))
        bf16 = ("bf16",) if native_bf16(profile) else ()
        return devices, ("fp32", "fp16", *bf16, "int8", "int8-dynamic")

    def devices(self, profile: Any = None) -> list[str]:
        if not self.available(profile)[0]:
            return []
        found = _core().available_devices
        return [*found, "AUTO"] if found else []

    def device_status(self, profile: Any = None) -> list[tuple[str, bool, str]]:
        """CPU, GPU, NPU, AUTO and any other device found, with availability and reason."""
        names = list(KNOWN_DEVICES)
        names += [d for d in self.devices(profile) if d not in names]
        return [(d, *self._device_ok(d)) for d in names]

    def _device_ok(self, device: str) -> tuple[bool, str]:
        ok, reason = self.available()
        if not ok:
            return ok, reason
        found = _core().available_devices
        name = device.upper()
        if name == "AUTO" and found or any(d == name or d.startswith(name + ".") for d in found):
            return True, ""
        return (
            False,
            (f"OpenVINO finds no {name} device here (it finds {', '.join(found) or 'none'}); "
            "install the device's driver or pick one of those"),
        )

    def compile(
        self, model: Any, device: str = "cpu", precision: str = "fp32", options: Any = None
    ) -> Session:
        """Compile for an OpenVINO device with an explicit inference precision.

        Raises:
            BackendUnavailable: openvino missing, device absent, precision unsupported.
            ModelLoadError: the model file is gone or unreadable.
        """
        require(self.available())
        opts = build_options(OpenVINOOptions, options, self.name)
        require(self._device_ok(device))
        if Format.parse(model.format) not in (Format.ONNX, Format.OPENVINO):
            raise BackendUnavailable(
                f"openvino reads ONNX or IR files, not {model.format}; "
                "convert with edgekit.models.convert(model, to='onnx')"
            )
        device = device.upper()
        prec, hint, notes = _precision(model, parse_precision(precision), device)
        caveats = _saturation(prec, device, model)
        notes += caveats
        path = check_files(model)
        start = time.perf_counter()
        with map_exceptions(
            {Exception: ModelLoadError}, f"OpenVINO cannot compile {path} for {device}: {{error}}", path=path
        ):
            compiled = _core().compile_model(str(path), device, _config(opts, hint))
        load_ms = (time.perf_counter() - start) * 1e3
        info, requests = _info(compiled, device, prec, notes, load_ms, self.name)
        info = replace(info, caveats=caveats)
        return OpenVINOSession(
            model, compiled, info, _input_ports(compiled, model), opts.requests or requests
        )


_CORE = None


def _core() -> Any:
    """One ``openvino.Core`` per process (creating one scans for devices)."""
    global _CORE
    if _CORE is None:
        import openvino

        _CORE = openvino.Core()
    return _CORE


def _precision(model: Any, requested: Precision, device: str) -> tuple[Precision, str, tuple[str, ...]]:
    """Execution precision, the INFERENCE_PRECISION_HINT to set, and notes."""
    stored = Precision.parse(model.precision)
    notes: tuple[str, ...] = ()
    if requested in QUANTIZED:
        if stored not in QUANTIZED:
            raise BackendUnavailable(
                f"model is stored in {stored}; quantize it with edgekit.compress first to run {requested}"
            )
        requested_exec, shown = Precision.FP32, stored
    elif stored in QUANTIZED:
        requested_exec, shown = requested, stored
        notes = (f"model is quantized ({stored}); the non-quantized parts run in {requested}",)
    else:
        requested_exec, shown = requested, requested
    if requested_exec not in _PRECISIONS:
        raise BackendUnavailable(f"openvino cannot execute precision {requested}; choose fp32, fp16 or bf16")
    element, capability = _PRECISIONS[requested_exec]
    if device != "AUTO":
        caps = _capabilities(device)
        needed = "INT8" if shown in QUANTIZED else capability
        if caps and needed not in caps:
            raise BackendUnavailable(
                f"OpenVINO {device} does not support {shown if shown in QUANTIZED else requested_exec} here "
                f"(its OPTIMIZATION_CAPABILITIES are {', '.join(caps)}); use precision "
                + (
                    "fp32"
                    if "FP32" in caps
                    else " or ".join(c.lower() for c in caps if c.startswith(("FP", "BF")))
                )
            )
    return shown, element, notes


def _saturation(precision: Precision, device: str, model: Any = None) -> tuple[str, ...]:
    """A session caveat when INT8 runs on a CPU whose integer products can saturate (``edgekit bench``
    prints it under the table, beside the speed that would tempt a user to pick OpenVINO; ``eval``
    under its accuracy; the planner beside an accuracy rejection; the demo when it starts).

    Why: onnxruntime avoids it on such CPUs (``x64_quant_precision``), OpenVINO has no such
    setting, so the same INT8 file can score several top-1 points lower on OpenVINO there.
    None for a file whose weights edgekit wrote in 7 bits (onnxruntime's ``reduce_range``,
    NNCF's overflow fix on every layer: what it makes for such a CPU), where a pair of products
    cannot saturate a 16-bit sum."""
    if precision != Precision.INT8 or device not in ("CPU", "AUTO") or not saturating_cpu():  # measured: static
        return ()
    made = (getattr(model, "metadata", None) or {}).get("compression") or {}
    if made.get("reduce_range") is True or made.get("overflow_fix") == "enable":
        return ()
    return (SATURATES,)


def _capabilities(device: str) -> list[str]:
    try:
        return list(_core().get_property(device, "OPTIMIZATION_CAPABILITIES"))
    except Exception:  # noqa: BLE001 - a device that cannot tell is not refused here
        return []


def _config(opts: OpenVINOOptions, element: str) -> dict[str, Any]:
    if opts.hint.lower() not in _HINTS:
        raise BackendUnavailable(f"openvino hint must be one of {sorted(_HINTS)}, not {opts.hint!r}")
    config: dict[str, Any] = {
        "PERFORMANCE_HINT": _HINTS[opts.hint.lower()],
        "INFERENCE_PRECISION_HINT": element,
    }
    if opts.streams:
        config["NUM_STREAMS"] = str(opts.streams)
    if opts.threads:
        config["INFERENCE_NUM_THREADS"] = opts.threads
    cache_dir = opts.cache_dir if opts.cache_dir is not None else scratch_folder()  # a plan's second compile
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        config["CACHE_DIR"] = str(cache_dir)
    return config


def _prop(compiled: Any, name: str) -> Any:
    try:
        return compiled.get_property(name)
    except Exception:  # noqa: BLE001 - AUTO/GPU plugins do not report every property
        return None


def _info(
    compiled: Any, device: str, prec: Precision, notes: tuple[str, ...], load_ms: float, backend: str = "openvino"
) -> tuple[SessionInfo, int]:
    devices = tuple(str(d) for d in (_prop(compiled, "EXECUTION_DEVICES") or [device]))
    streams, threads = _prop(compiled, "NUM_STREAMS"), _prop(compiled, "INFERENCE_NUM_THREADS")
    requests = int(_prop(compiled, "OPTIMAL_NUMBER_OF_INFER_REQUESTS") or 1)
    ops = len(compiled.get_runtime_model().get_ops()) if len(devices) == 1 else 0
    if device == "AUTO":
        notes = (*notes, f"AUTO chose {', '.join(devices)}")
    info = SessionInfo(
        backend=backend,
        device=device,
        precision=str(prec),
        threads=None if threads is None else int(threads),
        streams=None if streams is None else int(streams),
        providers=devices,
        node_placement={devices[0]: ops} if ops else {},
        notes=notes,
        load_ms=load_ms,
    )
    return info, requests


def _input_ports(compiled: Any, model: Any) -> list[int]:
    """Port index of each model input spec, matched by name (graph order otherwise)."""
    ports = []
    for i, spec in enumerate(model.inputs):
        match = [j for j, port in enumerate(compiled.inputs) if spec.name in port.get_names()]
        ports.append(match[0] if match else i)
    return ports


def _port_name(port: Any, index: int, model: Any) -> str:
    """Output name as the model's spec calls it, so every backend returns the same keys."""
    if index < len(model.outputs) and model.outputs[index].name in port.get_names():
        return model.outputs[index].name
    names = port.get_names()
    return port.get_any_name() if names else f"output{index}"


def native_bf16(profile: Any) -> bool:
    """True for an x86 CPU with BF16 arithmetic (AMX-BF16 or AVX512-BF16) in ``profile``: where
    OpenVINO's CPU plugin runs BF16 natively instead of emulating it."""
    has = getattr(profile, "has", None)
    return has is not None and (has("amx_bf16") or has("avx512_bf16"))
