"""A closed session's order book -> the `fmct-clear` job input (pure: plain data in and out).

Only periods some order covers are cleared: a period without orders has nothing to dispatch, and
its base state is the day-ahead dispatch itself (the needs engine reports on it). Offers whose
validity ended before the clearing starts are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from cim.model import GridModel
from engines.fmct.clearing_job import BundledNetwork, ClearingJobInput
from engines.fmct.schema import ClearingOffer, ClearingOptions, ClearingRequest
from gateway.domain.results.profile import base_schedule
from gateway.messages.common import DeliveryWindow, Direction
from gateway.messages.orders import FlexOffer, FlexRequest
from gateway.messages.sessions import ClearingMethod, PaymentRule

# Zone spelling (REST) -> the engine's name of the bundled network.
BUNDLED: dict[str, BundledNetwork] = {"cigre-mv": "cigre_mv", "case33bw": "case33bw"}


@dataclass(frozen=True)
class SessionPlan:
    """What the clearing needs to know of a session."""

    session_id: str
    delivery_start: datetime
    delivery_end: datetime
    resolution_minutes: int
    payment_rule: PaymentRule
    clearing_method: ClearingMethod
    upstream_price_eur_per_mwh: float | None

    @property
    def resolution(self) -> timedelta:
        return timedelta(minutes=self.resolution_minutes)

    @property
    def period_count(self) -> int:
        return int((self.delivery_end - self.delivery_start) / self.resolution)

    def periods(self, window: DeliveryWindow) -> list[int]:
        """Session period indices a window covers (clipped to the session's window)."""
        first = int((window.start - self.delivery_start) / self.resolution)
        last = -(-(window.end - self.delivery_start) // self.resolution)  # ceiling
        return [i for i in range(max(first, 0), min(last, self.period_count))]


def method_for(plan: SessionPlan, offers: Sequence[ClearingOffer]) -> Literal["acopf", "milp"]:
    """`auto`: the exact AC-OPF unless an offer needs integers (a block, a minimum activation)."""
    if plan.clearing_method is ClearingMethod.ACOPF:
        return "acopf"
    if plan.clearing_method is ClearingMethod.MILP:
        return "milp"
    linked = any(o.block or o.min_activation_mw > 0 for o in offers)
    return "milp" if linked else "acopf"


def clearing_input(
    plan: SessionPlan,
    network: GridModel | BundledNetwork,
    network_version: int | None,
    requests: Sequence[FlexRequest],
    offers: Sequence[FlexOffer],
    starts_at: datetime,
) -> ClearingJobInput:
    clearing_requests = [
        ClearingRequest(
            id=r.id,
            buyer_id=r.submitter_id,
            bus=r.node_mrid,
            direction="up" if r.direction is Direction.UP else "down",
            p_mw=r.p_mw,
            q_mvar=r.q_mvar,
            price_p_eur_per_mwh=r.price_p_eur_per_mwh,
            price_q_eur_per_mvarh=r.price_q_eur_per_mvarh,
            periods=plan.periods(r.delivery),
        )
        for r in requests
    ]
    clearing_offers = [
        ClearingOffer(
            id=o.id,
            seller_id=o.submitter_id,
            bus=o.node_mrid,
            p_up_mw=o.p_up_mw,
            p_down_mw=o.p_down_mw,
            q_up_mvar=o.q_up_mvar,
            q_down_mvar=o.q_down_mvar,
            price_p_up_eur_per_mwh=o.price_p_up_eur_per_mwh,
            price_p_down_eur_per_mwh=o.price_p_down_eur_per_mwh,
            price_q_eur_per_mvarh=o.price_q_eur_per_mvarh,
            block=o.block,
            min_activation_mw=o.min_activation_mw,
            periods=sorted({i for w in o.delivery_windows for i in plan.periods(w)}),
        )
        for o in offers
        if o.valid_until >= starts_at
    ]
    covered = sorted(
        {i for r in clearing_requests for i in r.periods}
        | {i for o in clearing_offers for i in o.periods}
    )
    return ClearingJobInput(
        session_id=plan.session_id,
        network=network,
        network_version=network_version,
        schedules=[
            base_schedule(i, plan.delivery_start + i * plan.resolution, plan.resolution)
            for i in covered
        ],
        requests=clearing_requests,
        offers=clearing_offers,
        options=ClearingOptions(
            method=method_for(plan, clearing_offers),
            pricing=plan.payment_rule.value,
            upstream_price_eur_per_mwh=plan.upstream_price_eur_per_mwh,
        ),
    )
