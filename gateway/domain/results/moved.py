"""Offer-periods the TSO took from the local clearing, and the local pay they no longer get (pure).

A forwarding with `include_locally_dispatched` can move an offer-period the clearing dispatched
(ledger `reserved_local`) to the TSO, which activates it (`activated_tso`) and pays its own price.
The stored clearing output stays as the engine wrote it; the results are read through this rule:
such an offer-period is delivered to, and paid by, the TSO only, so the local settlement withdraws
what it paid for it (amount and uplift) from its owner and from the sellers' total.

What the local settlement paid for one offer-period is recomputed as `engines/fmct/pricing.py`
settles it, under the session's payment rule:
* pay_as_bid: its bid cost (its prices times the energy dispatched);
* nodal: its node's d-LMP (P) and Q-LMP (Q) times the energy it injects; the make-whole uplift is
  per order, so an order's uplift is recomputed over the periods it keeps;
* vcg: a participant is paid its bid cost plus the welfare it adds, one figure for all its orders
  and periods; the moved offer-period's bid cost is withdrawn with the same share of the welfare
  term (its share of the participant's bid cost; of its energy where the bids cost nothing).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from engines.fmct.schema import ClearingResult, OfferDispatch
from gateway.messages.sessions import PaymentRule

# Below this a variable is not dispatched (the engine's own threshold on energy).
EPS = 1e-9
# The engine's make-whole tolerance (`engines/fmct/pricing.py`).
TOL_EUR = 1e-6

OfferPeriodKey = tuple[str, int]


@dataclass(frozen=True)
class TsoTake:
    """An offer-period the ledger holds as `activated_tso`: the TSO activated it and pays it."""

    forwarding_id: str | None
    activated_mw: float | None
    price_eur_per_mwh: float | None
    amount_eur: float


@dataclass(frozen=True)
class OfferPrices:
    """What the clearing priced an offer with: its seller, node and asking prices."""

    seller_id: str
    node_mrid: str
    price_p_up_eur_per_mwh: float
    price_p_down_eur_per_mwh: float
    price_q_eur_per_mvarh: float


@dataclass(frozen=True)
class Withdrawal:
    """The local settlement less the offer-periods moved to the TSO."""

    # Per moved offer-period: the local pay withdrawn (amount only; uplift is per order).
    local_eur: dict[OfferPeriodKey, float] = field(default_factory=dict)
    # Per seller: withdrawn from its amount, from its uplift, and what the TSO pays instead.
    amount_eur: dict[str, float] = field(default_factory=dict)
    uplift_eur: dict[str, float] = field(default_factory=dict)
    tso_eur: dict[str, float] = field(default_factory=dict)

    def moved(self, key: OfferPeriodKey) -> bool:
        return key in self.local_eur


def _energy(d: OfferDispatch, duration_h: float) -> float:
    return (d.p_up_mw + d.p_down_mw + d.q_up_mvar + d.q_down_mvar) * duration_h


def _bid(d: OfferDispatch, o: OfferPrices, duration_h: float) -> float:
    return duration_h * (
        d.p_up_mw * o.price_p_up_eur_per_mwh
        + d.p_down_mw * o.price_p_down_eur_per_mwh
        + (d.q_up_mvar + d.q_down_mvar) * o.price_q_eur_per_mvarh
    )


def _nodal(d: OfferDispatch, dlmp: float, qlmp: float, duration_h: float) -> float:
    # Up injects (+), down withdraws (-): as `sign * energy` in the engine.
    return duration_h * (dlmp * (d.p_up_mw - d.p_down_mw) + qlmp * (d.q_up_mvar - d.q_down_mvar))


def _uplift(bid: float, nodal: float) -> float:
    return bid - nodal if nodal < bid - TOL_EUR else 0.0


def withdraw(
    result: ClearingResult,
    rule: PaymentRule,
    duration_h: float,
    sellers: Mapping[str, str],
    prices: Mapping[str, OfferPrices],
    taken: Mapping[OfferPeriodKey, TsoTake],
) -> Withdrawal:
    """What the local settlement withdraws for the offer-periods in `taken` that the clearing
    dispatched. `sellers`: every offer's seller; `prices`: at least the taken offers' prices."""
    moved: dict[OfferPeriodKey, tuple[OfferDispatch, float, float]] = {}
    # Per order with a moved period: (bid, nodal) over all its periods and over those it keeps.
    per_order: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    energy: dict[str, float] = defaultdict(float)
    taken_offers = {offer_id for offer_id, _ in taken}
    for p in result.periods:
        for d in p.offers:
            e = _energy(d, duration_h)
            if e <= EPS:
                continue
            energy[sellers.get(d.offer_id, "")] += e
            if d.offer_id not in taken_offers or d.offer_id not in prices:
                continue
            o = prices[d.offer_id]
            dlmp = p.dlmp_p_eur_per_mwh.get(o.node_mrid, 0.0)
            qlmp = p.qlmp_eur_per_mvarh.get(o.node_mrid, 0.0)
            bid, nodal = _bid(d, o, duration_h), _nodal(d, dlmp, qlmp, duration_h)
            sums = per_order[d.offer_id]
            sums[0] += bid
            sums[1] += nodal
            if (d.offer_id, p.period_index) in taken:
                moved[(d.offer_id, p.period_index)] = (d, bid, nodal)
            else:
                sums[2] += bid
                sums[3] += nodal
    out = Withdrawal()
    paid = {x.participant_id: x for x in result.payments if x.role == "seller"}
    for key, (d, bid, nodal) in moved.items():
        seller = prices[key[0]].seller_id
        if rule is PaymentRule.PAY_AS_BID:
            local = bid
        elif rule is PaymentRule.NODAL:
            local = nodal
        else:
            payment = paid.get(seller)
            welfare = payment.amount_eur - payment.bid_value_eur if payment is not None else 0.0
            total_bid = payment.bid_value_eur if payment is not None else 0.0
            if total_bid > EPS:
                share = bid / total_bid
            else:
                share = _energy(d, duration_h) / energy[seller] if energy[seller] > EPS else 0.0
            local = bid + welfare * share
        out.local_eur[key] = local
        out.amount_eur[seller] = out.amount_eur.get(seller, 0.0) + local
        out.tso_eur[seller] = out.tso_eur.get(seller, 0.0) + taken[key].amount_eur
    if rule is PaymentRule.NODAL:
        for offer_id, (bid_all, nodal_all, bid_kept, nodal_kept) in per_order.items():
            change = _uplift(bid_all, nodal_all) - _uplift(bid_kept, nodal_kept)
            if abs(change) > 0.0:
                seller = prices[offer_id].seller_id
                out.uplift_eur[seller] = out.uplift_eur.get(seller, 0.0) + change
    return out
