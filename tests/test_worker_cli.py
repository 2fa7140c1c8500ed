"""`FLEXGRID_ENGINES=external` (the test default): the gateway only queues jobs; a
`flexgrid worker` process, started as an operator would, takes and runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from tests.market import Market

pytestmark = pytest.mark.integration


async def _status(market: Market, key: str, job_id: str, seconds: float) -> str:
    status = "accepted"
    for _ in range(int(seconds / 0.05)):
        status = (await market.call("GET", f"/v1/jobs/{job_id}", key)).json()["status"]
        if status in ("completed", "failed"):
            break
        await asyncio.sleep(0.05)
    return str(status)


async def test_a_cli_worker_runs_what_the_gateway_queued(
    market: Market, client: AsyncTestClient
) -> None:
    await market.participant("dso", "dso")
    key = market.keys["dso"]
    submitted = await market.call(
        "POST", "/v1/jobs", key, {"kind": "echo", "input": {"text": "worker"}}
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    # Nobody serves the queue yet: the job waits, nothing is lost.
    assert await _status(market, key, job_id, 1.0) == "accepted"
    url = client.app.state.components.nats.embedded_url
    worker = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once
        [str(Path(sys.executable).with_name("flexgrid")), "worker", "--kind", "echo"],
        env={**os.environ, "FLEXGRID_NATS_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert await _status(market, key, job_id, 60.0) == "completed"
    finally:
        worker.terminate()
        worker.wait(30)
    assert worker.returncode == 0  # SIGTERM is a clean stop
