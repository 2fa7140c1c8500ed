"""The gateway killed with SIGKILL at random moments of order intake, 50 times over.

Each cycle starts a real gateway process, fires orders at it, kills it (-9) while orders are
being committed and published (or lets it kill itself right after a relay publish, through
the `relay.after_publish` failpoint), and starts the next one. Killed between commit and publish, an
order's outbox row is published by the next gateway's relay; killed after publishing and
before marking the row sent, the republish is dropped by JetStream's Nats-Msg-Id dedup.
Clients retry unanswered orders with the same Idempotency-Key, as a partner platform would.
At the end: every order is stored once and published once, and both crash windows were hit.
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from gateway.db.database import Database
from gateway.db.tables import flex_order, outbox
from gateway.messages import subjects
from gateway.messaging.embedded import NatsServer
from gateway.settings import Settings
from tests.resilience.harness import GatewayProcess, make_book, order_id, stream_ids, submit

# One backend: PostgreSQL where the suite has it (production's), SQLite otherwise; 50 cycles
# of real process starts take minutes, twice would double them for little more coverage.
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]
CYCLES = 50
ORDERS_PER_CYCLE = 30


async def _unsent_split(database_url: str, nats_url: str, zone_id: str) -> tuple[int, int]:
    """Unsent outbox rows at a crash: (never published, published but not marked)."""
    db = Database(database_url)
    try:
        async with db.connect() as conn:
            unsent = set(
                (
                    await conn.execute(
                        select(outbox.c.id).where(
                            outbox.c.sent_at.is_(None),
                            outbox.c.subject == subjects.order_events(zone_id),
                        )
                    )
                ).scalars()
            )
    finally:
        await db.dispose()
    published = set(await stream_ids(nats_url, zone_id))
    return len(unsent - published), len(unsent & published)


@pytest.fixture
def crash_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if os.environ.get("FLEXGRID_TEST_DATABASE_URL"):
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'flexgrid.db'}"


async def test_gateway_kill9_loses_and_duplicates_nothing(
    tmp_path: Path, crash_database_url: str
) -> None:
    database_url = crash_database_url
    server = NatsServer(store_dir=tmp_path / "nats")
    server.start()
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    rng = random.Random(20261122)
    acknowledged: dict[int, str] = {}
    windows = [0, 0]
    try:
        first = GatewayProcess(database_url, server.url, tmp_path)
        await first.start()
        book = await make_book(settings, first.base)
        first.stop()
        next_index = 0
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=32)) as client:
            for cycle in range(CYCLES):
                # Every other gateway dies by its own hand right after a relay publish and
                # before the mark: the second crash window, which timing alone rarely hits.
                failpoint = "relay.after_publish" if cycle % 2 else None
                gateway = GatewayProcess(database_url, server.url, tmp_path, failpoint=failpoint)
                await gateway.start(wait_healthy=failpoint is None)
                pending = [i for i in range(next_index) if i not in acknowledged]
                batch = pending + list(range(next_index, next_index + ORDERS_PER_CYCLE))
                next_index += ORDERS_PER_CYCLE
                tasks = {
                    i: asyncio.create_task(submit(gateway.base, book, i, client)) for i in batch
                }
                # Kill once a random number of this cycle's orders has been answered, then a
                # few random milliseconds more: whatever the machine's load, the kill lands
                # while orders are being committed and published (a fixed delay may land
                # before a slow start has taken any).
                target = rng.randint(1, max(1, len(batch) // 2))
                answered, waiting = 0, set(tasks.values())
                deadline = asyncio.get_running_loop().time() + 30
                while answered < target and waiting:
                    left = deadline - asyncio.get_running_loop().time()
                    if left <= 0:
                        break
                    done, waiting = await asyncio.wait(
                        waiting, timeout=left, return_when=asyncio.FIRST_COMPLETED
                    )
                    answered += sum(1 for task in done if task.result() is not None)
                await asyncio.sleep(rng.uniform(0.0, 0.03))
                gateway.kill()
                for index, task in tasks.items():
                    stored = await task
                    if stored is not None:
                        acknowledged[index] = stored
                never, unmarked = await _unsent_split(database_url, server.url, book.zone_id)
                windows[0] += never
                windows[1] += unmarked
            # A last gateway lives: it publishes what is left and answers every retry.
            final = GatewayProcess(database_url, server.url, tmp_path)
            await final.start()
            for index in range(next_index):
                if index not in acknowledged:
                    response = await client.post(
                        f"{final.base}/v1/flex-offers",
                        json=book.offer(index),
                        headers={"X-API-Key": book.agg_key, "Idempotency-Key": f"order-{index}"},
                        timeout=30,
                    )
                    assert response.status_code == 201, (index, response.text)
                    acknowledged[index] = str(response.json()["id"])
            for _ in range(200):
                never, unmarked = await _unsent_split(database_url, server.url, book.zone_id)
                if never == unmarked == 0:
                    break
                await asyncio.sleep(0.1)
            final.stop()
        db = Database(database_url)
        try:
            async with db.connect() as conn:
                stored_ids = list(
                    (
                        await conn.execute(
                            select(flex_order.c.id).where(
                                flex_order.c.session_id == book.session_id
                            )
                        )
                    ).scalars()
                )
        finally:
            await db.dispose()
        published = [order_id(i) for i in await stream_ids(server.url, book.zone_id)]
    finally:
        server.stop()
    print(
        f"\n{CYCLES} kill -9 cycles, {next_index} orders: {len(stored_ids)} stored, "
        f"{len(published)} published; crash windows hit: {windows[0]} rows committed and not "
        f"published, {windows[1]} rows published and not marked"
    )
    assert len(acknowledged) == next_index
    assert sorted(stored_ids) == sorted(set(acknowledged.values()))  # nothing lost, none twice
    assert sorted(published) == sorted(stored_ids)  # published once each
    assert windows[0] > 0, "no kill landed between commit and publish"
    assert windows[1] > 0, "no kill landed between publish and mark"
