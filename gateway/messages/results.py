"""Market results of a cleared (or failed) session, as served by
`GET /v1/market-sessions/{id}/results`.

Units are in the field names; periods are numbered from the start of the session's delivery
window. Nodes are named by mRID, branches by mRID (a CIM model) or `line:<index>` /
`trafo:<index>` (a bundled network). `amount_eur` is what a participant receives (negative: it
pays); `budget_balance_eur` is what buyers pay minus what sellers receive.

Offer-periods moved to the TSO: a forwarding with `include_locally_dispatched` can move an
offer-period the clearing dispatched to the TSO, which activates it (ledger state `activated_tso`)
and pays it. The stored clearing output is not rewritten; the results are read through one rule:
such an offer-period is shown with `moved_to_tso` and the TSO's activation, and the local
settlement pays nothing for it (what the session's payment rule paid for it is withdrawn from its
owner's `amount_eur` and `uplift_eur` and from the sellers' total), so it is paid once, by the TSO.
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
    """The clearing's dispatch of one offer in one period (as the clearing decided it, also when
    the TSO took the offer-period afterwards: see `moved_to_tso`)."""

    period_index: int
    start: UtcDatetime
    p_up_mw: float
    p_down_mw: float
    q_up_mvar: float
    q_down_mvar: float
    moved_to_tso: Annotated[
        bool,
        msgspec.Meta(
            description="The clearing dispatched this offer-period and the TSO then activated it "
            "(ledger state activated_tso, through forwarding `forwarding_id`): it is delivered "
            "to and paid by the TSO (`tso_amount_eur`), and the local settlement pays nothing "
            "for it (`withdrawn_local_eur` is left out of its owner's amount_eur)"
        ),
    ] = False
    forwarding_id: Annotated[
        Id | None, msgspec.Meta(description="The forwarding that moved it to the TSO")
    ] = None
    tso_activated_mw: Annotated[
        float | None, msgspec.Meta(description="MW the TSO activated (moved_to_tso only)")
    ] = None
    tso_price_eur_per_mwh: Annotated[
        float | None, msgspec.Meta(description="The TSO's price (moved_to_tso only)")
    ] = None
    tso_amount_eur: Annotated[
        float | None, msgspec.Meta(description="What the TSO pays for it (moved_to_tso only)")
    ] = None
    withdrawn_local_eur: Annotated[
        float | None,
        msgspec.Meta(
            description="What the session's payment rule paid for it locally, not paid because "
            "the TSO took it (moved_to_tso only; uplift is per order and withdrawn in "
            "the owner's uplift_eur)"
        ),
    ] = None


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
    amount_eur: Annotated[
        float,
        msgspec.Meta(
            description="Received from the local market; negative = paid. Offer-periods moved "
            "to the TSO are not in it (moved_to_tso_eur)"
        ),
    ]
    bid_value_eur: Annotated[
        float,
        msgspec.Meta(
            description="Cost (seller) or value (buyer) at bid prices of the clearing's whole "
            "dispatch, offer-periods moved to the TSO included"
        ),
    ]
    uplift_eur: Annotated[
        float,
        msgspec.Meta(description="Make-whole uplift (nodal), over the offer-periods kept locally"),
    ] = 0.0
    moved_to_tso_eur: Annotated[
        float,
        msgspec.Meta(
            description="What the local settlement paid (amount and uplift) for this seller's "
            "offer-periods the TSO then activated, withdrawn from amount_eur and uplift_eur"
        ),
    ] = 0.0
    tso_amount_eur: Annotated[
        float,
        msgspec.Meta(description="What the TSO pays for those moved offer-periods instead"),
    ] = 0.0
    total_eur: Annotated[
        float,
        msgspec.Meta(
            description="amount_eur + uplift_eur + tso_amount_eur: what the participant receives "
            "for the clearing's dispatch, from whichever market each offer-period went to"
        ),
    ]


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
    budget_balance_eur: Annotated[
        float | None,
        msgspec.Meta(
            description="buyers_paid_eur - sellers_received_eur (full view): the local "
            "settlement's surplus (>= 0) or deficit"
        ),
    ] = None
    buyers_paid_eur: Annotated[
        float | None,
        msgspec.Meta(description="What buyers pay the local market: -sum of buyers' amount_eur"),
    ] = None
    sellers_received_eur: Annotated[
        float | None,
        msgspec.Meta(
            description="What the local market pays sellers: sum of sellers' amount_eur + "
            "uplift_eur (offer-periods moved to the TSO excluded)"
        ),
    ] = None
    moved_to_tso_eur: Annotated[
        float | None,
        msgspec.Meta(
            description="Local pay withdrawn for offer-periods moved to the TSO: sum of "
            "sellers' moved_to_tso_eur"
        ),
    ] = None
    tso_paid_eur: Annotated[
        float | None,
        msgspec.Meta(
            description="What the TSO pays for those offer-periods: sum of tso_amount_eur"
        ),
    ] = None
    all_offers_paid_at_least_price: bool | None = None
    residual_violation: float | None = None
    solve_time_s: float | None = None
    periods: list[PeriodResults] = msgspec.field(default_factory=list)
    offers: list[OfferResult] = msgspec.field(default_factory=list)
    requests: list[RequestResult] = msgspec.field(default_factory=list)
    payments: list[ParticipantPayment] = msgspec.field(default_factory=list)
    findings: list[ResultFinding] = msgspec.field(default_factory=list)
