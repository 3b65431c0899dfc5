"""The serving engine: a fixed pool of predictors behind a bounded admission count.

Why bounded: a device that queues every request it is sent answers all of
them late once it is overloaded; refusing the excess at once (503, with
``Retry-After``) keeps latency flat for the requests it admits and tells
clients (and load balancers) to back off. ``max_queue`` counts requests
running plus waiting; ``workers`` predictors run at once, each in its own
thread (backends release the GIL while they compute).
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.deployment.predictor import Predictor
from edgekit.errors import InputMismatch
from edgekit.serve.adapter import IMAGE_INPUT, image_outputs, wants_image
from edgekit.serve.protocol import InferRequest, OutputRequest, RequestError, classification


class Engine:
    """Predictors for one bundle and the admission control in front of them.

    Args:
        bundle: bundle folder or zip (verified on open).
        workers: predictors / inference threads.
        max_queue: largest number of requests admitted at once (running + waiting).
    """

    def __init__(self, bundle: str | Path, *, workers: int = 1, max_queue: int = 64, backend: str | None = None) -> None:
        if workers < 1 or max_queue < 1:
            raise ValueError("workers and max_queue must be at least 1")
        first = Predictor.open(bundle, backend=backend)
        self.predictors = [first] + [Predictor.open(first.bundle, backend=first.backend) for _ in range(workers - 1)]
        self.manifest = first.manifest
        self.name = self.manifest.serve_name
        self.max_queue, self.admitted, self.closing, self.served = max_queue, 0, False, 0
        self.port: int | None = None  # set by serve() once bound: the OS's pick for --port 0
        self._free: queue.Queue[Predictor] = queue.Queue()
        for p in self.predictors:
            self._free.put(p)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="edgekit-infer")

    @property
    def model(self) -> Any:
        """The served :class:`Model` (inputs, outputs, labels)."""
        return self.predictors[0].session.model

    async def submit(self, fn: Callable[[Predictor], Any]) -> Any:
        """Run ``fn(predictor)`` on a worker, or refuse at once when the queue is full.

        Raises:
            RequestError: 503 when ``max_queue`` requests are already admitted or the server stops.
        """
        if self.closing:
            raise RequestError(503, "server is shutting down")
        if self.admitted >= self.max_queue:
            raise RequestError(503, f"server busy: {self.admitted} requests queued (limit {self.max_queue}); retry later")
        self.admitted += 1  # the event loop is single-threaded: no lock needed
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._pool, self._with_predictor, fn)
            self.served += 1
            return result
        finally:
            self.admitted -= 1

    def _with_predictor(self, fn: Callable[[Predictor], Any]) -> Any:
        predictor = self._free.get()
        try:
            return fn(predictor)
        finally:
            self._free.put(predictor)

    def infer(self, predictor: Predictor, request: InferRequest) -> list[tuple[str, np.ndarray, bool]]:
        """Run a decoded request; return ``(name, array, binary)`` per requested output.

        The ``image`` input (BYTES [N] of JPEG/PNG files) is decoded and preprocessed here with the
        model card, as KServe and Triton do it (:func:`edgekit.serve.adapter.image_outputs`).
        """
        try:
            if wants_image(request.inputs, self.model.inputs):
                raw = image_outputs(predictor, request.inputs[IMAGE_INPUT])
            else:
                raw = predictor.session.run(request.inputs)
        except InputMismatch as exc:
            raise RequestError(400, str(exc)) from exc
        wanted = request.outputs or tuple(OutputRequest(n, request.binary_default) for n in raw)
        result = []
        for out in wanted:
            if out.name not in raw:
                raise RequestError(400, f"unknown output {out.name!r}; this model has {sorted(raw)}")
            array = np.asarray(raw[out.name])
            if out.classification and array.dtype == object:
                raise RequestError(400, f"output {out.name!r} holds class names already; ask it without 'classification'")
            if out.classification:
                array = classification(array, out.classification, predictor.labels)
            result.append((out.name, array, out.binary))
        return result

    def close(self) -> None:
        """Stop taking work, finish what runs, release the predictors."""
        self.closing = True
        self._pool.shutdown(wait=True)
        for p in self.predictors:
            p.session.close()
        self.predictors[0].bundle.close()

