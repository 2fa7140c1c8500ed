"""An aggregation result as FlexOffers for an open market session: one divisible offer per
offer step (slot, price), shaped as the gateway's `FlexOfferSubmit` body for
`POST /v1/flex-offers` (the light `gateway.messages` structs only; no gateway app imports)."""

from __future__ import annotations

from datetime import datetime, timedelta

from engines.afat.schema import AggregationResult
from gateway.messages.common import DeliveryWindow
from gateway.messages.orders import FlexOfferSubmit

_MIN_MW = 1e-6  # below a watt an offer is noise


def flex_offers(
    result: AggregationResult, session_id: str, valid_until: datetime
) -> list[FlexOfferSubmit]:
    """Offers for `session_id`, one per step: `p_up_mw` for an `up` request (`p_down_mw` for
    `down`) at the step's price, delivered in the step's slot. Steps of one slot stack: the
    buyer takes the cheaper ones first, so any accepted prefix is what the curve promised."""
    if result.status != "optimal":
        raise ValueError(f"no offers from a {result.status} aggregation: {result.message}")
    if result.horizon_start is None:
        raise ValueError("the aggregation result has no horizon start")
    length = timedelta(minutes=result.slot_minutes)
    offers: list[FlexOfferSubmit] = []
    for step in result.offer_steps:
        if step.p_mw < _MIN_MW:
            continue
        window = DeliveryWindow(
            start=step.start, end=step.start + length, resolution_minutes=result.slot_minutes
        )
        mw = round(step.p_mw, 6)
        price = round(step.price_eur_per_mwh, 4)
        if result.direction == "up":
            offers.append(
                FlexOfferSubmit(
                    session_id=session_id,
                    node_mrid=result.node_mrid,
                    p_up_mw=mw,
                    price_p_up_eur_per_mwh=price,
                    delivery_windows=[window],
                    valid_until=valid_until,
                )
            )
        else:
            offers.append(
                FlexOfferSubmit(
                    session_id=session_id,
                    node_mrid=result.node_mrid,
                    p_down_mw=mw,
                    price_p_down_eur_per_mwh=price,
                    delivery_windows=[window],
                    valid_until=valid_until,
                )
            )
    return offers
