"""Orders reach JetStream through the transactional outbox, once each, with Nats-Msg-Id."""

from __future__ import annotations

import asyncio

import msgspec
import nats
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from gateway.db.database import Database
from gateway.db.tables import outbox
from gateway.messages import subjects
from gateway.messages.events import OrderEvent
from tests.market import Market

pytestmark = pytest.mark.integration


async def _stream_events(url: str, zone_id: str, expected: int) -> list[tuple[str, OrderEvent]]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        sub = await js.subscribe(subjects.order_events(zone_id), ordered_consumer=True)
        events = []
        for _ in range(expected):
            msg = await sub.next_msg(timeout=10)
            msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
            events.append((msg_id, msgspec.json.decode(msg.data, type=OrderEvent)))
        with pytest.raises(nats.errors.TimeoutError):
            await sub.next_msg(timeout=0.5)
        return events
    finally:
        await nc.close()


async def test_orders_and_withdrawals_are_published_once(
    market: Market, client: AsyncTestClient
) -> None:
    await market.standard()
    link = client.app.state.components.nats
    url = link.embedded_url
    offer = await market.call(
        "POST", "/v1/flex-offers", market.keys["agg"], market.offer_body("session")
    )
    request = await market.call(
        "POST", "/v1/flex-requests", market.keys["dso"], market.request_body("session")
    )
    assert offer.status_code == request.status_code == 201
    withdrawn = await market.call(
        "POST", f"/v1/flex-offers/{offer.json()['id']}/withdraw", market.keys["agg"]
    )
    assert withdrawn.status_code == 200
    events = await _stream_events(url, market.ids["zone"], expected=3)
    ids = [msg_id for msg_id, _ in events]
    assert ids == [
        f"order.{offer.json()['id']}.stored",
        f"order.{request.json()['id']}.stored",
        f"order.{offer.json()['id']}.withdrawn",
    ]
    stored_offer = events[0][1]
    assert stored_offer.order.id == offer.json()["id"]  # type: ignore[union-attr]
    assert msgspec.to_builtins(stored_offer.order)["p_up_mw"] == offer.json()["p_up_mw"]  # type: ignore[union-attr]


async def test_relay_republish_is_deduplicated(
    market: Market, client: AsyncTestClient, database_url: str
) -> None:
    """A relay that crashed after publishing and before marking publishes again: one copy."""
    await market.standard()
    url = client.app.state.components.nats.embedded_url
    offer = await market.call(
        "POST", "/v1/flex-offers", market.keys["agg"], market.offer_body("session")
    )
    assert offer.status_code == 201
    await _stream_events(url, market.ids["zone"], expected=1)
    row_id = f"order.{offer.json()['id']}.stored"
    # The app runs on its own event loop: the test talks to the database with its own engine.
    db = Database(database_url)
    try:
        async with db.begin() as conn:  # as if the mark after the publish never happened
            await conn.execute(update(outbox).where(outbox.c.id == row_id).values(sent_at=None))
        for _ in range(100):  # the relay polls at least every 0.5 s
            async with db.connect() as conn:
                sent = (
                    await conn.execute(select(outbox.c.sent_at).where(outbox.c.id == row_id))
                ).scalar_one()
            if sent is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        await db.dispose()
    assert sent is not None
    events = await _stream_events(url, market.ids["zone"], expected=1)
    assert events[0][0] == row_id
