"""Order intake over REST: validation, gate closure, withdrawal, idempotency, audit, paging."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.db.database import Database
from gateway.db.tables import flex_order, order_audit
from tests.market import Market

pytestmark = pytest.mark.integration


async def _count(url: str, table: Any, *where: Any) -> int:
    db = Database(url)
    try:
        async with db.connect() as conn:
            return int(
                (
                    await conn.execute(select(func.count()).select_from(table).where(*where))
                ).scalar_one()
            )
    finally:
        await db.dispose()


@pytest.fixture
async def book(market: Market) -> Market:
    await market.standard()
    return market


async def test_offer_and_request_are_stored_with_audit(book: Market, database_url: str) -> None:
    offer = await book.call("POST", "/v1/flex-offers", book.keys["agg"], book.offer_body("session"))
    assert offer.status_code == 201, offer.text
    body = offer.json()
    assert offer.headers["location"] == f"/v1/flex-offers/{body['id']}"
    assert body["status"] == "active"
    assert body["submitter_id"] == book.ids["agg"]
    assert body["zone_id"] == book.ids["zone"]
    request = await book.call(
        "POST", "/v1/flex-requests", book.keys["dso"], book.request_body("session")
    )
    assert request.status_code == 201, request.text
    fetched = await book.call("GET", f"/v1/flex-offers/{body['id']}", book.keys["agg"])
    assert fetched.json() == body
    assert await _count(database_url, order_audit, order_audit.c.order_id == body["id"]) == 1


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"p_up_mw": -1.0}, "$.p_up_mw"),
        ({"node_mrid": None, "asset_id": None}, "$"),
        ({"delivery_windows": []}, "$.delivery_windows"),
        ({"unknown_field": 1}, "$"),
        ({"valid_until": "2030-01-01T00:00:00"}, "$.valid_until"),
        ({"p_up_mw": 0.0}, "$"),
    ],
)
async def test_invalid_offer_is_422_with_location_and_stores_nothing(
    book: Market, database_url: str, change: dict[str, Any], location: str
) -> None:
    response = await book.call(
        "POST", "/v1/flex-offers", book.keys["agg"], {**book.offer_body("session"), **change}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422
    assert any(e["location"] == location for e in problem["errors"]), problem
    assert (
        await _count(database_url, flex_order, flex_order.c.session_id == book.ids["session"]) == 0
    )


async def test_unknown_node_and_window_outside_session_are_422(
    book: Market, database_url: str
) -> None:
    unknown = await book.call(
        "POST", "/v1/flex-offers", book.keys["agg"], book.offer_body("session", node_mrid="nowhere")
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["location"] == "$.node_mrid"
    far = book.window(hours=2, offset_h=200)
    outside = await book.call(
        "POST",
        "/v1/flex-offers",
        book.keys["agg"],
        book.offer_body("session", delivery_windows=[far]),
    )
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["location"] == "$.delivery_windows[0]"
    assert (
        await _count(database_url, flex_order, flex_order.c.session_id == book.ids["session"]) == 0
    )


async def test_gate_closure_refuses_orders_and_withdrawals(book: Market) -> None:
    offer = await book.call("POST", "/v1/flex-offers", book.keys["agg"], book.offer_body("session"))
    assert offer.status_code == 201
    book.clock.advance(hours=2)  # past the session's gate closure (one hour after opening)
    late = await book.call(
        "POST",
        "/v1/flex-offers",
        book.keys["agg"],
        book.offer_body("session", valid_until=book.window()["end"]),
    )
    assert late.status_code == 409, late.text
    withdraw = await book.call(
        "POST", f"/v1/flex-offers/{offer.json()['id']}/withdraw", book.keys["agg"]
    )
    assert withdraw.status_code == 409
    for _ in range(100):  # the gate-closure sweep moves the session to closed
        session = await book.call("GET", f"/v1/market-sessions/{book.ids['session']}", book.fmo_key)
        if session.json()["state"] == "closed":
            break
        await asyncio.sleep(0.05)
    assert session.json()["state"] == "closed"


async def test_explicit_close_refuses_orders(book: Market) -> None:
    closed = await book.call(
        "POST", f"/v1/market-sessions/{book.ids['session']}/close", book.fmo_key
    )
    assert closed.status_code == 200
    assert closed.json()["state"] == "closed"
    again = await book.call(
        "POST", f"/v1/market-sessions/{book.ids['session']}/close", book.fmo_key
    )
    assert again.status_code == 409
    late = await book.call(
        "POST", "/v1/flex-requests", book.keys["dso"], book.request_body("session")
    )
    assert late.status_code == 409


async def test_withdraw_once_with_audit(book: Market, database_url: str) -> None:
    offer = (
        await book.call("POST", "/v1/flex-offers", book.keys["agg"], book.offer_body("session"))
    ).json()
    path = f"/v1/flex-offers/{offer['id']}/withdraw"
    first = await book.call("POST", path, book.keys["agg"])
    assert first.status_code == 200
    assert first.json()["status"] == "withdrawn"
    second = await book.call("POST", path, book.keys["agg"])
    assert second.status_code == 409
    other = await book.call("POST", path, book.keys["agg2"])
    assert other.status_code == 404
    actions = await _count(database_url, order_audit, order_audit.c.order_id == offer["id"])
    assert actions == 2


async def test_idempotent_retry_returns_stored_order(book: Market, database_url: str) -> None:
    body = book.offer_body("session")
    headers = {"Idempotency-Key": "retry-1"}
    first = await book.call("POST", "/v1/flex-offers", book.keys["agg"], body, **headers)
    retry = await book.call("POST", "/v1/flex-offers", book.keys["agg"], body, **headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotency-replayed"] == "true"
    # The same key belongs to each participant: another aggregator may use it too.
    other = await book.call("POST", "/v1/flex-offers", book.keys["agg2"], body, **headers)
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]
    assert (
        await _count(database_url, flex_order, flex_order.c.session_id == book.ids["session"]) == 2
    )


async def test_same_key_other_body_is_422(book: Market, database_url: str) -> None:
    headers = {"Idempotency-Key": "retry-2"}
    first = await book.call(
        "POST", "/v1/flex-offers", book.keys["agg"], book.offer_body("session"), **headers
    )
    assert first.status_code == 201
    changed = await book.call(
        "POST",
        "/v1/flex-offers",
        book.keys["agg"],
        book.offer_body("session", p_up_mw=0.5),
        **headers,
    )
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["location"] == "header:Idempotency-Key"
    assert (
        await _count(database_url, flex_order, flex_order.c.session_id == book.ids["session"]) == 1
    )


async def test_concurrent_retries_store_once(book: Market, database_url: str) -> None:
    body = book.offer_body("session")
    responses = await asyncio.gather(
        *(
            book.call(
                "POST", "/v1/flex-offers", book.keys["agg"], body, **{"Idempotency-Key": "race"}
            )
            for _ in range(8)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    assert 409 in statuses or len(responses) == statuses.count(201)
    assert (
        await _count(database_url, flex_order, flex_order.c.session_id == book.ids["session"]) == 1
    )


async def test_cursor_pagination_visits_every_order_once(book: Market) -> None:
    ids = set()
    for index in range(7):
        response = await book.call(
            "POST",
            "/v1/flex-offers",
            book.keys["agg"],
            book.offer_body("session", p_up_mw=0.1 + index),
        )
        ids.add(response.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        query = f"/v1/flex-offers?limit=3&session_id={book.ids['session']}" + (
            f"&cursor={cursor}" if cursor else ""
        )
        page = (await book.call("GET", query, book.keys["agg"])).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 7


async def test_offer_from_asset_needs_prequalification(book: Market) -> None:
    asset = await book.call(
        "POST",
        "/v1/flex-assets",
        book.keys["agg"],
        {
            "name": "Battery",
            "zone_id": book.ids["zone"],
            "node_mrid": "node-4",
            "kind": "battery",
            "p_max_mw": 1.0,
        },
    )
    assert asset.status_code == 201, asset.text
    asset_id = asset.json()["id"]
    body = book.offer_body("session", node_mrid=None, asset_id=asset_id)
    pending = await book.call("POST", "/v1/flex-offers", book.keys["agg"], body)
    assert pending.status_code == 422
    wrong_dso = await book.call(
        "POST",
        f"/v1/flex-assets/{asset_id}/prequalification",
        book.keys["dso2"],
        {"decision": "confirmed"},
    )
    assert wrong_dso.status_code == 404
    confirm = await book.call(
        "POST",
        f"/v1/flex-assets/{asset_id}/prequalification",
        book.keys["dso"],
        {"decision": "confirmed"},
    )
    assert confirm.status_code == 200
    again = await book.call(
        "POST",
        f"/v1/flex-assets/{asset_id}/prequalification",
        book.keys["dso"],
        {"decision": "rejected"},
    )
    assert again.status_code == 409
    offer = await book.call("POST", "/v1/flex-offers", book.keys["agg"], body)
    assert offer.status_code == 201, offer.text
    assert offer.json()["node_mrid"] == "node-4"
    too_big = await book.call("POST", "/v1/flex-offers", book.keys["agg"], {**body, "p_up_mw": 5.0})
    assert too_big.status_code == 422
    stolen = await book.call("POST", "/v1/flex-offers", book.keys["agg2"], body)
    assert stolen.status_code == 422


async def test_dso_requests_only_in_own_zone(book: Market) -> None:
    foreign = await book.call(
        "POST", "/v1/flex-requests", book.keys["dso2"], book.request_body("session")
    )
    assert foreign.status_code == 404
    tso = await book.call(
        "POST", "/v1/flex-requests", book.keys["tso"], book.request_body("session")
    )
    assert tso.status_code == 201
    seller = await book.call(
        "POST", "/v1/flex-requests", book.keys["agg"], book.request_body("session")
    )
    assert seller.status_code == 403
