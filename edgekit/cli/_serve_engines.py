"""``edgekit serve --engine kserve``: the cluster engines behind the same command.

Kept apart from ``serve.py`` so the light server's command stays small; each engine is
imported only when chosen.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.errors import ConfigError

ENGINES = ("edgekit", "kserve")


def free_port(host: str, port: int, flag: str = "--port") -> int:
    """``port``, or a free one when ``port`` is 0; refuse a port in use before the model loads, naming
    ``flag`` (the gRPC port's refusal told the user to change --port).

    Raises:
        ConfigError: ``host:port`` cannot be listened on.
    """
    from edgekit.serve.server import bind

    with bind(host, port, flag) as sock:
        return sock.getsockname()[1]


def serve_engine(engine: str, bundle: Path, *, host: str, port: int, grpc_port: int, workers: int,
                 backend: str | None) -> None:
    """Run ``bundle`` in ``engine`` until interrupted.

    Raises:
        ConfigError: unknown engine, or a port cannot be listened on.
    """
    if engine not in ENGINES:
        raise ConfigError(f"--engine {engine!r} is not known; choose one of: {', '.join(ENGINES)}")
    from edgekit.cli._console import err_console
    from edgekit.serve.kserve_server import serve_kserve

    http_port, grpc_port = free_port(host, port), free_port(host, grpc_port, "--grpc-port")

    def ready(model) -> None:
        err_console.print(f"serving {model.name} ({model.adapter.backend}) with KServe on http://{host}:{http_port}/v2 "
                          f"and grpc {host}:{grpc_port} ({workers} worker{'s' if workers > 1 else ''}, "
                          f"metrics at /metrics) - Ctrl-C stops", highlight=False)

    serve_kserve(bundle, host=host, http_port=http_port, grpc_port=grpc_port, workers=workers, backend=backend,
                 on_ready=ready)
