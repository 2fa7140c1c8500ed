"""Types used by several message families: roles, identifiers, delivery windows."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Annotated

import msgspec

Id = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", description="Identifier"
    ),
]
Mrid = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:#-]+$",
        description="CIM mRID of a network node (TopologicalNode/ConnectivityNode)",
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
UtcDatetime = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 with offset")]
MegaWatt = Annotated[float, msgspec.Meta(ge=0.0, le=10_000.0)]
MegaVar = Annotated[float, msgspec.Meta(ge=0.0, le=10_000.0)]
# Prices may be negative (negative energy prices exist); bounded to keep sums finite.
Price = Annotated[float, msgspec.Meta(ge=-100_000.0, le=100_000.0)]
ResolutionMinutes = Annotated[
    int, msgspec.Meta(ge=1, le=1440, description="Length of one delivery period in minutes")
]


class Role(enum.StrEnum):
    FMO = "fmo"
    DSO = "dso"
    TSO = "tso"
    AGGREGATOR = "aggregator"
    ESP = "esp"
    RETAILER = "retailer"


class Direction(enum.StrEnum):
    """`up`: more generation or less consumption at the node; `down`: the opposite."""

    UP = "up"
    DOWN = "down"


class DeliveryWindow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A delivery window cut into periods of `resolution_minutes`; start inclusive, end exclusive."""

    start: UtcDatetime
    end: UtcDatetime
    resolution_minutes: ResolutionMinutes = 60

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("delivery window end must be after its start")
        span = self.end - self.start
        if span > timedelta(days=366):
            raise ValueError("delivery window longer than 366 days")
        if span % timedelta(minutes=self.resolution_minutes):
            raise ValueError("delivery window length must be a whole number of periods")

    @property
    def periods(self) -> int:
        return int((self.end - self.start) / timedelta(minutes=self.resolution_minutes))

    def contains(self, other: DeliveryWindow) -> bool:
        return self.start <= other.start and other.end <= self.end
