"""Every market port, parametrized over its implementations: the in-process emulator, and the NATS
client talking to the emulator served on a real nats-server (started on a free port)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest

from adapters.balancing.emulator import EmulatedBalancingMarket
from adapters.base import BalancingMarket, WholesaleMarket
from adapters.client import NatsBalancingMarket, NatsWholesaleMarket
from adapters.service import serve_markets
from adapters.wholesale.emulator import EmulatedWholesaleMarket
from gateway.messaging.embedded import NatsServer


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = NatsServer(store_dir=Path(tmp_path_factory.mktemp("nats")))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=["emulator", "nats"])
async def markets(
    request: pytest.FixtureRequest, nats_url: str
) -> AsyncIterator[tuple[WholesaleMarket, BalancingMarket]]:
    emulated = (EmulatedWholesaleMarket(), EmulatedBalancingMarket())
    if request.param == "emulator":
        yield emulated
        return
    server_side = await nats.connect(nats_url)
    client_side = await nats.connect(nats_url)
    service = await serve_markets(server_side, *emulated)
    await client_side.request("$SRV.PING.flexgrid-market-adapters", b"", timeout=5)
    try:
        yield NatsWholesaleMarket(client_side), NatsBalancingMarket(client_side)
    finally:
        await service.stop()
        await client_side.close()
        await server_side.close()


@pytest.fixture
def wholesale(markets: tuple[WholesaleMarket, BalancingMarket]) -> WholesaleMarket:
    return markets[0]


@pytest.fixture
def balancing(markets: tuple[WholesaleMarket, BalancingMarket]) -> BalancingMarket:
    return markets[1]
