"""The architecture and forwarding tests run the engines they need (clearing, the DSO's forwarding
check, market architectures) as a worker of their own, and the emulated market adapters as a
service of their own, both on the gateway's embedded nats-server (as external workers would)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from litestar.testing import AsyncTestClient

from adapters.balancing.emulator import EmulatedBalancingMarket
from adapters.service import serve_markets
from adapters.wholesale.emulator import EmulatedWholesaleMarket
from engines.fmct.clearing_engine import ClearingEngine
from engines.markets.engine import ArchitectureEngine
from engines.markets.forward_check_engine import ForwardCheckEngine
from engines.registry import Registry
from engines.runner import EngineRunner
from gateway.db.database import Database
from gateway.settings import Settings


@pytest.fixture
async def workers(client: AsyncTestClient) -> AsyncIterator[EngineRunner]:
    nc = await nats.connect(client.app.state.components.nats.embedded_url)
    runner = EngineRunner(
        nc,
        Registry([ClearingEngine(), ForwardCheckEngine(), ArchitectureEngine()]),
        in_process=True,
        ack_wait_s=60,
        fetch_timeout_s=0.5,
    )
    await runner.start()
    markets = await serve_markets(nc, EmulatedWholesaleMarket(), EmulatedBalancingMarket())
    try:
        yield runner
    finally:
        await markets.stop()
        await runner.stop(grace_s=1.0)
        await nc.close()


@pytest.fixture
async def db(client: AsyncTestClient, settings: Settings) -> AsyncIterator[Database]:
    """The test's own handle on the gateway's database: a second pool, as a second gateway
    replica on the same database would have."""
    database = Database(settings.database_url)
    try:
        yield database
    finally:
        await database.dispose()
