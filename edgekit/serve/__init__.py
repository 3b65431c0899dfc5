"""Serving a bundle over the Open Inference Protocol (KServe v2 REST).

FastAPI and uvicorn (``pip install "edgekit[serve]"``) are imported only when a
server is built, so the device runtime never needs them.

Example:
    >>> from edgekit.serve import serve                   # doctest: +SKIP
    >>> serve("digits.zip", host="127.0.0.1", port=8000)
"""

from __future__ import annotations

from edgekit._lazy import lazy_exports

_LAZY = {
    "serve": "edgekit.serve.server",
    "create_app": "edgekit.serve.app",
    "Engine": "edgekit.serve.engine",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
