"""The TSO balancing market adapter's messages (request/reply on `atp.v1.markets.balancing`).

Standard balancing energy products (as on MARI for mFRR and PICASSO for aFRR): bids per period, up or
down, with a price and a location tag; the TSO's imbalance need per period is met in merit order and
every activated bid is paid the marginal (pay-as-cleared) price of its direction.

Signs: `need_mw > 0` means the system is short (up-regulation); `< 0` long (down-regulation). An up
bid's price is what its BSP asks per MWh delivered; a down bid's price is what its BSP pays per MWh
not produced (negative: it asks to be paid). `amount_eur` is received (negative = paid).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from gateway.messages.common import Id, MegaWatt, Name, Price, UtcDatetime

Product = Literal["mFRR", "aFRR"]
PeriodIndex = Annotated[int, Meta(ge=0, le=95)]
Status = Literal["optimal", "infeasible", "time_limit", "error"]


class BalancingBid(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A standard product bid for one period. Divisible down to `min_quantity_mw`; a bid with
    `min_quantity_mw == quantity_mw` is indivisible."""

    id: Id
    bsp_id: Id
    direction: Literal["up", "down"]
    period_index: PeriodIndex
    quantity_mw: Annotated[float, Meta(gt=0.0, le=10_000.0)]
    min_quantity_mw: MegaWatt = 0.0
    price_eur_per_mwh: Price
    location: Annotated[Name, Meta(description="connecting point: bidding zone or DSO node tag")]


class ImbalanceNeed(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    period_index: PeriodIndex
    need_mw: Annotated[float, Meta(ge=-10_000.0, le=10_000.0)]


class BalancingAuction(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    auction_id: Id
    product: Product
    delivery_start: UtcDatetime
    resolution_minutes: Annotated[int, Meta(ge=1, le=60)] = 15
    needs: Annotated[list[ImbalanceNeed], Meta(min_length=1)]
    bids: list[BalancingBid] = msgspec.field(default_factory=list)


class Activation(msgspec.Struct, frozen=True, kw_only=True):
    bid_id: str
    bsp_id: str
    period_index: int
    direction: Literal["up", "down"]
    activated_mw: float
    price_eur_per_mwh: Annotated[float, Meta(description="the direction's marginal price")]
    energy_mwh: float
    amount_eur: Annotated[float, Meta(description="received by the BSP; negative = paid")]


class BalancingPeriod(msgspec.Struct, frozen=True, kw_only=True):
    period_index: int
    need_mw: float
    activated_mw: Annotated[float, Meta(description="in the need's direction")]
    unsatisfied_mw: float
    marginal_price_eur_per_mwh: float | None
    skipped_bids: Annotated[
        list[str], Meta(description="indivisible bids passed over in merit order")
    ] = msgspec.field(default_factory=list)


class BalancingResult(msgspec.Struct, frozen=True, kw_only=True):
    auction_id: str
    product: Product
    status: Status
    periods: list[BalancingPeriod]
    activations: list[Activation]
