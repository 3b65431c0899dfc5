"""Which backends exist, and the one entry point that compiles a model on one of them.

Adding a backend = one module with a :class:`~edgekit.backends.base.Backend`
subclass + one line in ``_BACKENDS``. Backend modules are imported on first
use, and they import their runtime (onnxruntime, openvino, torch) only inside
functions, so listing backends stays cheap.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from typing import Any

from edgekit.backends.base import Backend, Session
from edgekit.errors import BackendUnavailable, EdgekitWarning

# name -> "module:class"; the order is the order "auto" tries them in
_BACKENDS = {
    "onnxruntime": "edgekit.backends.onnxruntime:OnnxRuntimeBackend",
    "openvino": "edgekit.backends.openvino:OpenVINOBackend",
    "torch": "edgekit.backends.torch:TorchBackend",
}
_ALIASES = {"ort": "onnxruntime", "ov": "openvino", "pytorch": "torch"}
_INSTANCES: dict[str, Backend] = {}


def list_backends() -> list[str]:
    """Names of every registered backend, in the order ``"auto"`` tries them."""
    return list(_BACKENDS)


def get_backend(name: str) -> Backend:
    """Return the backend registered as ``name`` (``ort``/``ov``/``pytorch`` accepted too).

    Raises:
        BackendUnavailable: unknown name, with a did-you-mean hint.

    Example:
        >>> get_backend("openvino").name
        'openvino'
    """
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in _BACKENDS:
        close = difflib.get_close_matches(key, [*_BACKENDS, *_ALIASES], n=2, cutoff=0.5)
        names = list(dict.fromkeys(_ALIASES.get(c, c) for c in close))  # an alias and its target: say it once
        hint = f"did you mean {' or '.join(map(repr, names))}? " if names else ""
        raise BackendUnavailable(f"unknown backend {name!r}; {hint}known backends: {', '.join(_BACKENDS)}")
    if key not in _INSTANCES:
        module, cls = _BACKENDS[key].split(":")
        _INSTANCES[key] = getattr(importlib.import_module(module), cls)()
    return _INSTANCES[key]


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
        model: an :class:`edgekit.models.Model`.
        backend: a registry name, or ``"auto"``: onnxruntime, then openvino, then
            torch; each failure is reported as an ``EdgekitWarning`` and the next
            is tried.
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
    if backend != "auto":
        return get_backend(backend).compile(model, device, precision, options)
    reasons = []
    names = list(_BACKENDS)
    for name in names:
        mine = options if options is not None and _owns(name, options) else None
        try:
            return get_backend(name).compile(model, device, precision, mine)
        except BackendUnavailable as exc:
            reasons.append(f"{name}: {exc}")
            if name != names[-1]:
                warnings.warn(
                    EdgekitWarning(f"backend {name} cannot run {model.name} ({exc}); trying the next"),
                    stacklevel=2,
                )
    raise BackendUnavailable("no backend can run this model here: " + "; ".join(reasons))


def _owns(name: str, options: Any) -> bool:
    """True when ``options`` is the options type of backend ``name``."""
    module = importlib.import_module(_BACKENDS[name].split(":")[0])
    return any(
        isinstance(options, cls)
        for cls in vars(module).values()
        if isinstance(cls, type) and cls.__name__.endswith("Options")
    )
