"""onnxruntime backend: the CPU execution provider, plus CUDA / TensorRT / OpenVINO /
DirectML providers when the installed onnxruntime build has them.

Why an optimized-model cache: graph optimisation of a large model takes a
noticeable part of the cold start; the optimized graph is saved once, keyed by
the model's hash, the onnxruntime version, the settings and the CPU, and
loaded with optimisation turned off afterwards.

Why profiling for node placement: the only reliable record of which provider
runs each node is onnxruntime's own profile of one inference; it is taken only
when an accelerator provider is asked for (or ``OrtOptions.profile_placement``),
so a CPU session pays nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekit._disk_cache import touch, trim
from edgekit._io import expand_user, sha256_file
from edgekit.backends._common import (
    InputChecker,
    build_options,
    check_files,
    package_available,
    parse_precision,
    physical_cores,
    require,
    saturating_cpu,
    stored_precision_rule,
)
from edgekit.backends.base import Backend, Session, SessionInfo
from edgekit.backends.capabilities import BackendCapabilities
from edgekit.errors import BackendUnavailable, ModelLoadError, map_exceptions
from edgekit.types import DeviceKind, Format, Method, Precision

# edgekit device name -> onnxruntime execution provider
DEVICE_PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "gpu": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "dml": "DmlExecutionProvider",
}
_PIP_HINT = {
    "CUDAExecutionProvider": "pip install onnxruntime-gpu (with a matching CUDA)",
    "TensorrtExecutionProvider": "pip install onnxruntime-gpu and TensorRT",
    "OpenVINOExecutionProvider": "pip install onnxruntime-openvino",
    "DmlExecutionProvider": "pip install onnxruntime-directml (Windows)",
}
_OPT_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}


@dataclass(frozen=True)
class OrtOptions:
    """Settings of an onnxruntime session.

    Attributes:
        threads: intra-op threads; ``None`` = onnxruntime's default (physical cores).
        inter_op_threads: threads between independent nodes (parallel mode only).
        graph_optimization: "disable", "basic", "extended" or "all".
        cache: save the optimized graph and reuse it on the next compile.
        cache_dir: where the cache lives; ``None`` = the user cache dir (platformdirs).
        profile_placement: profile one inference to count nodes per provider;
            ``None`` = only when an accelerator provider is asked for.
        device_id: GPU index for CUDA / TensorRT / DirectML.
        parallel_requests: concurrent ``run`` calls in ``run_many`` (1 = in turn).
        spin: let idle intra-op threads spin-wait for the next piece of work instead of
            sleeping. Lowest latency in a tight loop (benchmarks); off, every operator's
            parallel section wakes sleeping threads (measured here: 0.65x the FPS of
            MobileNetV2-0.5 and 0.75x of YOLOX-Nano, on 2 cores).
        spin_between_runs: keep spinning after a run returns, until the pool times out.
            ``False`` (onnxruntime's ``session.force_spinning_stop``): spin only while a run is
            in progress, so threads of the process that work between runs (capture, drawing
            in the live pipeline) get the cores then.
        x64_quant_precision: onnxruntime's ``session.x64quantprecision``: U8S8 integer
            products widened so they cannot saturate on x86 CPUs without VNNI (AVX2,
            AVX-512F), at some speed; ``None`` = on for an INT8 model on such a CPU.
            Why: a model quantized on a VNNI machine loses several top-1 points there.
    """

    threads: int | None = None
    inter_op_threads: int | None = None
    graph_optimization: str = "all"
    cache: bool = True
    cache_dir: Path | None = None
    profile_placement: bool | None = None
    device_id: int = 0
    parallel_requests: int = 1
    spin: bool = True
    spin_between_runs: bool = True
    x64_quant_precision: bool | None = None


BATCH_REQUESTS = 8  # images joined per run in throughput mode (dynamic batch dimension)


class OrtSession(Session):
    """A compiled onnxruntime ``InferenceSession``; ``run`` adds one dict build on top."""

    def __init__(self, model: Any, sess: Any, info: SessionInfo, options: OrtOptions) -> None:
        self.model, self.info, self._sess, self._options = model, info, sess, options
        self._specs, self._check = model.inputs, InputChecker(model.inputs)
        self._names = [o.name for o in sess.get_outputs()]
        first = [s.shape[0] if s.shape else 1 for s in model.inputs]
        self._dynamic_batch = bool(first) and not any(isinstance(d, int) and d > 0 for d in first)

    @property
    def optimal_requests(self) -> int:
        """Batches per throughput call: 8 joined into one run where the batch dimension is dynamic
        (one big run keeps both cores busy without thread hand-offs), else ``parallel_requests``."""
        return BATCH_REQUESTS if self._dynamic_batch else max(1, self._options.parallel_requests)

    def run(self, inputs: Any) -> dict[str, np.ndarray]:
        feed = self._check(inputs)
        return dict(zip(self._names, self._sess.run(self._names, feed)))

    def run_many(self, batches: list[Any]) -> list[dict[str, np.ndarray]]:
        """Run batches as one batched run (dynamic batch dimension), else in turn, or
        ``parallel_requests`` at once (onnxruntime's run is thread-safe)."""
        if self._dynamic_batch and len(batches) > 1:
            return self._joined(batches)
        workers = self._options.parallel_requests
        if workers <= 1 or len(batches) <= 1:
            return [self.run(b) for b in batches]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self.run, batches))

    def _joined(self, batches: list[Any]) -> list[dict[str, np.ndarray]]:
        feeds = [self._check(b) for b in batches]
        joined = {k: np.concatenate([f[k] for f in feeds]) for k in feeds[0]}
        outputs = self._sess.run(self._names, joined)
        cuts = np.cumsum([len(next(iter(f.values()))) for f in feeds])[:-1]
        parts = [np.split(o, cuts) for o in outputs]
        return [dict(zip(self._names, one)) for one in zip(*parts)]

    def close(self) -> None:
        self._sess = None


def _not_onnx(fmt: Any) -> str:
    """The error for a model onnxruntime cannot read, naming the backend that can, as a CLI flag too.

    Why: ``edgekit eval model.xml --backend onnxruntime`` answered with a Python call only, so a
    command-line user had no flag to reach for.
    """
    from edgekit.backends.registry import backends_for  # the registry imports this module
    from edgekit.models.conversion import supported_conversions  # an error path: its import cost is no matter

    readers = [name for name in backends_for(fmt) if name != "onnxruntime"]
    run_on = (f"run it on {readers[0]} (--backend {readers[0]} on the command line, backend={readers[0]!r} "
              "in Python)" if readers else "")
    named = _FORMAT_NAMES.get(str(fmt), str(fmt))
    if (str(fmt), "onnx") in supported_conversions():
        fix = (f"{run_on} or " if run_on else "") + ("convert it (`edgekit convert MODEL --to onnx`, "
                                                     "edgekit.models.convert(model, to='onnx'))")
    else:  # an OpenVINO IR does not convert back (Why: the message offered a conversion that then failed)
        fix = (f"{run_on}, or " if run_on else "") + f"give onnxruntime the ONNX file this {named.removeprefix('an ')} was made from"
    return f"onnxruntime reads ONNX files only, not {named}; {fix}"


_FORMAT_NAMES = {"openvino": "an OpenVINO IR", "torch": "a PyTorch file"}  # what _not_onnx calls a format


class OnnxRuntimeBackend(Backend):
    """onnxruntime: reads ONNX; CPU always, accelerators when the build provides them."""

    name = "onnxruntime"
    extra = "onnxruntime"
    capabilities = BackendCapabilities(
        label="ONNX Runtime",
        short_label="ORT",
        formats=(Format.ONNX,),
        devices=(DeviceKind.CPU, DeviceKind.CUDA, DeviceKind.GPU),
        precisions=(Precision.FP32, Precision.FP16, Precision.INT8, Precision.INT8_DYNAMIC),
        methods=(Method.FP32, Method.FP16, Method.INT8, Method.INT8_QOP, Method.INT8_DYNAMIC, Method.INT8_AC,
                 Method.PRUNED),
        options=OrtOptions,
        artifact_format=Format.ONNX,
        int8_quantizer="onnxruntime",
        packages=("onnxruntime>=1.17",),
        triton="onnxruntime",
        kserve_platform="onnxruntime_onnx",
        shared_cpu_options={"spin_between_runs": False},
        graph_runtime=True,
        stand_ins=("tflite",),
        profile_parts=("onnxruntime",),
        concurrent_predict=True,
    )

    def available(self, profile: Any = None) -> tuple[bool, str]:
        return package_available(self.name, "onnxruntime", self.extra)

    def support(self, profile: Any = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The CPU, plus CUDA when the profile found onnxruntime's CUDA provider."""
        cuda = "CUDAExecutionProvider" in (getattr(profile, "ort_providers", None) or ())
        return ("cpu", "cuda") if cuda else ("cpu",), tuple(str(p) for p in self.capabilities.precisions)

    def devices(self, profile: Any = None) -> list[str]:
        if not self.available(profile)[0]:
            return []
        providers = set(_providers())
        return [d for d, p in DEVICE_PROVIDERS.items() if p in providers and d != "gpu"]

    def device_status(self, profile: Any = None) -> list[tuple[str, bool, str]]:
        """Every device this backend knows, with availability and the reason/fix."""
        return [(d, *self._device_ok(d)) for d in ("cpu", "cuda", "tensorrt", "openvino", "dml")]

    def _device_ok(self, device: str) -> tuple[bool, str]:
        ok, reason = self.available()
        if not ok:
            return ok, reason
        provider = DEVICE_PROVIDERS.get(device.lower().split(":")[0])
        if provider is None:
            return False, f"onnxruntime knows no device {device!r}; choose one of {sorted(DEVICE_PROVIDERS)}"
        if provider not in _providers():
            return False, (
                f"this onnxruntime build has no {provider} (it has {', '.join(_providers())}); "
                f"{_PIP_HINT.get(provider, '')}"
            )
        return True, ""

    def compile(
        self, model: Any, device: str = "cpu", precision: str = "fp32", options: Any = None
    ) -> Session:
        """Compile an ONNX model; see :class:`OrtOptions`.

        Raises:
            BackendUnavailable: onnxruntime missing, provider absent, precision mismatch.
            ModelLoadError: the ONNX file is gone or unreadable.
        """
        require(self.available())
        opts = build_options(OrtOptions, options, self.name)
        require(self._device_ok(device))
        if Format.parse(model.format) != Format.ONNX:
            raise BackendUnavailable(_not_onnx(model.format))
        prec, notes = stored_precision_rule(self.name, model, parse_precision(precision))
        opts, quant_note = _quant_precision(opts, prec, device)
        notes = (*notes, quant_note)
        path = check_files(model)
        start = time.perf_counter()
        cached = _cache_path(model, path, device, opts) if _cacheable(model, device, opts) else None
        sess, cache_note = _create(path, device, opts, cached)
        load_ms = (time.perf_counter() - start) * 1e3
        placement, more = _placement(model, path, device, opts, cached)
        info = SessionInfo(
            backend=self.name,
            device=device.lower(),
            precision=str(prec),
            threads=opts.threads or physical_cores(),
            streams=max(1, opts.parallel_requests),
            providers=tuple(sess.get_providers()),
            node_placement=placement,
            notes=tuple(n for n in (*notes, cache_note, *more) if n),
            load_ms=load_ms,
        )
        return OrtSession(model, sess, info, opts)


def _quant_precision(opts: OrtOptions, precision: Any, device: str) -> tuple[OrtOptions, str]:
    """Resolve ``x64_quant_precision`` (``None`` = auto) and say why it is on."""
    from dataclasses import replace

    if opts.x64_quant_precision is not None or device.lower() != "cpu":
        on = bool(opts.x64_quant_precision) and device.lower() == "cpu"
        return replace(opts, x64_quant_precision=on), "session.x64quantprecision on (asked)" if on else ""
    on = str(precision) in (str(Precision.INT8), str(Precision.INT8_DYNAMIC)) and saturating_cpu()
    note = ("session.x64quantprecision on: this x86 CPU has no VNNI, and onnxruntime's U8S8 INT8 kernels "
            "saturate without it (a few top-1 points lost); slower, as accurate as on a VNNI CPU") if on else ""
    return replace(opts, x64_quant_precision=on), note


def _providers() -> list[str]:
    import onnxruntime

    return list(onnxruntime.get_available_providers())


def _provider_list(device: str, opts: OrtOptions) -> list[Any]:
    provider = DEVICE_PROVIDERS[device.lower().split(":")[0]]
    if provider == "CPUExecutionProvider":
        return [provider]
    gpu_id = int(device.split(":")[1]) if ":" in device else opts.device_id
    extra = {"device_id": gpu_id} if provider != "OpenVINOExecutionProvider" else {}
    return [(provider, extra), "CPUExecutionProvider"]


def _session_options(opts: OrtOptions, level: str) -> Any:
    import onnxruntime as ort

    if opts.graph_optimization not in _OPT_LEVELS:
        raise BackendUnavailable(
            f"graph_optimization must be one of {sorted(_OPT_LEVELS)}, not {opts.graph_optimization!r}"
        )
    so = ort.SessionOptions()
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, _OPT_LEVELS[level])
    if opts.threads:
        so.intra_op_num_threads = opts.threads
    if opts.inter_op_threads:
        so.inter_op_num_threads = opts.inter_op_threads
        so.execution_mode = ort.ExecutionMode.ORT_PARALLEL
    if not opts.spin:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    elif not opts.spin_between_runs:
        so.add_session_config_entry("session.force_spinning_stop", "1")
    if opts.x64_quant_precision:
        so.add_session_config_entry("session.x64quantprecision", "1")
    so.log_severity_level = 3
    return so


def _create(path: Path, device: str, opts: OrtOptions, cached: Path | None) -> tuple[Any, str]:
    """Create the session, through the optimized-model cache entry ``cached`` when there is one."""
    import onnxruntime as ort

    providers = _provider_list(device, opts)
    with map_exceptions({Exception: ModelLoadError}, f"onnxruntime cannot load {path}: {{error}}", path=path):
        if cached is not None and cached.is_file():
            try:
                sess = ort.InferenceSession(str(cached), _session_options(opts, "disable"), providers=providers)
                touch(cached)  # in use: the last to go when the cache is trimmed
                return sess, f"optimized graph loaded from the cache ({cached.name})"
            except Exception:  # noqa: BLE001 - a stale or broken cache entry is rebuilt below
                cached.unlink(missing_ok=True)
        so = _session_options(opts, opts.graph_optimization)
        tmp = _cache_tmp(cached)
        if tmp is not None:
            so.optimized_model_filepath = str(tmp)
        sess = ort.InferenceSession(str(path), so, providers=providers)
    if tmp is not None and tmp.is_file():
        tmp.replace(cached)  # atomic: a reader never sees a half-written cache file
        trim(cached.parent, keep=cached)  # within $EDGEKIT_CACHE_MAX_MB: least recently used first
        return sess, f"optimized graph saved to the cache ({cached.name})"
    return sess, ""


def _cache_tmp(cached: Path | None) -> Path | None:
    """A private temporary name beside the cache entry; ``None`` when the cache dir is not writable."""
    if cached is None:
        return None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(cached.parent, os.W_OK):
        return None
    return cached.with_name(f".{cached.name}.{os.getpid()}-{threading.get_ident()}.tmp")


def _cacheable(model: Any, device: str, opts: OrtOptions) -> bool:
    """Cache CPU graphs of single-file models only: accelerator providers compile
    their own partitions, and external-data models would lose their weights' path."""
    single = len(model.files) <= 1
    return opts.cache and opts.graph_optimization != "disable" and device.lower() == "cpu" and single


def _cache_path(model: Any, path: Path, device: str, opts: OrtOptions) -> Path:
    import onnxruntime

    settings = {
        k: str(v)
        for k, v in asdict(opts).items()
        if k in ("graph_optimization", "threads", "inter_op_threads", "x64_quant_precision")
    }
    key = json.dumps(
        {
            "model": model.sha256 or sha256_file(path),
            "file": [path.stat().st_size, path.stat().st_mtime_ns],  # an edited file is a new key
            "ort": onnxruntime.__version__,
            "settings": settings,
            "device": device,
            "cpu": [platform.machine(), platform.processor(), _cpu_flags_digest()],
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return _cache_root(opts) / "ort" / f"{path.stem}-{digest}.onnx"


def _cache_root(opts: OrtOptions) -> Path:
    """``opts.cache_dir``, else ``$EDGEKIT_CACHE`` (as the plan and model caches), else the user cache folder."""
    if opts.cache_dir is not None:
        return Path(opts.cache_dir)
    override = os.environ.get("EDGEKIT_CACHE")
    if override:
        return expand_user(override)
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("edgekit"))
    except ImportError:
        return Path(tempfile.gettempdir()) / "edgekit-cache"


@functools.lru_cache(maxsize=1)
def _cpu_flags_digest() -> str:
    """A digest of the CPU's ISA flags: the optimized graph holds ISA-specific layouts.

    Read once per process: the flags cannot change, and ``/proc/cpuinfo`` is long
    on many-core machines (every compile builds the cache key, some twice)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return hashlib.sha256(flags.encode()).hexdigest()[:12]


def _placement(
    model: Any, path: Path, device: str, opts: OrtOptions, cached: Path | None
) -> tuple[dict[str, int], list[str]]:
    """Count nodes per provider: from a profiled inference when wanted, else all on CPU."""
    accelerated = device.lower() != "cpu"
    if not (opts.profile_placement or (opts.profile_placement is None and accelerated)):
        return _cpu_placement(cached), []
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="edgekit-ortprof-") as tmp:
        so = _session_options(opts, opts.graph_optimization)
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(tmp) / "profile")
        probe = ort.InferenceSession(str(path), so, providers=_provider_list(device, opts))
        feed = {s.name: np.zeros(s.concrete_shape(), dtype=s.dtype) for s in model.inputs}
        probe.run(None, feed)
        counts = count_placement(probe.end_profiling())
    notes = []
    cpu = counts.get("CPUExecutionProvider", 0)
    if accelerated and cpu:
        total = sum(counts.values())
        notes.append(
            f"{cpu} of {total} nodes fell back to CPUExecutionProvider "
            f"(not supported by {DEVICE_PROVIDERS[device.lower().split(':')[0]]})"
        )
    return counts, notes


def _cpu_placement(cached: Path | None) -> dict[str, int]:
    """With the CPU provider alone every node of the optimized graph runs on it;
    count them from the cached optimized graph when there is one (no extra run).
    ``cached`` is set for cacheable CPU sessions only."""
    if cached is None:
        return {}
    try:
        import onnx

        return {"CPUExecutionProvider": len(onnx.load(str(cached), load_external_data=False).graph.node)}
    except Exception:  # noqa: BLE001 - placement is information, never a reason to fail
        return {}


def count_placement(profile_file: str | Path) -> dict[str, int]:
    """Nodes per execution provider from an onnxruntime profiling JSON file."""
    events = json.loads(Path(profile_file).read_text())
    nodes = {
        (e["args"].get("provider"), e["name"])
        for e in events
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e.get("args", {}).get("provider")
    }
    return dict(Counter(provider for provider, _ in nodes))
