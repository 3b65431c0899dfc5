"""``serve``: run the Open Inference Protocol server for one bundle with uvicorn.

The bundle is verified and compiled before the socket opens, so the server is
ready the moment it listens. Ctrl-C / SIGTERM stop accepting connections, let
admitted requests finish (up to ``grace_s``), then release the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.errors import BackendUnavailable


def serve(
    bundle: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    max_queue: int = 64,
    max_body_bytes: int | None = None,
    backend: str | None = None,
    grace_s: float = 10.0,
    log_level: str = "warning",
    on_ready: Any = None,
    on_shutdown: Any = None,
) -> None:
    """Serve ``bundle`` until interrupted.

    Args:
        bundle: bundle folder or zip.
        host / port: where to listen (default loopback only; pass 0.0.0.0 to expose it).
        workers: inference threads, each with its own compiled session.
        max_queue: requests admitted at once (running + waiting); more get 503.
        max_body_bytes: largest request body (default 32 MiB); more get 413.
        backend: force one of the bundle's allowed backends.
        grace_s: how long shutdown waits for admitted requests.
        on_ready: called with the ``Engine`` once the model is loaded.
        on_shutdown: called with the ``Engine`` once admitted requests finished and it is closed.
            uvicorn then re-raises SIGTERM/SIGINT, so the process ends as signalled.

    Raises:
        BundleError: the bundle is refused.
        BackendUnavailable: fastapi/uvicorn missing, or no allowed backend runs here.
    """
    try:
        import uvicorn
    except ImportError as exc:
        raise BackendUnavailable('edgekit serve needs fastapi and uvicorn; install them with: pip install "edgekit[serve]"') from exc
    from edgekit.serve.app import MAX_BODY_BYTES, create_app
    from edgekit.serve.engine import Engine

    engine = Engine(bundle, workers=workers, max_queue=max_queue, backend=backend)
    if on_ready is not None:
        on_ready(engine)
    app = create_app(engine, max_body_bytes=max_body_bytes or MAX_BODY_BYTES, on_shutdown=on_shutdown)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=grace_s,
                            limit_concurrency=max_queue * 4 + 64, access_log=False)
    uvicorn.Server(config).run()
