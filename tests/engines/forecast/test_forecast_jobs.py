"""The `forecast` kind over REST: every market role may run it (here a DSO measuring delivered
flexibility with a settlement baseline); the job completes in the gateway's in-process engines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from engines.forecast.schema import BaselineMethod, BaselineTask, Event, ForecastJob, Series
from gateway.core import create_app
from gateway.settings import Settings
from tests.market import Market, MutableClock

pytestmark = pytest.mark.integration

START = datetime(2025, 6, 2, tzinfo=UTC)
# Two days of 15-minute readings at 2 MW, then an activation that cuts 0.5 MW for an hour.
VALUES = [2.0] * (96 + 48) + [1.5] * 4 + [2.0] * 44
JOB = ForecastJob(
    task=BaselineTask(
        meter=Series(id="meter-1", kind="load", start=START, resolution_minutes=15, values=VALUES),
        events=[Event(id="ev", start=START + timedelta(hours=36), end=START + timedelta(hours=37))],
        method=BaselineMethod(kind="meter_before_meter_after"),
    )
)


@pytest.fixture
async def client(settings: Settings, clock: MutableClock) -> AsyncIterator[AsyncTestClient]:
    in_process = msgspec.structs.replace(settings, engines="in-process")
    async with AsyncTestClient(create_app(in_process, clock=clock)) as test_client:
        yield test_client


async def test_a_dso_measures_delivered_flexibility_as_a_job(market: Market) -> None:
    await market.participant("dso", "dso")
    key = market.keys["dso"]
    body = {"kind": "forecast", "input": msgspec.to_builtins(JOB)}
    submitted = await market.call("POST", "/v1/jobs", key, body)
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    for _ in range(400):
        job = (await market.call("GET", f"/v1/jobs/{job_id}", key)).json()
        if job["status"] in ("completed", "failed"):
            break
        await asyncio.sleep(0.05)
    assert job["status"] == "completed", job
    output = (await market.call("GET", f"/v1/jobs/{job_id}/result", key)).json()["output"]
    (event,) = output["result"]["events"]
    # Baseline 2 MW held flat, metered 1.5 MW for four quarter-hours: 0.5 MW x 1 h = 0.5 MWh.
    assert event["baseline"] == [2.0] * 4
    assert event["delivered_energy"] == pytest.approx(0.5)
