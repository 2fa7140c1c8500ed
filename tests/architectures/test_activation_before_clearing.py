"""No local activation before the session is cleared: while it is open (before gate closure) and
while it is closed with its clearing still running, POST /v1/flex-offers/{id}/activations is a
409 problem naming the session, its state and when activation becomes possible; nothing is stored
(no ledger row, no event in the outbox).

No engine worker runs here (the test settings serve none), so a closed session stays closed: its
clearing job waits in the queue, as it would while a long clearing runs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from gateway.db.database import Database
from gateway.db.tables import offer_activation, outbox
from gateway.messages import subjects
from tests.architectures._session import book
from tests.market import Market

pytestmark = pytest.mark.integration
BODY = {"period_index": 18, "direction": "up", "p_mw": 0.2}


async def _session(market: Market, sid: str) -> dict[str, Any]:
    got = await market.call("GET", f"/v1/market-sessions/{sid}", market.fmo_key)
    assert got.status_code == 200, got.text
    return dict(got.json())


async def test_activation_waits_for_the_clearing(market: Market, db: Database) -> None:
    sid, offers = await book(market)
    session = await _session(market, sid)
    assert session["state"] == "open"

    early = await market.call(
        "POST", f"/v1/flex-offers/{offers[0]}/activations", market.keys["dso"], BODY
    )
    assert early.status_code == 409, early.text
    assert early.headers["content-type"].startswith("application/problem+json")
    detail = early.json()["detail"]
    assert f"market session {sid} is open" in detail
    assert session["gate_closure_at"].replace("Z", "+00:00") in detail.replace("Z", "+00:00")

    market.clock.advance(hours=2)  # past gate closure: the sweep closes it, the clearing waits
    for _ in range(100):
        session = await _session(market, sid)
        if session["state"] != "open":
            break
        await asyncio.sleep(0.05)
    assert session["state"] == "closed", session
    closed = await market.call(
        "POST", f"/v1/flex-offers/{offers[1]}/activations", market.keys["dso"], BODY
    )
    assert closed.status_code == 409, closed.text
    assert closed.headers["content-type"].startswith("application/problem+json")
    detail = closed.json()["detail"]
    assert f"market session {sid} is closed" in detail
    assert session["clearing_job_id"] in detail
    assert "once it is cleared" in detail
    reserve = await market.call(
        "POST",
        f"/v1/flex-offers/{offers[1]}/activations",
        market.keys["dso"],
        {**BODY, "reserve_only": True},
    )
    assert reserve.status_code == 409, reserve.text

    async with db.connect() as conn:
        rows = (
            await conn.execute(
                select(offer_activation.c.offer_id).where(offer_activation.c.session_id == sid)
            )
        ).all()
        events = (
            await conn.execute(
                select(outbox.c.id).where(outbox.c.subject == subjects.activation_events(sid))
            )
        ).all()
    assert rows == []
    assert events == []
