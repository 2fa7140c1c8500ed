"""Which offer-periods of a cleared session may go to the TSO, and what the grid carries already
(pure: plain data in and out).

A candidate is an offer-period the local market did not activate (no dispatch, no activation in
the ledger) in a period where the TSO has a need, in the need's direction, with the offer's whole
volume of that direction. The remaining volume of an offer-period activated locally stays with the
local market: an offer-period is activated once (the ledger's key).

A forwarding that includes locally dispatched offers also offers the TSO the offer-periods the
clearing dispatched and nobody activated yet, in their dispatched direction only, priced so the
TSO takes one only when it values it more than the local market: no lower than the offer's node
price in the clearing (its d-LMP) and its own price, and never activated below its local volume
(the TSO's activation replaces the local dispatch, it cannot shrink it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import msgspec

from engines.fmct.clearing_job import ClearingJobOutput
from gateway.domain.results.job_input import SessionPlan
from gateway.messages.activations import ForwardCandidate, ForwardingNeed, LocalInjection
from gateway.messages.orders import FlexOffer

DISPATCHED_MW = 1e-6


@dataclass(frozen=True)
class Dispatched:
    """An offer-period the local clearing dispatched: its direction, volume and node price."""

    direction: str
    mw: float
    node_price_eur_per_mwh: float | None


@dataclass(frozen=True)
class Candidate:
    offer: FlexOffer
    wire: ForwardCandidate
    local_mw: float = 0.0  # the local dispatch a TSO activation replaces

    @property
    def min_quantity_mw(self) -> float:
        if self.offer.block:
            return self.wire.p_mw
        return max(min(self.offer.min_activation_mw, self.wire.p_mw), self.local_mw)

    def for_check(self) -> ForwardCandidate | None:
        """What the DSO check adds to the cleared point: the whole TSO volume, or for a locally
        dispatched offer-period what its TSO activation adds to its local dispatch (the check's
        reference already holds the local dispatch); None when that is nothing."""
        extra = self.wire.p_mw - self.local_mw
        if extra <= DISPATCHED_MW:
            return None
        return msgspec.structs.replace(self.wire, p_mw=extra) if self.local_mw else self.wire


def local_dispatch(
    output: ClearingJobOutput | None, offers: Sequence[FlexOffer]
) -> tuple[list[LocalInjection], set[tuple[str, int]]]:
    """The cleared dispatch as injections at the offers' nodes, and the offer-periods it used."""
    if output is None:
        return [], set()
    node = {o.id: o.node_mrid for o in offers}
    injections: list[LocalInjection] = []
    used: set[tuple[str, int]] = set()
    for period in output.result.periods:
        for d in period.offers:
            net = d.p_up_mw - d.p_down_mw
            if max(d.p_up_mw, d.p_down_mw, d.q_up_mvar, d.q_down_mvar) > DISPATCHED_MW:
                used.add((d.offer_id, period.period_index))
            if d.offer_id in node and abs(net) > DISPATCHED_MW:
                injections.append(
                    LocalInjection(
                        node_mrid=node[d.offer_id],
                        period_index=period.period_index,
                        p_mw=net,
                    )
                )
    return injections, used


def dispatched(
    output: ClearingJobOutput | None, offers: Sequence[FlexOffer]
) -> dict[tuple[str, int], Dispatched]:
    """The offer-periods the clearing dispatched in P, with the price at the offer's node."""
    if output is None:
        return {}
    node = {o.id: o.node_mrid for o in offers}
    out: dict[tuple[str, int], Dispatched] = {}
    for period in output.result.periods:
        for d in period.offers:
            if d.offer_id not in node or max(d.p_up_mw, d.p_down_mw) <= DISPATCHED_MW:
                continue
            up = d.p_up_mw >= d.p_down_mw
            out[(d.offer_id, period.period_index)] = Dispatched(
                direction="up" if up else "down",
                mw=d.p_up_mw if up else d.p_down_mw,
                node_price_eur_per_mwh=period.dlmp_p_eur_per_mwh.get(node[d.offer_id]),
            )
    return out


def _bid_price(offer: FlexOffer, up: bool, local: Dispatched | None) -> float:
    # A down bid's price is what its provider pays per MWh (balancing convention); the offer's
    # down price is what it asks.
    own = offer.price_p_up_eur_per_mwh if up else -offer.price_p_down_eur_per_mwh
    if local is None or local.node_price_eur_per_mwh is None:
        return own
    # Up: the local market pays the node price per MWh injected, so ask at least that. Down: the
    # local dispatch withdraws at the node price, so pay the TSO at most that.
    node = local.node_price_eur_per_mwh
    return max(own, node) if up else min(own, node)


def candidates(
    plan: SessionPlan,
    offers: Sequence[FlexOffer],
    needs: Sequence[ForwardingNeed],
    taken: Collection[tuple[str, int]],
    reclaimable: Mapping[tuple[str, int], Dispatched] | None = None,
) -> list[Candidate]:
    """``taken``: offer-periods dispatched locally or held in the ledger. ``reclaimable``: those
    of them a forwarding that includes locally dispatched offers may still offer the TSO."""
    need = {n.period_index: n.need_mw for n in needs if n.need_mw != 0.0}
    again = reclaimable or {}
    out: list[Candidate] = []
    for offer in offers:
        periods = sorted({i for w in offer.delivery_windows for i in plan.periods(w)})
        for t in periods:
            local = again.get((offer.id, t))
            if t not in need or ((offer.id, t) in taken and local is None):
                continue
            up = need[t] > 0
            if local is not None and local.direction != ("up" if up else "down"):
                continue  # dispatched the other way: the local dispatch stays
            p_mw = offer.p_up_mw if up else offer.p_down_mw
            if p_mw <= DISPATCHED_MW:
                continue
            out.append(
                Candidate(
                    offer,
                    ForwardCandidate(
                        offer_id=offer.id,
                        node_mrid=offer.node_mrid,
                        period_index=t,
                        direction="up" if up else "down",
                        p_mw=p_mw,
                        tso_price_eur_per_mwh=_bid_price(offer, up, local),
                    ),
                    local_mw=min(local.mw, p_mw) if local is not None else 0.0,
                )
            )
    return out
