"""FST and forecast kinds as jobs: through a real nats-server and the EngineRunner (a worker
process), and over REST with the kind's role rules (ESP runs fst-*, others get 403)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from engines.fst.schema import ScheduleResult
from engines.registry import Registry
from engines.runner import EngineRunner
from gateway.core import create_app
from gateway.messages.events import JobCompleted
from gateway.settings import Settings
from tests.engines._runtime import jobs_left, nats_link, submit, wait_terminal
from tests.market import Market, MutableClock

pytestmark = pytest.mark.integration

# Two price levels, 1 MW / 2 MWh, 90 % each way, empty at start: profit (80*0.81 - 20) * 2/0.9.
ARBITRAGE: dict[str, Any] = {
    "portfolio": {
        "storages": [
            {
                "id": "b",
                "bus": "1",
                "power_mw": 1.0,
                "energy_mwh": 2.0,
                "eta_charge": 0.9,
                "eta_discharge": 0.9,
            }
        ]
    },
    "prices": {"day_ahead_eur_per_mwh": [20.0] * 4 + [80.0] * 4},
    "options": {"markets": ["day_ahead"]},
}
EXPECTED = (80.0 * 0.81 - 20.0) * 2.0 / 0.9


def test_the_kinds_load_from_the_entry_points() -> None:
    kinds = ["forecast", "fst-schedule", "fst-bidding", "fst-sizing"]
    assert Registry.from_entry_points(kinds).kinds() == sorted(kinds)


async def test_fst_schedule_job_through_nats_and_a_worker_process(tmp_path: Path) -> None:
    async with nats_link(tmp_path) as (_, nc, js):
        runner = EngineRunner(nc, Registry.from_entry_points(["fst-schedule"]), ack_wait_s=30)
        await runner.start()
        try:
            job = await submit(js, "fst-schedule", ARBITRAGE)
            done = await wait_terminal(js, job, timeout_s=90)
        finally:
            await runner.stop()
        assert await jobs_left(js) == 0
    assert isinstance(done, JobCompleted)
    result = msgspec.json.decode(done.output, type=ScheduleResult)
    assert result.status == "optimal"
    assert result.profit_eur == pytest.approx(EXPECTED, rel=1e-7)
    assert {b.market for b in result.bids} == {"day_ahead"}


@pytest.fixture
async def client(settings: Settings, clock: MutableClock) -> AsyncIterator[AsyncTestClient]:
    in_process = msgspec.structs.replace(settings, engines="in-process")
    async with AsyncTestClient(create_app(in_process, clock=clock)) as test_client:
        yield test_client


async def test_esp_runs_fst_schedule_over_rest_and_others_are_refused(market: Market) -> None:
    await market.participant("esp", "esp")
    await market.participant("agg", "aggregator")
    refused = await market.call(
        "POST", "/v1/jobs", market.keys["agg"], {"kind": "fst-schedule", "input": ARBITRAGE}
    )
    assert refused.status_code == 403, refused.text
    key = market.keys["esp"]
    submitted = await market.call(
        "POST", "/v1/jobs", key, {"kind": "fst-schedule", "input": ARBITRAGE}
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    for _ in range(600):
        job = (await market.call("GET", f"/v1/jobs/{job_id}", key)).json()
        if job["status"] in ("completed", "failed"):
            break
        await asyncio.sleep(0.05)
    assert job["status"] == "completed", job
    result = (await market.call("GET", f"/v1/jobs/{job_id}/result", key)).json()
    assert result["output"]["status"] == "optimal"
    assert result["output"]["profit_eur"] == pytest.approx(EXPECTED, rel=1e-7)
