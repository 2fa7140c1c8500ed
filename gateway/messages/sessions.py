"""Market sessions: one zone, one delivery window, one gate closure."""

from __future__ import annotations

import enum

import msgspec

from gateway.messages.common import DeliveryWindow, Id, Name, UtcDatetime


class SessionState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CLEARED = "cleared"
    FAILED = "failed"


class MarketSessionCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    zone_id: Id
    name: Name
    delivery: DeliveryWindow
    gate_closure_at: UtcDatetime

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
