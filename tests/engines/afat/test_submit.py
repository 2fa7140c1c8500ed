"""An aggregation's offer curve lands in an open market session over REST (both databases)."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
import pytest

from engines.afat.aggregation import aggregate_centralised
from engines.afat.offers import flex_offers
from engines.afat.submit import OfferRejectedError, submit_offers
from tests.engines.afat.test_aggregation import curtailable_case
from tests.market import Market

pytestmark = pytest.mark.integration


async def test_offer_curve_becomes_orders_in_the_session(market: Market) -> None:
    await market.standard()
    start = datetime.fromisoformat(market.window()["start"])
    data = msgspec.structs.replace(curtailable_case(0.010), horizon_start=start)
    data = msgspec.structs.replace(
        data, request=msgspec.structs.replace(data.request, node_mrid="node-2")
    )
    result = aggregate_centralised(data, lambda fraction, stage: None)
    offers = flex_offers(
        result, market.ids["session"], valid_until=market.clock() + timedelta(hours=2)
    )
    ids = await submit_offers(
        market.client, market.keys["agg"], offers, idempotency_prefix="afat-1"
    )
    assert len(ids) == 2
    # A retry with the same idempotency keys stores nothing new.
    assert await submit_offers(market.client, market.keys["agg"], offers, "afat-1") == ids
    listed = await market.call(
        "GET", f"/v1/flex-offers?session_id={market.ids['session']}", market.keys["agg"]
    )
    assert listed.status_code == 200, listed.text
    stored = sorted(
        (o["price_p_up_eur_per_mwh"], o["p_up_mw"], o["node_mrid"]) for o in listed.json()["items"]
    )
    assert stored == [
        pytest.approx((35.0, 0.002, "node-2")),
        pytest.approx((85.0, 0.002, "node-2")),
    ]


async def test_a_retailer_key_cannot_place_the_offers(market: Market) -> None:
    await market.standard()
    start = datetime.fromisoformat(market.window()["start"])
    data = msgspec.structs.replace(curtailable_case(0.010), horizon_start=start)
    result = aggregate_centralised(data, lambda fraction, stage: None)
    offers = flex_offers(
        result, market.ids["session"], valid_until=market.clock() + timedelta(hours=2)
    )
    with pytest.raises(OfferRejectedError) as caught:
        await submit_offers(market.client, market.keys["retailer"], offers, "afat-2")
    assert caught.value.status == 403
    assert "problem" in caught.value.problem or "title" in caught.value.problem
