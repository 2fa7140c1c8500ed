"""Participants, API keys, grid zones and flexibility assets."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import msgspec

from gateway.messages.common import Id, MegaVar, MegaWatt, Mrid, Name, Role, UtcDatetime

KeyLabel = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")]


class ParticipantCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    role: Role


class Participant(msgspec.Struct, frozen=True, kw_only=True):
    id: Id
    name: str
    role: Role
    created_at: UtcDatetime


class ApiKeyCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    participant_id: Id | None = None  # None: the caller's own participant
    label: KeyLabel = "default"


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    id: Id
    participant_id: Id
    prefix: Annotated[str, msgspec.Meta(description="Public part of the key, for recognition")]
    label: str
    scopes: list[str]
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None = None


class ApiKeyIssued(msgspec.Struct, frozen=True, kw_only=True):
    """Returned once, on creation: the only time the key is shown in clear."""

    api_key: ApiKey
    key: Annotated[str, msgspec.Meta(description="The secret key; store it now, it is not kept")]


class GridNodeIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    mrid: Mrid
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    vn_kv: Annotated[float, msgspec.Meta(gt=0.0, le=1_000.0)]


class GridNode(msgspec.Struct, frozen=True, kw_only=True):
    mrid: str
    name: str
    vn_kv: float


BundledNetworkName = Annotated[
    Literal["cigre-mv", "case33bw"],
    msgspec.Meta(
        description="A network bundled with pandapower that market clearing uses while the zone "
        "has no uploaded grid model; node mRIDs are `<name>-bus-<index>` (e.g. `cigre-mv-bus-5`)"
    ),
]


class GridZoneCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    dso_id: Id | None = None  # None: the calling DSO; the FMO must name one
    nodes: Annotated[list[GridNodeIn], msgspec.Meta(max_length=200_000)] = msgspec.field(
        default_factory=list
    )
    bundled_network: BundledNetworkName | None = None


class GridZone(msgspec.Struct, frozen=True, kw_only=True):
    id: Id
    name: str
    dso_id: Id
    node_count: int
    created_at: UtcDatetime
    bundled_network: BundledNetworkName | None = None


class AssetKind(enum.StrEnum):
    BATTERY = "battery"
    PV = "pv"
    WIND = "wind"
    FLEXIBLE_LOAD = "flexible_load"
    EV_CHARGING = "ev_charging"
    HEAT_PUMP = "heat_pump"
    CHP = "chp"
    OTHER = "other"


class Prequalification(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class FlexAssetCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    zone_id: Id
    node_mrid: Mrid
    kind: AssetKind
    p_max_mw: MegaWatt
    q_max_mvar: MegaVar = 0.0


class FlexAsset(msgspec.Struct, frozen=True, kw_only=True):
    id: Id
    owner_id: Id
    name: str
    zone_id: Id
    node_mrid: str
    kind: AssetKind
    p_max_mw: float
    q_max_mvar: float
    prequalification: Prequalification
    decision_reason: str | None
    created_at: UtcDatetime
    decided_at: UtcDatetime | None


class PrequalificationDecision(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    decision: Annotated[Prequalification, msgspec.Meta(description="confirmed or rejected")]
    reason: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class GridNodePage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[GridNode]
    next_cursor: str | None = None
