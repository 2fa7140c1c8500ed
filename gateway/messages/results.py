"""Market results of a cleared (or failed) session, as served by
`GET /v1/market-sessions/{id}/results`.

Units are in the field names; periods are numbered from the start of the session's delivery
window. Nodes are named by mRID, branches by mRID (a CIM model) or `line:<index>` /
`trafo:<index>` (a bundled network). `amount_eur` is what a participant receives (negative: it
pays); `budget_balance_eur` is what buyers pay minus what sellers receive.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import msgspec

from gateway.messages.common import Id, UtcDatetime
from gateway.messages.sessions import ClearingMethod, PaymentRule, SessionState


class OrderOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class View(enum.StrEnum):
    """`full`: the market operator and the zone's DSO; `participant`: own orders, public prices."""

    FULL = "full"
    PARTICIPANT = "participant"


class OfferPeriod(msgspec.Struct, frozen=True, kw_only=True):
    period_index: int
    start: UtcDatetime
    p_up_mw: float
    p_down_mw: float
    q_up_mvar: float
    q_down_mvar: float


class OfferResult(msgspec.Struct, frozen=True, kw_only=True):
    offer_id: Id
    submitter_id: Id
    node_mrid: str
    outcome: OrderOutcome
    dispatch: list[OfferPeriod]


class RequestPeriod(msgspec.Struct, frozen=True, kw_only=True):
    period_index: int
    start: UtcDatetime
    p_mw: float
    q_mvar: float


class RequestResult(msgspec.Struct, frozen=True, kw_only=True):
    request_id: Id
    submitter_id: Id
    node_mrid: str
    outcome: OrderOutcome
    served: list[RequestPeriod]


class NodePrice(msgspec.Struct, frozen=True, kw_only=True):
    node_mrid: str
    p_eur_per_mwh: Annotated[float, msgspec.Meta(description="d-LMP of active power")]
    q_eur_per_mvarh: Annotated[float, msgspec.Meta(description="Q-LMP of reactive power")]


class BranchLoading(msgspec.Struct, frozen=True, kw_only=True):
    branch_id: str
    before_percent: float | None
    after_percent: float | None
    binding: bool


class VoltageOutside(msgspec.Struct, frozen=True, kw_only=True):
    node_mrid: str
    vm_pu: float
    limit_pu: float


class GridState(msgspec.Struct, frozen=True, kw_only=True):
    """Before: the power flow of the base schedules; after: the cleared operating point."""

    branches: list[BranchLoading]
    binding_branches: list[str]
    congested_before: list[str]
    voltages_outside_before: list[VoltageOutside]
    voltages_outside_after: list[VoltageOutside]
    losses_before_mw: float
    losses_after_mw: float
    upstream_after_mw: float


class PeriodResults(msgspec.Struct, frozen=True, kw_only=True):
    period_index: int
    start: UtcDatetime
    prices: list[NodePrice]
    grid: GridState | None = None


class ParticipantPayment(msgspec.Struct, frozen=True, kw_only=True):
    participant_id: Id
    role: Literal["seller", "buyer"]
    amount_eur: Annotated[float, msgspec.Meta(description="Received; negative = paid")]
    bid_value_eur: Annotated[
        float, msgspec.Meta(description="Cost (seller) or value (buyer) at bid prices")
    ]
    uplift_eur: float = 0.0


class ResultFinding(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    severity: str
    element: str
    message: str


class MarketResults(msgspec.Struct, frozen=True, kw_only=True):
    session_id: Id
    zone_id: Id
    state: SessionState
    view: View
    job_id: Id | None = None
    decided_at: UtcDatetime
    status: Annotated[
        str, msgspec.Meta(description="optimal, infeasible, time_limit or error (solver outcome)")
    ]
    condition: str = ""
    reason: Annotated[str, msgspec.Meta(description="Why the clearing failed, if it did")] = ""
    method: ClearingMethod | None = None
    payment_rule: PaymentRule
    objective_eur: float | None = None
    budget_balance_eur: float | None = None
    all_offers_paid_at_least_price: bool | None = None
    residual_violation: float | None = None
    solve_time_s: float | None = None
    periods: list[PeriodResults] = msgspec.field(default_factory=list)
    offers: list[OfferResult] = msgspec.field(default_factory=list)
    requests: list[RequestResult] = msgspec.field(default_factory=list)
    payments: list[ParticipantPayment] = msgspec.field(default_factory=list)
    findings: list[ResultFinding] = msgspec.field(default_factory=list)
