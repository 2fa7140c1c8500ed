"""Orders over NATS request/reply: same validation, authorization and idempotency as REST."""

from __future__ import annotations

from typing import Any

import msgspec
import nats
import pytest
from litestar.testing import AsyncTestClient

from gateway.messages import subjects
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
