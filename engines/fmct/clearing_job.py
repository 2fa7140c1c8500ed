"""Wire types of the `fmct-clear` job: what the gateway sends at gate closure and reads back.

Imports only msgspec, `cim.model` and `engines.fmct.schema` (all light), so the gateway builds and
decodes these without pulling pandapower or pyomo. Orders name their node by mRID here; the engine
maps mRIDs to buses of the network it builds, and names buses and branches in its output by mRID
(a CIM model) or by `<prefix><index>` / `line:<index>` (a bundled network).

Evolution rules: new fields get defaults; nothing is retyped; a breaking change is a new kind.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from cim.model import GridModel
from engines.fmct.schema import (
    ClearingOffer,
    ClearingOptions,
    ClearingRequest,
    ClearingResult,
    NeedsPeriod,
    PeriodSchedule,
)

KIND = "fmct-clear"

BundledNetwork = Literal["cigre_mv", "cigre_mv_no_der", "case33bw"]

# How the node mRIDs of a zone on a bundled network are spelled: the prefix plus the pandapower
# bus index (`cim.bundled` names the CIGRE MV nodes this way).
BUNDLED_NODE_PREFIX: dict[str, str] = {
    "cigre_mv": "cigre-mv-bus-",
    "cigre_mv_no_der": "cigre-mv-bus-",
    "case33bw": "case33bw-bus-",
}


class ClearingJobInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the clearing needs; the engine never reads the database."""

    session_id: str
    network: GridModel | BundledNetwork
    network_version: Annotated[
        int | None, Meta(description="Version of the zone's grid model; None: bundled network")
    ] = None
    schedules: list[PeriodSchedule]
    requests: list[ClearingRequest] = msgspec.field(default_factory=list)
    offers: list[ClearingOffer] = msgspec.field(default_factory=list)
    options: ClearingOptions = msgspec.field(default_factory=ClearingOptions)


class BasePeriod(msgspec.Struct, frozen=True, kw_only=True):
    """The grid before clearing (the base schedules' power flow) of one period."""

    state: NeedsPeriod
    branch_loading_percent: dict[str, float]


class ClearingJobOutput(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    result: ClearingResult
    base: list[BasePeriod] = msgspec.field(default_factory=list)
