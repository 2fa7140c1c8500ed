"""A stored clearing output -> `MarketResults` as one caller may see it (pure).

The full view (market operator, the zone's DSO) holds everything. The participant view holds the
public nodal prices plus the caller's own orders and payment; grid state, other participants'
dispatch and payments, the objective and the budget balance are left out.

Offer-periods the TSO took from the clearing (`activated_tso`) are shown as moved and their local
pay is withdrawn from the settlement (`moved.py` holds the rule).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from engines.fmct.clearing_job import BasePeriod, ClearingJobOutput
from engines.fmct.schema import OfferDispatch, Payment, PeriodResult, VoltageDeviation
from gateway.domain.results.moved import (
    OfferPeriodKey,
    OfferPrices,
    TsoTake,
    Withdrawal,
    withdraw,
)
from gateway.messages.results import (
    BranchLoading,
    GridState,
    MarketResults,
    NodePrice,
    OfferPeriod,
    OfferResult,
    OrderOutcome,
    ParticipantPayment,
    PeriodResults,
    RequestPeriod,
    RequestResult,
    ResultFinding,
    View,
    VoltageOutside,
)
from gateway.messages.sessions import ClearingMethod, PaymentRule, SessionState


@dataclass(frozen=True)
class OrderInfo:
    order_id: str
    kind: str  # "offer" or "request"
    submitter_id: str
    node_mrid: str
    outcome: OrderOutcome


@dataclass(frozen=True)
class StoredResult:
    session_id: str
    zone_id: str
    state: SessionState
    payment_rule: PaymentRule
    delivery_start: datetime
    resolution: timedelta
    job_id: str | None
    status: str
    condition: str
    message: str
    decided_at: datetime
    output: ClearingJobOutput | None


def _outside(items: list[VoltageDeviation]) -> list[VoltageOutside]:
    return [VoltageOutside(node_mrid=d.bus, vm_pu=d.vm_pu, limit_pu=d.limit_pu) for d in items]


def grid_state(period: PeriodResult, base: BasePeriod | None) -> GridState:
    before = base.branch_loading_percent if base is not None else {}
    after = period.branch_loading_percent
    binding = set(period.binding_branches)
    return GridState(
        branches=[
            BranchLoading(
                branch_id=b,
                before_percent=before.get(b),
                after_percent=after.get(b),
                binding=b in binding,
            )
            for b in sorted(set(before) | set(after))
        ],
        binding_branches=period.binding_branches,
        congested_before=[c.id for c in base.state.congested] if base is not None else [],
        voltages_outside_before=_outside(base.state.voltage_deviations) if base else [],
        voltages_outside_after=_outside(period.voltage_deviations),
        losses_before_mw=base.state.losses_mw if base is not None else 0.0,
        losses_after_mw=period.losses_mw,
        upstream_after_mw=period.upstream_p_mw,
    )


def _offer_period(
    d: OfferDispatch,
    index: int,
    start: datetime,
    key: OfferPeriodKey,
    taken: Mapping[OfferPeriodKey, TsoTake],
    withdrawal: Withdrawal,
) -> OfferPeriod:
    period = OfferPeriod(
        period_index=index,
        start=start,
        p_up_mw=d.p_up_mw,
        p_down_mw=d.p_down_mw,
        q_up_mvar=d.q_up_mvar,
        q_down_mvar=d.q_down_mvar,
    )
    if not withdrawal.moved(key):
        return period
    tso = taken[key]
    return msgspec.structs.replace(
        period,
        moved_to_tso=True,
        forwarding_id=tso.forwarding_id,
        tso_activated_mw=tso.activated_mw,
        tso_price_eur_per_mwh=tso.price_eur_per_mwh,
        tso_amount_eur=tso.amount_eur,
        withdrawn_local_eur=withdrawal.local_eur[key],
    )


def market_results(
    stored: StoredResult,
    orders: list[OrderInfo],
    caller_id: str | None,
    *,
    taken: Mapping[OfferPeriodKey, TsoTake] | None = None,
    offer_prices: Mapping[str, OfferPrices] | None = None,
) -> MarketResults:
    """`caller_id` None: the full view; else the participant view of that participant.
    `taken`: the session's `activated_tso` offer-periods; `offer_prices`: their offers' prices."""
    full = caller_id is None
    mine = [o for o in orders if full or o.submitter_id == caller_id]
    output = stored.output
    result = output.result if output is not None else None
    taken = taken or {}
    withdrawal = (
        withdraw(
            result,
            stored.payment_rule,
            stored.resolution / timedelta(hours=1),
            {o.order_id: o.submitter_id for o in orders if o.kind == "offer"},
            offer_prices or {},
            taken,
        )
        if result is not None and taken
        else Withdrawal()
    )

    def start(index: int) -> datetime:
        return stored.delivery_start + index * stored.resolution

    periods: list[PeriodResults] = []
    offers: dict[str, list[OfferPeriod]] = {o.order_id: [] for o in mine if o.kind == "offer"}
    requests: dict[str, list[RequestPeriod]] = {o.order_id: [] for o in mine if o.kind == "request"}
    if output is not None and result is not None:
        bases = {b.state.period_index: b for b in output.base}
        for p in result.periods:
            prices = [
                NodePrice(
                    node_mrid=node,
                    p_eur_per_mwh=price,
                    q_eur_per_mvarh=p.qlmp_eur_per_mvarh.get(node, 0.0),
                )
                for node, price in p.dlmp_p_eur_per_mwh.items()
            ]
            periods.append(
                PeriodResults(
                    period_index=p.period_index,
                    start=start(p.period_index),
                    prices=prices,
                    grid=grid_state(p, bases.get(p.period_index)) if full else None,
                )
            )
            for d in p.offers:
                if d.offer_id in offers:
                    t = p.period_index
                    offers[d.offer_id].append(
                        _offer_period(d, t, start(t), (d.offer_id, t), taken, withdrawal)
                    )
            for r in p.requests:
                if r.request_id in requests:
                    requests[r.request_id].append(
                        RequestPeriod(
                            period_index=p.period_index,
                            start=start(p.period_index),
                            p_mw=r.p_mw,
                            q_mvar=r.q_mvar,
                        )
                    )
    every = [_payment(p, withdrawal) for p in (result.payments if result is not None else [])]
    payments = [p for p in every if full or p.participant_id == caller_id]
    sellers = [p for p in every if p.role == "seller"]
    received = sum(p.amount_eur + p.uplift_eur for p in sellers)
    paid = -sum(p.amount_eur for p in every if p.role == "buyer")
    totals = full and result is not None and result.budget_balance_eur is not None
    return MarketResults(
        session_id=stored.session_id,
        zone_id=stored.zone_id,
        state=stored.state,
        view=View.FULL if full else View.PARTICIPANT,
        job_id=stored.job_id,
        decided_at=stored.decided_at,
        status=stored.status,
        condition=stored.condition,
        reason="" if stored.state is SessionState.CLEARED else stored.message,
        method=ClearingMethod(result.method) if result is not None else None,
        payment_rule=stored.payment_rule,
        objective_eur=result.objective_eur if full and result is not None else None,
        budget_balance_eur=paid - received if totals else None,
        buyers_paid_eur=paid if totals else None,
        sellers_received_eur=received if totals else None,
        moved_to_tso_eur=sum(p.moved_to_tso_eur for p in sellers) if totals else None,
        tso_paid_eur=sum(p.tso_amount_eur for p in sellers) if totals else None,
        all_offers_paid_at_least_price=(
            result.all_offers_paid_at_least_price if result is not None else None
        ),
        residual_violation=result.residual_violation if full and result is not None else None,
        solve_time_s=result.solve_time_s if full and result is not None else None,
        periods=periods,
        offers=[
            OfferResult(
                offer_id=o.order_id,
                submitter_id=o.submitter_id,
                node_mrid=o.node_mrid,
                outcome=o.outcome,
                dispatch=offers[o.order_id],
            )
            for o in mine
            if o.kind == "offer"
        ],
        requests=[
            RequestResult(
                request_id=o.order_id,
                submitter_id=o.submitter_id,
                node_mrid=o.node_mrid,
                outcome=o.outcome,
                served=requests[o.order_id],
            )
            for o in mine
            if o.kind == "request"
        ],
        payments=payments,
        findings=[
            ResultFinding(code=f.code, severity=f.severity, element=f.element, message=f.message)
            for f in (result.findings if full and result is not None else [])
        ],
    )


def _payment(p: Payment, withdrawal: Withdrawal) -> ParticipantPayment:
    # Only sellers' offer-periods move to the TSO; a participant that also buys has a buyer
    # payment of its own, which stays as the clearing settled it.
    amount, uplift, tso = p.amount_eur, p.uplift_eur, 0.0
    if p.role == "seller":
        amount -= withdrawal.amount_eur.get(p.participant_id, 0.0)
        uplift -= withdrawal.uplift_eur.get(p.participant_id, 0.0)
        tso = withdrawal.tso_eur.get(p.participant_id, 0.0)
    return ParticipantPayment(
        participant_id=p.participant_id,
        role=p.role,
        amount_eur=amount,
        bid_value_eur=p.bid_value_eur,
        uplift_eur=uplift,
        moved_to_tso_eur=(p.amount_eur - amount) + (p.uplift_eur - uplift),
        tso_amount_eur=tso,
        total_eur=amount + uplift + tso,
    )
