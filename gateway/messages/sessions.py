"""Market sessions: one zone, one delivery window, one gate closure."""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec

from gateway.messages.common import DeliveryWindow, Id, Name, Price, UtcDatetime


class SessionState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CLEARED = "cleared"
    FAILED = "failed"


class PaymentRule(enum.StrEnum):
    """How accepted orders are paid (the seed's DNPA): at their bids, at the nodal prices (with
    make-whole uplift for blocks), or by the VCG auction rule."""

    PAY_AS_BID = "pay_as_bid"
    NODAL = "nodal"
    VCG = "vcg"


class ClearingMethod(enum.StrEnum):
    """`auto`: the exact AC-OPF, or the MILP with AC correction when an offer is a block or has a
    minimum activation."""

    AUTO = "auto"
    ACOPF = "acopf"
    MILP = "milp"


UpstreamPrice = Annotated[
    Price | None,
    msgspec.Meta(
        description="Price of energy at the coupling point (a TLMP, EUR/MWh); null keeps the "
        "coupling point's exchange at its scheduled value (energy-neutral redispatch)"
    ),
]


class MarketSessionCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    zone_id: Id
    name: Name
    delivery: DeliveryWindow
    gate_closure_at: UtcDatetime
    payment_rule: PaymentRule = PaymentRule.NODAL
    clearing_method: ClearingMethod = ClearingMethod.AUTO
    upstream_price_eur_per_mwh: UpstreamPrice = None

    def __post_init__(self) -> None:
        if self.gate_closure_at > self.delivery.start:
            raise ValueError("gate closure must not be after the start of delivery")


class MarketSession(msgspec.Struct, frozen=True, kw_only=True):
    id: Id
    zone_id: Id
    name: str
    delivery: DeliveryWindow
    gate_closure_at: UtcDatetime
    state: SessionState
    created_at: UtcDatetime
    closed_at: UtcDatetime | None = None
    payment_rule: PaymentRule = PaymentRule.NODAL
    clearing_method: ClearingMethod = ClearingMethod.AUTO
    upstream_price_eur_per_mwh: UpstreamPrice = None
    clearing_job_id: Annotated[
        Id | None, msgspec.Meta(description="The clearing job started at gate closure")
    ] = None
