"""From an FST schedule to orders of the distribution flexibility market: the DLFM P bids
become FMCT `ClearingOffer`s (what the ESP submits to a market session) and `StrategicOffer`s
(the same flexibility with its true cost, for the bidding mode)."""

from __future__ import annotations

from engines.fmct.schema import ClearingOffer
from engines.fst.schema import ScheduleResult, StrategicOffer


def dlfm_offers(result: ScheduleResult, seller_id: str) -> list[ClearingOffer]:
    """One offer per bus and period with a scheduled DLFM deviation: up (more injection) or
    down, priced at the bid's step price (the marginal value of the energy behind it)."""
    out = []
    for bid in result.bids:
        if bid.market != "dlfm_p":
            continue
        for n, step in enumerate(bid.steps):
            up = step.quantity > 0
            out.append(
                ClearingOffer(
                    id=f"{seller_id}:{bid.bus}:{bid.period_index}:{n}",
                    seller_id=seller_id,
                    bus=bid.bus,
                    p_up_mw=step.quantity if up else 0.0,
                    p_down_mw=0.0 if up else -step.quantity,
                    price_p_up_eur_per_mwh=step.price if up else 0.0,
                    price_p_down_eur_per_mwh=0.0 if up else step.price,
                    periods=[bid.period_index],
                )
            )
    return out


def strategic_offers(offers: list[ClearingOffer]) -> list[StrategicOffer]:
    """The same flexibility for the bidding mode, its asking prices taken as its true cost."""
    return [
        StrategicOffer(
            id=o.id,
            seller_id=o.seller_id,
            bus=o.bus,
            p_up_mw=o.p_up_mw,
            p_down_mw=o.p_down_mw,
            cost_up_eur_per_mwh=o.price_p_up_eur_per_mwh,
            cost_down_eur_per_mwh=o.price_p_down_eur_per_mwh,
            periods=o.periods,
        )
        for o in offers
    ]
