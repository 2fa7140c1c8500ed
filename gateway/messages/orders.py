"""FlexRequests (buyers: DSO, TSO) and FlexOffers (sellers: aggregator, ESP), seed Annex 7.3.

Sign convention: `up` is more generation or less consumption at the node, `down` the opposite.
Prices are per MWh of active energy and per Mvarh of reactive energy over the period.
"""

from __future__ import annotations

import enum
import itertools
from typing import Annotated

import msgspec

from gateway.messages.common import (
    DeliveryWindow,
    Direction,
    Id,
    MegaVar,
    MegaWatt,
    Mrid,
    Price,
    UtcDatetime,
)

Cursor = Annotated[str, msgspec.Meta(max_length=200, description="Opaque cursor of a page")]


class OrderStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class FlexRequestSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    session_id: Id
    node_mrid: Mrid
    direction: Direction
    p_mw: MegaWatt = 0.0
    q_mvar: MegaVar = 0.0
    price_p_eur_per_mwh: Price = 0.0
    price_q_eur_per_mvarh: Price = 0.0
    delivery: DeliveryWindow

    def __post_init__(self) -> None:
        if self.p_mw == 0.0 and self.q_mvar == 0.0:
            raise ValueError("a FlexRequest asks for active power, reactive power or both")


class FlexRequest(msgspec.Struct, frozen=True, kw_only=True):
    id: Id
    session_id: Id
    zone_id: Id
    submitter_id: Id
    submitted_at: UtcDatetime
    status: OrderStatus
    node_mrid: str
    direction: Direction
    p_mw: float
    q_mvar: float
    price_p_eur_per_mwh: float
    price_q_eur_per_mvarh: float
    delivery: DeliveryWindow


class FlexOfferSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A seller's offer at a node or from a prequalified asset (then the asset's node applies)."""

    session_id: Id
    node_mrid: Mrid | None = None
    asset_id: Id | None = None
    p_up_mw: MegaWatt = 0.0
    p_down_mw: MegaWatt = 0.0
    q_up_mvar: MegaVar = 0.0
    q_down_mvar: MegaVar = 0.0
    price_p_up_eur_per_mwh: Price = 0.0
    price_p_down_eur_per_mwh: Price = 0.0
    price_q_eur_per_mvarh: Price = 0.0
    block: Annotated[bool, msgspec.Meta(description="All-or-nothing when true")] = False
    min_activation_mw: Annotated[
        MegaWatt, msgspec.Meta(description="Smallest accepted P of a divisible offer")
    ] = 0.0
    delivery_windows: Annotated[list[DeliveryWindow], msgspec.Meta(min_length=1, max_length=96)]
    valid_until: UtcDatetime

    def __post_init__(self) -> None:
        if (self.node_mrid is None) == (self.asset_id is None):
            raise ValueError("name exactly one of node_mrid and asset_id")
        volumes = (self.p_up_mw, self.p_down_mw, self.q_up_mvar, self.q_down_mvar)
        if not any(volumes):
            raise ValueError("a FlexOffer offers some P or Q, up or down")
        if self.block and self.min_activation_mw:
            raise ValueError("min_activation_mw applies to divisible offers only")
        if self.min_activation_mw > max(self.p_up_mw, self.p_down_mw):
            raise ValueError("min_activation_mw exceeds the offered active power")
        ordered = sorted(self.delivery_windows, key=lambda w: w.start)
        for earlier, later in itertools.pairwise(ordered):
            if later.start < earlier.end:
                raise ValueError("delivery windows overlap")


class FlexOffer(msgspec.Struct, frozen=True, kw_only=True):
    id: Id
    session_id: Id
    zone_id: Id
    submitter_id: Id
    submitted_at: UtcDatetime
    status: OrderStatus
    node_mrid: str
    asset_id: Id | None
    p_up_mw: float
    p_down_mw: float
    q_up_mvar: float
    q_down_mvar: float
    price_p_up_eur_per_mwh: float
    price_p_down_eur_per_mwh: float
    price_q_eur_per_mvarh: float
    block: bool
    min_activation_mw: float
    delivery_windows: list[DeliveryWindow]
    valid_until: UtcDatetime


class FlexRequestPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[FlexRequest]
    next_cursor: Cursor | None = None


class FlexOfferPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[FlexOffer]
    next_cursor: Cursor | None = None
