"""The wholesale day-ahead market adapter's messages (request/reply on `atp.v1.markets.day-ahead`).

A uniform-price double auction per period over a transmission network: sellers' and buyers' step
orders at transmission buses, optional all-or-nothing block orders spanning periods, the case's own
loads and the distribution
areas' scheduled exchanges at their coupling buses as inelastic demand. Prices are locational (DC-OPF duals); without congestion they are one
uniform price. Evolution: new fields get defaults, nothing is retyped.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from gateway.messages.common import Id, MegaWatt, Price, UtcDatetime

TransmissionCase = Literal["case30", "case39", "case118"]
BusId = Annotated[
    str, Meta(min_length=1, max_length=32, description="transmission bus (the case's bus index)")
]
PeriodIndex = Annotated[int, Meta(ge=0, le=95)]
Status = Literal["optimal", "infeasible", "time_limit", "error"]


class WholesaleOrder(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One step of a participant's curve: up to `quantity_mw` in each of `periods` at `bus`.

    `block`: all or nothing, the same quantity in every one of its periods (a profile block)."""

    id: Id
    participant_id: Id
    side: Literal["sell", "buy"]
    bus: BusId
    quantity_mw: MegaWatt
    price_eur_per_mwh: Price
    periods: Annotated[list[PeriodIndex], Meta(min_length=1)]
    block: bool = False


class AreaWithdrawal(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A distribution area's scheduled exchange at its coupling bus in one period: inelastic like
    the case's own loads (it is what the area's own market decided), settled at the bus price."""

    bus: BusId
    period_index: PeriodIndex
    p_mw: Annotated[
        float,
        Meta(ge=-10_000.0, le=10_000.0, description="withdrawn from the grid; negative: injected"),
    ]


class DayAheadAuction(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    auction_id: Id
    network: TransmissionCase
    delivery_start: UtcDatetime
    periods: Annotated[int, Meta(ge=1, le=96)] = 24
    resolution_minutes: Annotated[int, Meta(ge=15, le=60)] = 60
    system_load_scaling: Annotated[
        list[Annotated[float, Meta(ge=0.0, le=5.0)]],
        Meta(description="factor on the case's own loads per period; empty: 1.0 throughout"),
    ] = msgspec.field(default_factory=list)
    coupling_buses: Annotated[
        list[BusId], Meta(description="buses whose prices are reported (DSO coupling points)")
    ] = msgspec.field(default_factory=list)
    orders: list[WholesaleOrder] = msgspec.field(default_factory=list)
    area_withdrawals: Annotated[
        list[AreaWithdrawal],
        Meta(description="distribution areas' fixed exchanges on top of the case's loads"),
    ] = msgspec.field(default_factory=list)


class OrderAward(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    participant_id: str
    side: Literal["sell", "buy"]
    period_index: int
    accepted_mw: float
    price_eur_per_mwh: Annotated[float, Meta(description="price at the order's bus")]
    amount_eur: Annotated[float, Meta(description="received; negative = paid")]


class DayAheadPeriod(msgspec.Struct, frozen=True, kw_only=True):
    period_index: int
    coupling_prices_eur_per_mwh: Annotated[
        dict[str, float], Meta(description="TLMP per coupling bus")
    ]
    min_price_eur_per_mwh: float
    max_price_eur_per_mwh: float
    system_load_mw: float
    congested_branches: list[str]
    awards: list[OrderAward]


class DayAheadResult(msgspec.Struct, frozen=True, kw_only=True):
    auction_id: str
    status: Status
    condition: str
    message: str = ""
    welfare_eur: Annotated[
        float | None, Meta(description="buy orders' value - sell orders' cost (inelastic load: 0)")
    ] = None
    generation_cost_eur: float | None = None
    congestion_rent_eur: float | None = None
    solve_time_s: float = 0.0
    periods: list[DayAheadPeriod] = msgspec.field(default_factory=list)
