"""A cleared CIGRE MV session for the forwarding tests: the demo's book (two DSO requests, three
offers) plus a large down offer, cleared by `fmct-clear`; and waiting for a forwarding to settle."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tests.clearing._market import (
    Book,
    cigre_zone,
    day_after_tomorrow,
    evening,
    open_book,
    wait_decided,
)
from tests.market import Market

BIG_DOWN_MW = 3.0  # a 3 MW load increase on the feeder the evening peak already loads
OFFERS = 8
PERIODS = (17, 18, 19, 20)


BIG_DOWN_OFFER = {
    "node_mrid": "cigre-mv-bus-5",
    "p_down_mw": BIG_DOWN_MW,
    "price_p_down_eur_per_mwh": 15.0,
}


async def cleared(market: Market, big_offer: dict[str, Any] = BIG_DOWN_OFFER) -> tuple[Book, str]:
    """The cleared book and the id of the big offer (agg; by default the down offer at bus 5)."""
    for alias, role in (("dso", "dso"), ("agg", "aggregator"), ("esp", "esp"), ("tso", "tso")):
        await market.participant(alias, role)
    zone = await cigre_zone(market, "dso")
    book = await open_book(market, zone, upstream_price=60.0)
    gate = market.clock() + timedelta(hours=1)
    big = await market.call(
        "POST",
        "/v1/flex-offers",
        market.keys["agg"],
        {
            "session_id": book.session_id,
            **big_offer,
            "delivery_windows": [evening(book.day)],
            "valid_until": (gate + timedelta(hours=1)).isoformat(),
        },
    )
    assert big.status_code == 201, big.text
    market.clock.advance(hours=2)
    session = await wait_decided(market, book.session_id, timeout_s=60)
    assert session["state"] == "cleared", session
    return book, str(big.json()["id"])


async def settled(market: Market, session_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
    for _ in range(int(timeout_s / 0.1)):
        got = await market.call(
            "GET", f"/v1/market-sessions/{session_id}/forwarding", market.fmo_key
        )
        assert got.status_code == 200, got.text
        if got.json()["state"] in ("settled", "failed"):
            return dict(got.json())
        await asyncio.sleep(0.1)
    raise AssertionError(f"forwarding of {session_id} did not settle: {got.text}")


async def book(market: Market) -> tuple[str, list[str]]:
    """An open CIGRE MV session without requests and OFFERS small up offers for the evening."""
    await market.participant("dso", "dso")
    await market.participant("agg", "aggregator")
    zone = await cigre_zone(market, "dso")
    day = day_after_tomorrow(market.clock())
    gate = market.clock() + timedelta(hours=1)
    session = await market.call("POST", "/v1/market-sessions", market.fmo_key, {
        "zone_id": zone, "name": "race",
        "delivery": {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat(),
                     "resolution_minutes": 60},
        "gate_closure_at": gate.isoformat(), "upstream_price_eur_per_mwh": 60.0,
    })  # fmt: skip
    assert session.status_code == 201, session.text
    sid = session.json()["id"]
    offers = []
    for k in range(OFFERS):
        created = await market.call("POST", "/v1/flex-offers", market.keys["agg"], {
            "session_id": sid, "node_mrid": f"cigre-mv-bus-{3 + k % 9}", "p_up_mw": 0.2,
            "price_p_up_eur_per_mwh": 80.0 + k, "delivery_windows": [evening(day)],
            "valid_until": (gate + timedelta(hours=1)).isoformat(),
        })  # fmt: skip
        assert created.status_code == 201, created.text
        offers.append(str(created.json()["id"]))
    return sid, offers


async def clear(market: Market, session_id: str) -> None:
    """Past gate closure: the sweep closes the session and `fmct-clear` clears it."""
    market.clock.advance(hours=2)
    session = await wait_decided(market, session_id, timeout_s=60)
    assert session["state"] == "cleared", session
