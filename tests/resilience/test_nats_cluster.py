"""A three-node nats-server cluster with replicated (R3) streams loses a node, the order stream's
leader, during order intake: no order lost, none duplicated.

A real gateway process is connected to all three nodes; clients submit offers over REST and
retry unanswered ones with the same Idempotency-Key. A third of the way through, the node that
leads ATP_ORDERS is killed with SIGKILL. The relay's publishes fail while the remaining two
elect a new leader; the rows stay in the outbox and go out after the election, deduplicated by
their Nats-Msg-Id. The longest gap between consecutive stored order events is printed: it is
the outage a consumer of the order stream would see.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from pathlib import Path

import httpx
import nats
import pytest
from sqlalchemy import select

from gateway.db.database import Database
from gateway.db.tables import flex_order
from gateway.messages import subjects
from gateway.messaging.embedded import cluster
from gateway.settings import Settings
from tests.resilience.harness import GatewayProcess, make_book, order_id, submit

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ORDERS = 900
CONCURRENCY = 16


async def _leader(urls: list[str], stream: str) -> str:
    nc = await nats.connect(urls)
    try:
        for _ in range(100):
            try:
                info = await nc.jetstream(timeout=10).stream_info(stream)
            except nats.errors.TimeoutError:
                continue
            if info.cluster is not None and info.cluster.leader:
                return str(info.cluster.leader)
            await asyncio.sleep(0.1)
        raise AssertionError(f"stream {stream} has no leader")
    finally:
        await nc.close()


async def _stored_events(urls: list[str], zone_id: str) -> list[tuple[str, float]]:
    """(Nats-Msg-Id, stored-at seconds) of every order event of the zone, in stream order."""
    nc = await nats.connect(urls)
    try:
        sub = await nc.jetstream(timeout=10).subscribe(
            subjects.order_events(zone_id), ordered_consumer=True
        )
        events: list[tuple[str, float]] = []
        while True:
            try:
                msg = await sub.next_msg(timeout=2.0)
            except nats.errors.TimeoutError:
                return events
            stamp = msg.metadata.timestamp.timestamp()
            events.append(((msg.headers or {}).get("Nats-Msg-Id", ""), stamp))
    finally:
        await nc.close()


async def test_killing_the_stream_leader_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    nodes = cluster(tmp_path / "nats", 3)
    for node in nodes:
        node.start()
    urls = [node.url for node in nodes]
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'flexgrid.db'}"
    gateway = GatewayProcess(database_url, ",".join(urls), tmp_path, replicas=3)
    acknowledged: dict[int, str] = {}
    killed = ""
    try:
        await gateway.start(timeout_s=60)
        book = await make_book(Settings(database_url=database_url, data_dir=tmp_path), gateway.base)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(ORDERS):
            queue.put_nowait(index)
        rng = random.Random(20261201)
        third_done = asyncio.Event()

        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=CONCURRENCY)) as client:

            async def client_loop() -> None:
                while not queue.empty():
                    index = queue.get_nowait()
                    for _attempt in range(60):
                        stored = await submit(gateway.base, book, index, client)
                        if stored is not None:
                            acknowledged[index] = stored
                            if len(acknowledged) >= ORDERS // 3:
                                third_done.set()
                            break
                        await asyncio.sleep(0.2 + rng.random() * 0.3)

            clients = [asyncio.create_task(client_loop()) for _ in range(CONCURRENCY)]
            await third_done.wait()
            killed = await _leader(urls, subjects.ORDERS_STREAM)
            victim = next(node for node in nodes if node.name == killed)
            victim.kill()
            await asyncio.gather(*clients)
        survivors = [node.url for node in nodes if node.name != killed]
        # Let the relay drain what the election held back.
        db = Database(database_url)
        try:
            events: list[tuple[str, float]] = []
            for _ in range(120):
                try:
                    events = await _stored_events(survivors, book.zone_id)
                except nats.errors.TimeoutError:
                    continue  # the JetStream API answers again once the meta leader is elected
                if len(events) >= len(acknowledged):
                    break
                await asyncio.sleep(0.5)
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
        new_leader = await _leader(survivors, subjects.ORDERS_STREAM)
    finally:
        gateway.stop()
        for node in nodes:
            node.stop()
    published = [order_id(msg_id) for msg_id, _ in events]
    stamps = [stamp for _, stamp in events]
    gap = max((b - a for a, b in itertools.pairwise(stamps)), default=0.0)
    print(
        f"\n3-node cluster, R3 streams: killed {killed} (leader of {subjects.ORDERS_STREAM}), "
        f"new leader {new_leader}; {len(acknowledged)} orders acknowledged, {len(stored_ids)} "
        f"stored, {len(published)} published; longest publish gap {gap:.3f} s"
    )
    assert len(acknowledged) == ORDERS
    assert sorted(stored_ids) == sorted(set(acknowledged.values()))  # nothing lost, none twice
    assert sorted(published) == sorted(stored_ids)  # each published exactly once
    assert new_leader != killed
