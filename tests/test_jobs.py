"""Jobs over REST and NATS: 202 + Location, status from engine events, result, SSE, cancel.

The engine side here is a real NATS client doing what an engine worker does (pull the job
from its work queue, publish events to JetStream, ack), so the gateway side is tested against
a real nats-server without depending on a particular engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
import nats
import pytest
from litestar.testing import AsyncTestClient

from gateway.core import create_app
from gateway.messages import subjects
from gateway.messages.events import JobCompleted, JobRequest, JobRunning
from gateway.settings import Settings
from tests.market import Market, MutableClock

pytestmark = pytest.mark.integration
KIND = "test-echo"


@pytest.fixture
async def client(settings: Settings, clock: MutableClock) -> AsyncIterator[AsyncTestClient]:
    app = create_app(settings, clock=clock, engine_kinds=lambda: frozenset({KIND}))
    async with AsyncTestClient(app) as test_client:
        yield test_client


async def _echo_worker(url: str, jobs: int) -> None:
    """Takes `jobs` jobs from the queue and completes each with its input as output."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            subjects.job_queue(KIND), durable="echo", stream=subjects.JOBS_STREAM
        )
        done = 0
        while done < jobs:
            for msg in await sub.fetch(1, timeout=10):
                request = msgspec.json.decode(msg.data, type=JobRequest)
                now = datetime.now(UTC)
                for event in (
                    JobRunning(job_id=request.job_id, at=now, progress=0.5, stage="echoing"),
                    JobCompleted(job_id=request.job_id, at=now, output=request.input),
                ):
                    await js.publish(
                        subjects.job_events(request.job_id),
                        msgspec.json.encode(event),
                        headers={"Nats-Msg-Id": f"{request.job_id}.{type(event).__name__}"},
                    )
                await msg.ack()
                done += 1
    finally:
        await nc.close()


async def _wait_status(market: Market, key: str, job_id: str, status: str) -> dict[str, object]:
    for _ in range(200):
        job = (await market.call("GET", f"/v1/jobs/{job_id}", key)).json()
        if job["status"] == status:
            return dict(job)
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never became {status}: {job}")


async def test_job_runs_to_completion_with_events(market: Market, client: AsyncTestClient) -> None:
    await market.participant("dso", "dso")
    url = client.app.state.components.nats.embedded_url
    worker = asyncio.create_task(_echo_worker(url, jobs=1))
    submitted = await market.call(
        "POST",
        "/v1/jobs",
        market.keys["dso"],
        {"kind": KIND, "input": {"zone": "z1", "periods": 24}},
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    assert submitted.headers["location"] == f"/v1/jobs/{job_id}"
    assert submitted.json()["status"] == "accepted"
    await asyncio.wait_for(worker, 20)
    job = await _wait_status(market, market.keys["dso"], job_id, "completed")
    assert job["progress"] == 1.0
    assert job["result_url"] == f"/v1/jobs/{job_id}/result"
    result = await market.call("GET", f"/v1/jobs/{job_id}/result", market.keys["dso"])
    assert result.json() == {
        "job_id": job_id,
        "status": "completed",
        "output": {"zone": "z1", "periods": 24},
    }
    stream = await market.call("GET", f"/v1/jobs/{job_id}/events", market.keys["dso"])
    assert stream.headers["content-type"].startswith("text/event-stream")
    kinds = [
        line.split(":", 1)[1].strip()
        for line in stream.text.splitlines()
        if line.startswith("event:")
    ]
    assert kinds == ["accepted", "running", "completed"]
    await market.participant("other", "dso")
    hidden = await market.call("GET", f"/v1/jobs/{job_id}", market.keys["other"])
    assert hidden.status_code == 404
    assert (await market.call("GET", f"/v1/jobs/{job_id}", market.fmo_key)).status_code == 200


async def test_cancel_before_it_runs(market: Market) -> None:
    await market.participant("agg", "aggregator")
    submitted = await market.call(
        "POST", "/v1/jobs", market.keys["agg"], {"kind": KIND, "input": {}}
    )
    job_id = submitted.json()["id"]
    early = await market.call("GET", f"/v1/jobs/{job_id}/result", market.keys["agg"])
    assert early.status_code == 409
    cancelled = await market.call("DELETE", f"/v1/jobs/{job_id}", market.keys["agg"])
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = await market.call("DELETE", f"/v1/jobs/{job_id}", market.keys["agg"])
    assert again.status_code == 409
    result = await market.call("GET", f"/v1/jobs/{job_id}/result", market.keys["agg"])
    assert result.json()["status"] == "cancelled"


async def test_unknown_engine_kind_is_422(market: Market) -> None:
    await market.participant("dso", "dso")
    response = await market.call(
        "POST", "/v1/jobs", market.keys["dso"], {"kind": "no-such-engine", "input": {}}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "$.kind"
