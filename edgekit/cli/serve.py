"""``edgekit serve BUNDLE``: serve a bundle over the Open Inference Protocol (KServe v2 REST).

Listens on 127.0.0.1 unless ``--host`` says otherwise. ``--workers`` is the
number of inference threads (each with its own session) in this one process;
``--max-queue`` bounds the requests admitted at once (more get 503).
``--port 0`` lets the system pick a free port; the 'serving ... on' line names it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the CLI."""

    @app.command("serve")
    def serve_cmd(
        bundle: Annotated[Path, typer.Argument(help="Bundle folder or .zip.")],
        host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 exposes it to the network).")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: the system picks a free one).")] = 8000,
        workers: Annotated[int, typer.Option(min=1, max=64, help="Inference threads, each with its own session.")] = 1,
        max_queue: Annotated[int, typer.Option(min=1, help="Requests admitted at once (running + waiting); more get 503.")] = 64,
        max_body_mb: Annotated[float, typer.Option(min=0.001, help="Largest request body in MiB; more get 413.")] = 32.0,
        backend: Annotated[str | None, typer.Option(help="Force one of the bundle's allowed backends.")] = None,
        engine: Annotated[str, typer.Option(help="edgekit (light, for devices) or kserve (KServe ModelServer: "
                                                 "REST + gRPC + /metrics; --workers = processes).")] = "edgekit",
        grpc_port: Annotated[int, typer.Option(min=0, max=65535, help="gRPC port for --engine kserve "
                                                                     "(0: a free one).")] = 8081,
    ) -> None:
        """Serve a bundle: /v2/health, /v2/models/NAME, /v2/models/NAME/infer (tensors, or JPEG/PNG as the image input), /v2/models/NAME/classify, /v2/models/NAME/detect."""
        if engine != "edgekit":
            from edgekit.cli._serve_engines import serve_engine

            return serve_engine(engine, bundle, host=host, port=port, grpc_port=grpc_port, workers=workers,
                                backend=backend)
        from edgekit.cli._console import err_console
        from edgekit.serve.server import serve

        def ready(engine) -> None:  # engine.port: the port bound, the OS's pick for --port 0
            err_console.print(f"serving {engine.name} ({engine.predictors[0].backend}) on "
                              f"http://{host}:{engine.port}/v2 - Ctrl-C stops", highlight=False)

        finished = []

        def stopped(engine) -> None:  # engine.served: /infer and /classify calls answered, not health checks
            n = engine.served
            err_console.print(f"stopped cleanly after {n} inference request{'' if n == 1 else 's'}", highlight=False)
            finished.append(True)

        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a server is stopped
            serve(bundle, host=host, port=port, workers=workers, max_queue=max_queue,
                  max_body_bytes=int(max_body_mb * (1 << 20)), backend=backend, on_ready=ready, on_shutdown=stopped)
        if not finished:
            # a Ctrl-C before it served, or one that cut its shutdown short, is a cancel as anywhere (130); once it
            # shut down cleanly it is success (0), not "cancelled" after "stopped cleanly". Not only an interrupt
            # raised here: a second Ctrl-C makes uvicorn skip the shutdown and re-raise the signal, which is lost
            # where SIGINT was ignored when edgekit started (`nohup ... &`): it ended silently with 0
            raise KeyboardInterrupt
