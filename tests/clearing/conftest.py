"""The clearing tests run the `fmct-clear` engine as a worker of its own (as an external worker
would), in threads of the test process, on the gateway's embedded nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext

from engines.fmct.clearing_engine import ClearingEngine
from engines.registry import Registry
from engines.runner import EngineRunner
from gateway.db.database import Database
from gateway.settings import Settings


@pytest.fixture
async def clearing_worker(client: AsyncTestClient) -> AsyncIterator[EngineRunner]:
    nc = await nats.connect(client.app.state.components.nats.embedded_url)
    runner = EngineRunner(
        nc, Registry([ClearingEngine()]), in_process=True, ack_wait_s=30, fetch_timeout_s=0.5
    )
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop(grace_s=1.0)
        await nc.close()


@pytest.fixture
async def db(client: AsyncTestClient, settings: Settings) -> AsyncIterator[Database]:
    """The test's own handle on the gateway's database (the app's engine lives on its loop)."""
    database = Database(settings.database_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def js(client: AsyncTestClient) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(client.app.state.components.nats.embedded_url)
    try:
        yield nc.jetstream(timeout=10)
    finally:
        await nc.close()
