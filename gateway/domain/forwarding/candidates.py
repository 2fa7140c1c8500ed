"""Which offer-periods of a cleared session may go to the TSO, and what the grid carries already
(pure: plain data in and out).

A candidate is an offer-period the local market did not activate (no dispatch, no activation in
the ledger) in a period where the TSO has a need, in the need's direction, with the offer's whole
volume of that direction. The remaining volume of an offer-period activated locally stays with the
local market: an offer-period is activated once (the ledger's key).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from engines.fmct.clearing_job import ClearingJobOutput
from gateway.domain.results.job_input import SessionPlan
from gateway.messages.activations import ForwardCandidate, ForwardingNeed, LocalInjection
from gateway.messages.orders import FlexOffer

DISPATCHED_MW = 1e-6


@dataclass(frozen=True)
class Candidate:
    offer: FlexOffer
    wire: ForwardCandidate

    @property
    def min_quantity_mw(self) -> float:
        if self.offer.block:
            return self.wire.p_mw
        return min(self.offer.min_activation_mw, self.wire.p_mw)


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


def candidates(
    plan: SessionPlan,
    offers: Sequence[FlexOffer],
    needs: Sequence[ForwardingNeed],
    taken: Collection[tuple[str, int]],
) -> list[Candidate]:
    """``taken``: offer-periods dispatched locally or held in the ledger."""
    need = {n.period_index: n.need_mw for n in needs if n.need_mw != 0.0}
    out: list[Candidate] = []
    for offer in offers:
        periods = sorted({i for w in offer.delivery_windows for i in plan.periods(w)})
        for t in periods:
            if t not in need or (offer.id, t) in taken:
                continue
            up = need[t] > 0
            p_mw = offer.p_up_mw if up else offer.p_down_mw
            if p_mw <= DISPATCHED_MW:
                continue
            # A down bid's price is what its provider pays per MWh (balancing convention); the
            # offer's down price is what it asks.
            price = offer.price_p_up_eur_per_mwh if up else -offer.price_p_down_eur_per_mwh
            out.append(
                Candidate(
                    offer,
                    ForwardCandidate(
                        offer_id=offer.id,
                        node_mrid=offer.node_mrid,
                        period_index=t,
                        direction="up" if up else "down",
                        p_mw=p_mw,
                        tso_price_eur_per_mwh=price,
                    ),
                )
            )
    return out
