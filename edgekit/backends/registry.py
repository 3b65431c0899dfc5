"""Which backends exist, what each can do, and the one entry point that compiles a model on one.

Adding a backend = one module with a :class:`~edgekit.backends.base.Backend`
subclass (with its :class:`~edgekit.backends.capabilities.BackendCapabilities`)
+ one line: an entry in ``_BACKENDS`` or, from outside edgekit, a call to
:func:`register_backend`. Backend modules are imported on first use, and they
import their runtime (onnxruntime, openvino, torch) only inside functions, so
listing backends and reading their capabilities stays cheap.

Example:
    >>> register_backend("ort-lite", "mypkg.ortlite:OrtLiteBackend", aliases=("lite",))  # doctest: +SKIP
    >>> backends_for("onnx", "int8")                                                      # doctest: +SKIP
    ['onnxruntime', 'openvino', 'ort-lite']
"""

from __future__ import annotations

import difflib
import importlib
import os
from typing import Any

from edgekit.backends.base import Backend, Session
from edgekit.backends.capabilities import BackendCapabilities
from edgekit.errors import BackendUnavailable, ConfigError, require_argument, warn_caller
from edgekit.types import DeviceKind, Format, Method, Precision

# name -> "module:class" (or the class); the order is the order "auto" tries them in
_BACKENDS: dict[str, str | type] = {
    "onnxruntime": "edgekit.backends.onnxruntime:OnnxRuntimeBackend",
    "openvino": "edgekit.backends.openvino:OpenVINOBackend",
    "torch": "edgekit.backends.torch:TorchBackend",
}
_ALIASES = {"ort": "onnxruntime", "ov": "openvino", "pytorch": "torch"}
_INSTANCES: dict[str, Backend] = {}


def register_backend(name: str, backend: str | type, *, aliases: tuple[str, ...] = (),
                     replace: bool = False) -> None:
    """Add a backend to the registry (after the built-in ones: ``"auto"`` tries it last).

    Args:
        name: its registry name (lower case; what targets, manifests and ``--backends`` say).
        backend: ``"module:Class"`` (imported on first use) or the ``Backend`` subclass.
        aliases: other names accepted for it.
        replace: allow re-registering an existing name.

    Raises:
        ConfigError: the name or an alias is taken, or ``backend`` is not ``"module:Class"``.

    Example:
        >>> register_backend("ort-lite", "mypkg.ortlite:OrtLiteBackend")   # doctest: +SKIP
    """
    key = str(name).lower()
    if isinstance(backend, str) and backend.count(":") != 1:
        raise ConfigError(f"backend {name!r}: give 'module:Class', not {backend!r}")
    taken = [n for n in (key, *map(str.lower, aliases)) if n in _BACKENDS or n in _ALIASES]
    if taken and not replace:
        raise ConfigError(f"backend name(s) {taken} are already registered; pick another name or pass replace=True")
    unregister_backend(key)
    _BACKENDS[key] = backend
    _ALIASES.update({a.lower(): key for a in aliases})


def unregister_backend(name: str) -> None:
    """Remove a backend and its aliases (a no-op for an unknown name); for tests and plugins."""
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    _BACKENDS.pop(key, None)
    _INSTANCES.pop(key, None)
    for alias in [a for a, k in _ALIASES.items() if k == key]:
        del _ALIASES[alias]


def list_backends() -> list[str]:
    """Names of every registered backend, in the order ``"auto"`` tries them."""
    return list(_BACKENDS)


def backend_name(name: str) -> str:
    """The registered name ``name`` stands for (``ort`` -> ``onnxruntime``), without loading the backend.

    Raises:
        BackendUnavailable: unknown name, with a did-you-mean hint.
    """
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in _BACKENDS:
        close = difflib.get_close_matches(key, [*_BACKENDS, *_ALIASES], n=2, cutoff=0.5)
        names = list(dict.fromkeys(_ALIASES.get(c, c) for c in close))  # an alias and its target: say it once
        hint = f"did you mean {' or '.join(map(repr, names))}? " if names else ""
        raise BackendUnavailable(f"unknown backend {name!r}; {hint}known backends: {', '.join(_BACKENDS)}")
    return key


def get_backend(name: str) -> Backend:
    """Return the backend registered as ``name`` (``ort``/``ov``/``pytorch`` accepted too).

    Raises:
        BackendUnavailable: unknown name, with a did-you-mean hint.

    Example:
        >>> get_backend("openvino").name
        'openvino'
    """
    key = backend_name(name)
    if key not in _INSTANCES:
        _INSTANCES[key] = _load(key)
    return _INSTANCES[key]


def _load(key: str) -> Backend:
    spec = _BACKENDS[key]
    if isinstance(spec, str):
        module, cls_name = spec.split(":")
        spec = getattr(importlib.import_module(module), cls_name)
    instance = spec()
    instance.name = key  # the registry's name is the one manifests and targets use
    if not isinstance(getattr(instance, "capabilities", None), BackendCapabilities):
        raise BackendUnavailable(f"backend {key} ({spec.__name__}) declares no BackendCapabilities; "
                                 "set its `capabilities` class attribute")
    return instance


def is_backend(name: str) -> bool:
    """True when ``name`` (or an alias) is registered."""
    return _ALIASES.get(str(name).lower(), str(name).lower()) in _BACKENDS


def capabilities(name: str) -> BackendCapabilities:
    """What backend ``name`` can do (imports its module, not its runtime).

    Raises:
        BackendUnavailable: unknown name, with a did-you-mean hint.
    """
    return get_backend(name).capabilities


def readers(model: Any) -> list[str]:
    """Registered backends (in ``"auto"`` order) that can take ``model`` at all: they read its file
    format, or run the PyTorch module it carries. What ``"auto"`` tries, and races among."""
    module = getattr(model, "module", None) is not None
    return [name for name in _BACKENDS
            if capabilities(name).loads(model.format) or (module and capabilities(name).needs_module)]


def backends_for(
    fmt: Format | str | None = None,
    precision: Precision | str | None = None,
    *,
    method: Method | str | None = None,
    device: DeviceKind | str | None = None,
    bundle: bool | None = None,
    needs_module: bool | None = None,
) -> list[str]:
    """Registered backends (in ``"auto"`` order) that load ``fmt``, run ``precision``, run files
    made by ``method``, run on ``device`` kind, may be named by a bundle, need a module.

    Every criterion left ``None`` matches all. Example: ``backends_for("openvino")`` ->
    ``["openvino"]``; ``backends_for("onnx", bundle=True)[0]`` is the default runtime of an ONNX bundle.
    """
    out = []
    for name in _BACKENDS:
        caps = capabilities(name)
        if ((fmt is None or caps.loads(fmt)) and (precision is None or caps.runs(precision))
                and (method is None or caps.runs_method(method))
                and (device is None or str(device).lower().split(":")[0] in caps.devices)
                and (bundle is None or caps.bundle == bundle)
                and (needs_module is None or caps.needs_module == needs_module)):
            out.append(name)
    return out


def reference_backend(fmt: Format | str = Format.ONNX) -> str:
    """The backend that measures a file's reference (FP32 CPU) accuracy: the first that loads
    ``fmt``, runs FP32 on a CPU and needs no PyTorch module.

    Raises:
        BackendUnavailable: no registered backend reads ``fmt``.
    """
    found = backends_for(fmt, Precision.FP32, device=DeviceKind.CPU, needs_module=False)
    if not found:
        raise BackendUnavailable(f"no registered backend reads {fmt} files; install one (pip install edgekit[openvino])")
    return found[0]


def format_backend(fmt: Format | str, device: str = "cpu", precision: str = "fp32") -> str:
    """``backend="auto"`` where one model is to be run, not raced: the first registered backend
    that reads ``fmt``, preferring one that runs ``precision`` on ``device`` (onnxruntime for an
    ONNX file, openvino for an OpenVINO IR); ``"auto"`` when none reads it, so that
    :func:`compile_session` says why each backend failed.

    Why: ``evaluate`` and ``Detector.open`` defaulted to onnxruntime, so an OpenVINO IR failed
    unless the caller named openvino, while the CLI already picked by what loads the model."""
    found = backends_for(fmt, precision, device=device) or backends_for(fmt)
    return found[0] if found else "auto"


def local_support(profile: Any = None) -> dict[str, dict[str, tuple[str, ...]]]:
    """``{backend: {"devices": ..., "precisions": ...}}`` for every backend installed here,
    from the hardware profile (the ``local`` target's ``backends``); imports no runtime."""
    found = {}
    for name in _BACKENDS:
        backend = get_backend(name)
        if backend.available(profile)[0]:
            devices, precisions = backend.support(profile)
            found[name] = {"devices": tuple(map(str, devices)), "precisions": tuple(map(str, precisions))}
    return found


def available_backends(profile: Any = None) -> list[tuple[str, bool, str]]:
    """``(name, available, reason)`` for every backend; never raises."""
    rows = []
    for name in _BACKENDS:
        ok, reason = get_backend(name).available(profile)
        rows.append((name, ok, reason))
    return rows


def device_status(name: str, profile: Any = None) -> list[tuple[str, bool, str]]:
    """``(device, available, reason)`` for every device ``name`` knows."""
    backend = get_backend(name)
    probe = getattr(backend, "device_status", None)
    if probe is not None:
        return probe(profile)
    ok, reason = backend.available(profile)
    return [(d, True, "") for d in backend.devices(profile)] if ok else [("cpu", False, reason)]


def compile_session(
    model: Any,
    backend: str = "auto",
    device: str = "cpu",
    precision: str = "fp32",
    options: Any = None,
) -> Session:
    """Compile ``model`` into a ready :class:`Session`.

    Args:
        model: an :class:`edgekit.models.Model`, or a path or name ``load_model`` takes ("demo:digits").
        backend: a registry name, or ``"auto"``: of onnxruntime, then openvino, then
            torch, those that read the model's format; each failure is reported as an
            ``EdgekitWarning`` and the next is tried.
        device: "cpu", "cuda", "gpu", "npu", "auto", or a backend's own name ("GPU.1").
        precision: "fp32", "fp16", "bf16", "int8", "int8-dynamic".
        options: the backend's options dataclass (``OrtOptions``, ``OpenVINOOptions``,
            ``TorchOptions``); with ``"auto"`` it applies to the backend of its type.

    Raises:
        BackendUnavailable: the backend (or, for "auto", every backend) cannot run it.
        ModelLoadError: the model's file is gone or unreadable.

    Example:
        >>> session = compile_session(model, "openvino", precision="fp32")  # doctest: +SKIP
        >>> logits = session.predict(batch)                                  # doctest: +SKIP
    """
    if isinstance(model, (str, os.PathLike)):  # compile_session("m.onnx") ended in "unknown value <built-in
        from edgekit.models.load import load_model  # method format of str ...>" three calls deep

        model = load_model(model)
    require_argument(model, "compile_session", "a Model or a model path (edgekit.load_model(path) makes one)")
    if backend != "auto":
        return get_backend(backend).compile(model, device, precision, options)
    reasons = []
    # only runtimes that read the file's format: onnxruntime tried on an OpenVINO IR warned "cannot run
    # ... reads ONNX files only" at every `edgekit demo ir.xml` and in the app's banner, for nothing
    names = readers(model) or list(_BACKENDS)
    for name in names:
        mine = options if isinstance(options, capabilities(name).options) else None
        try:
            return get_backend(name).compile(model, device, precision, mine)
        except BackendUnavailable as exc:
            reasons.append(f"{name}: {exc}")
            if name != names[-1]:
                warn_caller(f"backend {name} cannot run {model.name} ({exc}); trying the next")
    raise BackendUnavailable("no backend can run this model here: " + "; ".join(reasons))
