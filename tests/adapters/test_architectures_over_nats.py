"""The market architectures asking the wholesale market through its port: the wholesale adapter
served on a real nats-server (the blocking client an engine run uses) gives the same result as the
emulator in process, and an adapter that is not there is a MarketUnavailable naming the subject."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.micro.service import Service

from adapters.balancing.emulator import EmulatedBalancingMarket
from adapters.blocking import BlockingWholesaleMarket
from adapters.errors import MarketUnavailable
from adapters.service import serve_markets
from adapters.wholesale.emulator import EmulatedWholesaleMarket
from engines.context import NatsEndpoint
from engines.markets.architectures import run_architecture
from engines.markets.day_ahead import period_auction
from engines.markets.outcome import ArchitectureResult
from engines.markets.scenario import Scenario
from engines.markets.wholesale_port import CountedClearing, DayAheadClearing, InProcessDayAhead
from gateway.messages import subjects

pytestmark = pytest.mark.integration

# As tests/adapters/test_architectures.py: period 19 converges by price adjustment, in period 21
# the bracket closes on an offer's price (the recovery path asks the TSO's cost curve).
PERIODS = [19, 21]
NAMES = ("reactive", "proactive", "iterative", "central")


def _play(market: DayAheadClearing) -> tuple[dict[str, ArchitectureResult], int]:
    counted = CountedClearing(market)
    scenario = Scenario(steps=60)
    return {n: run_architecture(n, scenario, PERIODS, counted) for n in NAMES}, counted.requests


@pytest.fixture
async def adapter(nats_url: str) -> AsyncIterator[Service]:
    nc = await nats.connect(nats_url)
    service = await serve_markets(nc, EmulatedWholesaleMarket(), EmulatedBalancingMarket())
    try:
        yield service
    finally:
        await service.stop()
        await nc.close()


def _over_nats(nats_url: str) -> tuple[dict[str, ArchitectureResult], int]:
    # As in an engine run: a worker thread, no event loop of its own; the client brings one.
    with BlockingWholesaleMarket(NatsEndpoint(servers=(nats_url,))) as market:
        return _play(market)


async def test_the_adapter_gives_the_in_process_result(adapter: Service, nats_url: str) -> None:
    local, local_requests = await asyncio.to_thread(_play, InProcessDayAhead())
    remote, remote_requests = await asyncio.to_thread(_over_nats, nats_url)
    assert remote_requests == local_requests > len(NAMES) * len(PERIODS)
    (endpoint,) = [e for e in adapter.stats().endpoints if e.subject == subjects.DAY_AHEAD_CLEAR]
    assert endpoint.num_requests == remote_requests
    assert endpoint.num_errors == 0
    for name in NAMES:
        mine, theirs = remote[name], local[name]
        assert mine.status == theirs.status == "optimal", (mine.message, theirs.message)
        assert mine.welfare_eur == pytest.approx(theirs.welfare_eur, abs=1e-6)
        assert mine.iterations == theirs.iterations
        for p, q in zip(mine.periods, theirs.periods, strict=True):
            assert p.tlmp_eur_per_mwh == pytest.approx(q.tlmp_eur_per_mwh, abs=1e-6)
            assert p.coupling_mw == pytest.approx(q.coupling_mw, abs=1e-6)
            assert p.payments_eur == pytest.approx(q.payments_eur, abs=1e-6)
            assert [s.tlmp_back_eur_per_mwh for s in p.trace] == pytest.approx(
                [s.tlmp_back_eur_per_mwh for s in q.trace], abs=1e-6
            )
    assert any(p.recovered for p in remote["iterative"].periods)


def _ask_nobody(nats_url: str) -> None:
    scenario = Scenario(steps=4)
    auction = period_auction(scenario, 19, 3.0, scenario.generators, ["29"])
    with BlockingWholesaleMarket(NatsEndpoint(servers=(nats_url,)), timeout_s=2.0) as market:
        market.clear(auction)


async def test_no_adapter_is_unavailable_naming_the_subject(nats_url: str) -> None:
    with pytest.raises(MarketUnavailable) as caught:
        await asyncio.to_thread(_ask_nobody, nats_url)
    problem = caught.value.problem
    assert problem.status == 503
    assert problem.detail is not None
    assert subjects.DAY_AHEAD_CLEAR in problem.detail
    assert "no wholesale adapter is served there" in problem.detail


def test_no_nats_server_is_unavailable_naming_the_servers() -> None:
    endpoint = NatsEndpoint(servers=("nats://127.0.0.1:1",))
    with pytest.raises(MarketUnavailable) as caught:
        BlockingWholesaleMarket(endpoint, connect_timeout_s=0.5).open()
    assert "cannot connect to NATS at nats://127.0.0.1:1" in str(caught.value)
    assert subjects.DAY_AHEAD_CLEAR in str(caught.value)
