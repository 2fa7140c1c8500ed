"""A market-architecture job asks the wholesale market through the adapter served over NATS, end to
end: the gateway's embedded nats-server, an engine worker given the host's context (NATS, and that
the market adapters are served, as `flexgrid serve` in its in-process mode does), REST to start and
read the run. The adapter's own statistics count the auctions the run reports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from litestar.testing import AsyncTestClient
from nats.micro.service import Service

from adapters.balancing.emulator import EmulatedBalancingMarket
from adapters.service import serve_markets
from adapters.wholesale.emulator import EmulatedWholesaleMarket
from engines.context import EngineContext, NatsEndpoint
from engines.markets.engine import ArchitectureEngine
from engines.registry import Registry
from engines.runner import EngineRunner
from gateway.messages import subjects
from tests.market import Market

pytestmark = pytest.mark.integration
SCENARIO = {"first_period": 19, "periods": 1, "generator_steps": 60}


@pytest.fixture
async def nats_url(client: AsyncTestClient) -> str:
    url = client.app.state.components.nats.embedded_url
    assert isinstance(url, str)
    return url


async def _worker(url: str, max_attempts: int) -> tuple[nats.NATS, EngineRunner]:
    context = EngineContext(nats=NatsEndpoint(servers=(url,)), market_adapters=True)
    nc = await nats.connect(url)
    runner = EngineRunner(
        nc,
        Registry([ArchitectureEngine()]).with_context(context),
        in_process=True,
        ack_wait_s=60,
        fetch_timeout_s=0.5,
        max_attempts=max_attempts,
    )
    await runner.start()
    return nc, runner


@pytest.fixture
async def adapter(nats_url: str) -> AsyncIterator[Service]:
    nc, runner = await _worker(nats_url, max_attempts=3)
    markets = await serve_markets(nc, EmulatedWholesaleMarket(), EmulatedBalancingMarket())
    try:
        yield markets
    finally:
        await markets.stop()
        await runner.stop(grace_s=1.0)
        await nc.close()


@pytest.fixture
async def no_adapter(nats_url: str) -> AsyncIterator[None]:
    nc, runner = await _worker(nats_url, max_attempts=1)
    try:
        yield
    finally:
        await runner.stop(grace_s=1.0)
        await nc.close()


async def _run(market: Market, body: dict[str, Any], timeout_s: float = 60.0) -> dict[str, Any]:
    started = await market.call("POST", "/v1/market-architectures/runs", market.fmo_key, body)
    assert started.status_code == 202, started.text
    for _ in range(int(timeout_s / 0.1)):
        run = await market.call(
            "GET", f"/v1/market-architectures/runs/{started.json()['id']}", market.fmo_key
        )
        if run.json()["status"] in ("completed", "failed", "cancelled"):
            return dict(run.json())
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {started.json()['id']} did not finish in {timeout_s} s")


def _answered(service: Service) -> int:
    (day_ahead,) = [e for e in service.stats().endpoints if e.subject == subjects.DAY_AHEAD_CLEAR]
    return day_ahead.num_requests


async def test_the_iterative_market_asks_the_adapter_by_default(
    market: Market, adapter: Service
) -> None:
    run = await _run(market, {"architecture": "iterative", "scenario": SCENARIO})
    assert run["status"] == "completed", run
    (result,) = run["results"]
    assert result["status"] == "optimal"
    assert run["wholesale"] == "adapter"
    # the base TLMP, then one auction per iteration: every one of them answered by the adapter
    assert run["wholesale_requests"] == result["iterations"] + 1 >= 3
    assert _answered(adapter) == run["wholesale_requests"]

    local = await _run(
        market, {"architecture": "iterative", "scenario": SCENARIO, "wholesale": "in-process"}
    )
    assert local["status"] == "completed", local
    assert (local["wholesale"], local["wholesale_requests"]) == (
        "in-process",
        run["wholesale_requests"],
    )
    assert _answered(adapter) == run["wholesale_requests"]  # the adapter was not asked again
    assert local["results"][0]["welfare_eur"] == pytest.approx(result["welfare_eur"], abs=1e-6)


@pytest.mark.usefixtures("no_adapter")
async def test_without_an_adapter_the_job_fails_naming_the_subject(market: Market) -> None:
    run = await _run(market, {"architecture": "reactive", "scenario": SCENARIO})
    assert run["status"] == "failed", run
    result = await market.call("GET", f"/v1/jobs/{run['id']}/result", market.fmo_key)
    problem = result.json()["problem"]
    assert problem["status"] == 500
    assert "MarketUnavailable" in problem["detail"]
    assert subjects.DAY_AHEAD_CLEAR in problem["detail"]
    assert "no wholesale adapter is served there" in problem["detail"]
