"""The bounded queue: requests beyond ``max_queue`` get 503 at once, and service resumes after."""

from __future__ import annotations

import asyncio
import threading

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")

from edgekit.serve.app import create_app
from edgekit.serve.engine import Engine

REQUEST = {"inputs": [{"name": "input", "shape": [1, 3, 32, 32], "datatype": "FP32", "data": [0.5] * 3072}]}


def test_full_queue_gets_503_with_retry_after_then_recovers(bundle):
    engine = Engine(bundle, workers=1, max_queue=2)
    app = create_app(engine)

    async def scenario():
        gate = threading.Event()
        # two requests occupy the queue: one running (blocked on the gate), one waiting
        held = [asyncio.create_task(engine.submit(lambda p: gate.wait(30))) for _ in range(2)]
        await asyncio.sleep(0)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://edgekit") as client:
            busy = await client.post("/v2/models/tiny/infer", json=REQUEST)
            live = await client.get("/v2/health/live")
            gate.set()
            await asyncio.gather(*held)
            after = await client.post("/v2/models/tiny/infer", json=REQUEST)
        return busy, live, after

    try:
        busy, live, after = asyncio.run(scenario())
    finally:
        engine.close()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    assert "limit 2" in busy.json()["error"]
    assert live.status_code == 200
    assert after.status_code == 200
    assert np.asarray(after.json()["outputs"][0]["data"]).shape == (4,)
    assert engine.admitted == 0


def test_closed_engine_refuses_and_reports_not_ready(bundle):
    engine = Engine(bundle, workers=1, max_queue=4)
    app = create_app(engine)
    engine.close()

    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edgekit") as client:
            return await client.get("/v2/health/ready"), await client.post("/v2/models/tiny/infer", json=REQUEST)

    ready, infer = asyncio.run(scenario())
    assert ready.status_code == 503 and infer.status_code == 503
    assert "shutting down" in infer.json()["error"]
