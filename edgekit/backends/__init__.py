"""Inference backends (onnxruntime, OpenVINO, PyTorch) behind one small protocol.

Importing this package imports no runtime: each backend module imports its
runtime inside its functions, on first use.

Example:
    >>> from edgekit.backends import compile_session, list_backends
    >>> list_backends()
    ['onnxruntime', 'openvino', 'torch']
"""

from edgekit.backends.base import Backend, Session, SessionInfo, validate_inputs
from edgekit.backends.parity import BackendParity, ParityReport, check_parity
from edgekit.backends.registry import (
    available_backends,
    compile_session,
    device_status,
    get_backend,
    list_backends,
)

__all__ = [
    "Backend",
    "BackendParity",
    "ParityReport",
    "Session",
    "SessionInfo",
    "available_backends",
    "check_parity",
    "compile_session",
    "device_status",
    "get_backend",
    "list_backends",
    "validate_inputs",
]
