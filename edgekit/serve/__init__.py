"""Serving a bundle over the Open Inference Protocol (KServe v2 REST).

FastAPI and uvicorn (``pip install "edgekit[serve]"``) are imported only when a
server is built, so the device runtime never needs them.

Example:
    >>> from edgekit.serve import serve                   # doctest: +SKIP
    >>> serve("digits.zip", host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "serve": "edgekit.serve.server",
    "create_app": "edgekit.serve.app",
    "Engine": "edgekit.serve.engine",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'edgekit.serve' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
