"""Inference backends (onnxruntime, OpenVINO, PyTorch) behind one small protocol.

Importing this package imports no runtime: each backend module imports its
runtime inside its functions, on first use.

Example:
    >>> from edgekit.backends import compile_session, list_backends
    >>> list_backends()
    ['onnxruntime', 'openvino', 'torch']
    >>> capabilities("openvino").loads("openvino")
    True
"""

from edgekit.backends.base import Backend, Session, SessionInfo, validate_inputs
from edgekit.backends.capabilities import BackendCapabilities
from edgekit.backends.parity import BackendParity, ParityReport, check_parity
from edgekit.backends.registry import (
    available_backends,
    backends_for,
    capabilities,
    compile_session,
    device_status,
    get_backend,
    is_backend,
    list_backends,
    reference_backend,
    register_backend,
    unregister_backend,
)

__all__ = [
    "Backend",
    "BackendCapabilities",
    "BackendParity",
    "ParityReport",
    "Session",
    "SessionInfo",
    "available_backends",
    "backends_for",
    "capabilities",
    "check_parity",
    "compile_session",
    "device_status",
    "get_backend",
    "is_backend",
    "list_backends",
    "reference_backend",
    "register_backend",
    "unregister_backend",
    "validate_inputs",
]
