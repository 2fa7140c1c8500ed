"""Merit-order activation with a pay-as-cleared price, per period (pure: no I/O, no clock).

As on MARI (mFRR) and PICASSO (aFRR), simplified to one uncongested area and an inelastic need: up
bids are taken cheapest first, down bids highest price first, until the need is met. A bid is divisible
down to its minimum quantity; a bid whose minimum does not fit in what is left is passed over (and the
next one in merit order may still fit). Every activated bid of a direction gets the price of the last
bid activated in that period: the marginal price, so nobody is paid less than asked (up) nor pays more
than offered (down).
"""

from __future__ import annotations

from gateway.messages.balancing import (
    Activation,
    BalancingAuction,
    BalancingBid,
    BalancingPeriod,
    BalancingResult,
)
from gateway.messages.problems import FieldError

EPS_MW = 1e-9


def validate_balancing(auction: BalancingAuction) -> list[FieldError]:
    errors: list[FieldError] = []
    periods: set[int] = set()
    for i, need in enumerate(auction.needs):
        if need.period_index in periods:
            errors.append(
                FieldError(location=f"$.needs[{i}].period_index", message="repeated period")
            )
        periods.add(need.period_index)
    ids: set[str] = set()
    for i, bid in enumerate(auction.bids):
        where = f"$.bids[{i}]"
        if bid.id in ids:
            errors.append(
                FieldError(location=f"{where}.id", message=f"duplicate bid id {bid.id!r}")
            )
        ids.add(bid.id)
        if bid.period_index not in periods:
            errors.append(FieldError(
                location=f"{where}.period_index",
                message=f"no imbalance need for period {bid.period_index}",
            ))  # fmt: skip
        if bid.min_quantity_mw > bid.quantity_mw:
            errors.append(FieldError(
                location=f"{where}.min_quantity_mw",
                message=f"{bid.min_quantity_mw} MW above the bid's quantity {bid.quantity_mw} MW",
            ))  # fmt: skip
    return errors


def _merit(bids: list[BalancingBid], direction: str) -> list[BalancingBid]:
    chosen = [b for b in bids if b.direction == direction]
    if direction == "up":
        return sorted(chosen, key=lambda b: (b.price_eur_per_mwh, b.id))
    return sorted(chosen, key=lambda b: (-b.price_eur_per_mwh, b.id))


def activate_period(
    period_index: int, need_mw: float, bids: list[BalancingBid], hours: float
) -> tuple[BalancingPeriod, list[Activation]]:
    direction = "up" if need_mw > 0 else "down"
    left = abs(need_mw)
    taken: list[tuple[BalancingBid, float]] = []
    skipped: list[str] = []
    for bid in _merit(bids, direction):
        if left <= EPS_MW:
            break
        mw = min(bid.quantity_mw, left)
        if mw + EPS_MW < bid.min_quantity_mw:
            skipped.append(bid.id)
            continue
        taken.append((bid, mw))
        left -= mw
    price = taken[-1][0].price_eur_per_mwh if taken else None
    sign = 1.0 if direction == "up" else -1.0
    activations = [
        Activation(
            bid_id=bid.id,
            bsp_id=bid.bsp_id,
            period_index=bid.period_index,
            direction=bid.direction,
            activated_mw=mw,
            price_eur_per_mwh=price if price is not None else 0.0,
            energy_mwh=mw * hours,
            amount_eur=sign * (price or 0.0) * mw * hours,
        )
        for bid, mw in taken
    ]
    period = BalancingPeriod(
        period_index=period_index,
        need_mw=need_mw,
        activated_mw=sum(mw for _, mw in taken),
        unsatisfied_mw=max(left, 0.0) if need_mw else 0.0,
        marginal_price_eur_per_mwh=price,
        skipped_bids=skipped,
    )
    return period, activations


def clear_balancing(auction: BalancingAuction) -> BalancingResult:
    """Clear a validated auction, period by period in the order of its needs."""
    hours = auction.resolution_minutes / 60.0
    by_period: dict[int, list[BalancingBid]] = {}
    for bid in auction.bids:
        by_period.setdefault(bid.period_index, []).append(bid)
    periods: list[BalancingPeriod] = []
    activations: list[Activation] = []
    for need in auction.needs:
        bids = by_period.get(need.period_index, [])
        period, acts = activate_period(need.period_index, need.need_mw, bids, hours)
        periods.append(period)
        activations += acts
    short = any(p.unsatisfied_mw > EPS_MW for p in periods)
    return BalancingResult(
        auction_id=auction.auction_id,
        product=auction.product,
        status="infeasible" if short else "optimal",
        periods=periods,
        activations=activations,
    )
