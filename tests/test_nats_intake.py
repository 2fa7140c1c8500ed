"""Orders over NATS request/reply: same validation, authorization and idempotency as REST."""

from __future__ import annotations

from typing import Any

import msgspec
import nats
import pytest
from litestar.testing import AsyncTestClient

from gateway.messages import subjects
from gateway.messages.batches import FlexOfferBatch
from gateway.messages.orders import FlexOffer, FlexRequest
from gateway.messaging.replies import ServiceError, from_reply
from tests.market import Market

pytestmark = pytest.mark.integration


async def _request(
    url: str, subject: str, body: Any, **headers: str
) -> tuple[dict[str, str] | None, bytes]:
    nc = await nats.connect(url)
    try:
        msg = await nc.request(subject, msgspec.json.encode(body), timeout=10, headers=headers)
        return msg.headers, msg.data
    finally:
        await nc.close()


@pytest.fixture
async def book(market: Market, client: AsyncTestClient) -> tuple[Market, str]:
    await market.standard()
    return market, client.app.state.components.nats.embedded_url


async def test_offer_over_nats_is_stored_like_rest(book: tuple[Market, str]) -> None:
    market, url = book
    headers, data = await _request(
        url,
        subjects.intake("flex-offers"),
        market.offer_body("session"),
        **{"Flexgrid-Api-Key": market.keys["agg"], "Idempotency-Key": "n-1"},
    )
    offer = from_reply(headers, data, FlexOffer)
    fetched = await market.call("GET", f"/v1/flex-offers/{offer.id}", market.keys["agg"])
    assert fetched.status_code == 200
    assert fetched.json()["id"] == offer.id
    retry_headers, retry = await _request(
        url,
        subjects.intake("flex-offers"),
        market.offer_body("session"),
        **{"Flexgrid-Api-Key": market.keys["agg"], "Idempotency-Key": "n-1"},
    )
    assert from_reply(retry_headers, retry, FlexOffer).id == offer.id
    assert retry_headers is not None
    assert retry_headers["Idempotency-Replayed"] == "true"


@pytest.mark.parametrize(
    ("key_alias", "change", "status", "location"),
    [
        (None, {}, 401, None),
        ("agg", {"p_up_mw": -1}, 422, "$.p_up_mw"),
        ("agg", {"node_mrid": "nowhere"}, 422, "$.node_mrid"),
        ("retailer", {}, 403, None),
    ],
)
async def test_bad_offers_over_nats_get_problem_headers(
    book: tuple[Market, str],
    key_alias: str | None,
    change: dict[str, Any],
    status: int,
    location: str | None,
) -> None:
    market, url = book
    headers = {"Flexgrid-Api-Key": market.keys[key_alias]} if key_alias else {}
    reply_headers, data = await _request(
        url, subjects.intake("flex-offers"), {**market.offer_body("session"), **change}, **headers
    )
    assert reply_headers is not None
    assert reply_headers["Nats-Service-Error-Code"] == str(status)
    with pytest.raises(ServiceError) as caught:
        from_reply(reply_headers, data, FlexOffer)
    assert caught.value.problem.status == status
    if location is not None:
        assert caught.value.problem.errors[0].location == location


async def test_request_over_nats_respects_zone_ownership(book: tuple[Market, str]) -> None:
    market, url = book
    own = await _request(
        url,
        subjects.intake("flex-requests"),
        market.request_body("session"),
        **{"Flexgrid-Api-Key": market.keys["dso"]},
    )
    assert from_reply(*own, FlexRequest).zone_id == market.ids["zone"]
    foreign_headers, _ = await _request(
        url,
        subjects.intake("flex-requests"),
        market.request_body("session"),
        **{"Flexgrid-Api-Key": market.keys["dso2"]},
    )
    assert foreign_headers is not None
    assert foreign_headers["Nats-Service-Error-Code"] == "404"


async def test_a_batch_stores_good_items_and_explains_bad_ones(book: tuple[Market, str]) -> None:
    market, url = book
    good = market.offer_body("session")
    items = [
        {"order": good, "idempotency_key": "b-1"},
        {"order": {**good, "node_mrid": "nowhere"}},
        {"order": {**good, "p_up_mw": 0.7}},
        # The same key in the same batch is a concurrent retry, as over REST: 409.
        {"order": good, "idempotency_key": "b-1"},
    ]
    headers, data = await _request(
        url,
        subjects.intake("flex-offers.batch"),
        {"items": items},
        **{"Flexgrid-Api-Key": market.keys["agg"]},
    )
    reply = from_reply(headers, data, FlexOfferBatch)
    first, bad, third, concurrent = reply.results
    if first.order is None or concurrent.replayed:  # whichever took the key first is stored
        first, concurrent = concurrent, first
    assert first.order is not None
    assert bad.order is None
    assert bad.problem is not None
    assert bad.problem.status == 422
    assert bad.problem.errors[0].location == "$.node_mrid"
    assert bad.problem.instance == f"{subjects.intake('flex-offers.batch')}#/items/1"
    assert third.order is not None
    # The twin either found the key in flight (409, as a concurrent REST retry) or, when the
    # first had committed already, got the stored offer back.
    if concurrent.problem is not None:
        assert concurrent.problem.status == 409
        assert (reply.stored, reply.failed) == (2, 2)
    else:
        assert concurrent.order is not None
        assert concurrent.order.id == first.order.id
        assert concurrent.replayed
        assert (reply.stored, reply.failed) == (3, 1)
    # A later batch retrying the key gets the stored offer back.
    headers, data = await _request(
        url,
        subjects.intake("flex-offers.batch"),
        {"items": [{"order": good, "idempotency_key": "b-1"}]},
        **{"Flexgrid-Api-Key": market.keys["agg"]},
    )
    retry = from_reply(headers, data, FlexOfferBatch).results[0]
    assert retry.order is not None
    assert retry.replayed
    assert retry.order.id == first.order.id
    listed = await market.call("GET", "/v1/flex-offers?limit=50", market.keys["agg"])
    ids = {offer["id"] for offer in listed.json()["items"]}
    assert {first.order.id, third.order.id} <= ids


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"items": []}, {}, 422),  # at least one item
        ({"items": [{"order": {}}] * 501}, {}, 422),  # at most 500
        ({"items": [{"order": {}}]}, {"Idempotency-Key": "whole"}, 400),  # keys go per item
    ],
)
async def test_a_malformed_batch_is_refused_whole(
    book: tuple[Market, str], body: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    market, url = book
    before = await market.call("GET", "/v1/flex-offers?limit=200", market.keys["agg"])
    reply_headers, data = await _request(
        url,
        subjects.intake("flex-offers.batch"),
        body,
        **{"Flexgrid-Api-Key": market.keys["agg"], **headers},
    )
    with pytest.raises(ServiceError) as caught:
        from_reply(reply_headers, data, FlexOfferBatch)
    assert caught.value.problem.status == status
    after = await market.call("GET", "/v1/flex-offers?limit=200", market.keys["agg"])
    assert len(after.json()["items"]) == len(before.json()["items"])
