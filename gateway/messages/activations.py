"""Activations of FlexOffers and their forwarding to the TSO balancing market (HLUC_01_UCS_04,
HLUC_03_UCS_02): REST bodies, the `dso-forward-check` job's wire types, and the views.

An offer is activated at most once per period, locally or by the TSO. Its activation moves
through states (no row: available):

    available -> reserved_local -> activated_local
    available -> activated_local
    available -> forwarded -> activated_tso | released
    released  -> (available again)
    reserved_local -> forwarded   (only a forwarding that includes locally dispatched offers)

The local clearing's dispatch is `reserved_local`: the local market holds it, the DSO activates
it near real time (`activated_local`), or a forwarding may offer it to the TSO.

Evolution: new fields get defaults; nothing is retyped.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from cim.model import GridModel
from engines.fmct.schema import PeriodSchedule
from gateway.messages.balancing import Product
from gateway.messages.common import Id, UtcDatetime

CHECK_KIND = "dso-forward-check"
BundledNetwork = Literal["cigre_mv", "cigre_mv_no_der", "case33bw"]
PeriodIndex = Annotated[int, Meta(ge=0, le=95)]
PDirection = Literal["up", "down"]


class ActivationState(enum.StrEnum):
    RESERVED_LOCAL = "reserved_local"
    FORWARDED = "forwarded"
    ACTIVATED_LOCAL = "activated_local"
    ACTIVATED_TSO = "activated_tso"
    RELEASED = "released"


class ForwardingState(enum.StrEnum):
    CHECKING = "checking"  # the DSO's power flow check runs
    CHECKED = "checked"  # passed offers are forwarded, waiting for the TSO's market
    SENDING = "sending"  # the balancing auction is with the TSO adapter
    SETTLED = "settled"  # activations stored and settled
    FAILED = "failed"


# --- REST bodies ---------------------------------------------------------------------------


class ForwardingNeed(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    period_index: Annotated[int, Meta(ge=0, le=95, description="period of the session")]
    need_mw: Annotated[
        float, Meta(ge=-10_000.0, le=10_000.0, description="> 0 short (up), < 0 long (down)")
    ]


class ForwardingSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Forward a cleared session's unneeded offers to the TSO balancing market, against the
    TSO's imbalance needs of the session's periods (the emulated TSO's input)."""

    product: Product = "mFRR"
    needs: Annotated[list[ForwardingNeed], Meta(min_length=1, max_length=96)]
    include_locally_dispatched: Annotated[
        bool,
        Meta(
            description="Also offer the TSO the offer-periods the local clearing dispatched and "
            "nobody has activated yet (still `reserved_local`), in the direction they were "
            "dispatched: bid at no less than the local market pays for them (up: the higher of "
            "the offer's node price in the clearing and its own price; down: it pays the TSO at "
            "most the lower of the two), and never activated below their local volume, so the "
            "TSO takes them only when it values them more. The DSO check evaluates the grid "
            "without their local dispatch and with their TSO activation; one the TSO does not "
            "activate stays with the local market (`reserved_local`)."
        ),
    ] = False


class LocalActivationSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The DSO activates (or first reserves) an offer locally in one period, near real time."""

    period_index: Annotated[int, Meta(ge=0, le=95, description="period of the offer's session")]
    direction: PDirection
    p_mw: Annotated[float, Meta(gt=0.0, le=10_000.0)]
    reserve_only: Annotated[
        bool, Meta(description="reserve for a later local activation; not activated yet")
    ] = False


# --- the dso-forward-check job -------------------------------------------------------------


class LocalInjection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Locally cleared dispatch: extra injection at a node (up: +, down: -)."""

    node_mrid: str
    period_index: PeriodIndex
    p_mw: float


class ForwardCandidate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    offer_id: str
    node_mrid: str
    period_index: PeriodIndex
    direction: PDirection
    p_mw: Annotated[float, Meta(gt=0.0)]
    tso_price_eur_per_mwh: Annotated[
        float, Meta(description="the balancing bid's price (merit order of the check)")
    ]


class ForwardCheckInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    forwarding_id: str
    network: GridModel | BundledNetwork
    schedules: list[PeriodSchedule]
    local: list[LocalInjection] = msgspec.field(default_factory=list)
    candidates: list[ForwardCandidate] = msgspec.field(default_factory=list)
    v_min_pu: Annotated[float, Meta(gt=0.0)] = 0.9
    v_max_pu: Annotated[float, Meta(gt=0.0)] = 1.1
    loading_max_percent: Annotated[float, Meta(gt=0.0)] = 100.0


class CandidateVerdict(msgspec.Struct, frozen=True, kw_only=True):
    offer_id: str
    period_index: int
    allowed: bool
    reason: str = ""


class DirectionCheck(msgspec.Struct, frozen=True, kw_only=True):
    """The grid with the local dispatch and every allowed candidate of a direction activated.
    A locally dispatched candidate counts with what its TSO activation adds to its local
    dispatch (its activation replaces that dispatch at the same node)."""

    period_index: int
    direction: PDirection
    allowed_mw: float
    refused_mw: float
    max_loading_percent: float
    min_vm_pu: float
    max_vm_pu: float


class ForwardCheckOutput(msgspec.Struct, frozen=True, kw_only=True):
    forwarding_id: str
    status: Literal["optimal", "error"]
    message: str = ""
    verdicts: list[CandidateVerdict] = msgspec.field(default_factory=list)
    checks: list[DirectionCheck] = msgspec.field(default_factory=list)


# --- views ---------------------------------------------------------------------------------


class OfferActivation(msgspec.Struct, frozen=True, kw_only=True):
    offer_id: Id
    session_id: Id
    submitter_id: Id
    period_index: int
    start: UtcDatetime
    direction: PDirection
    state: ActivationState
    market: Literal["local", "tso"]
    p_mw: Annotated[float, Meta(description="reserved, forwarded or activated volume")]
    activated_mw: float | None = None
    price_eur_per_mwh: Annotated[
        float | None, Meta(description="TSO: the direction's marginal (pay-as-cleared) price")
    ] = None
    amount_eur: Annotated[float | None, Meta(description="received; negative = paid")] = None
    updated_at: UtcDatetime


class ForwardedOffer(msgspec.Struct, frozen=True, kw_only=True):
    """A candidate of a forwarding: the DSO check's verdict and what became of it."""

    offer_id: Id
    submitter_id: Id
    node_mrid: str
    period_index: int
    direction: PDirection
    p_mw: float
    tso_price_eur_per_mwh: float
    dso_check: Literal["pending", "passed", "refused"]
    reason: str = ""
    activation: OfferActivation | None = None
    local_mw: Annotated[
        float,
        Meta(
            description="volume the local clearing dispatched in this period, which a TSO "
            "activation replaces (include_locally_dispatched); 0: not dispatched locally"
        ),
    ] = 0.0


class Forwarding(msgspec.Struct, frozen=True, kw_only=True):
    id: Id
    session_id: Id
    state: ForwardingState
    product: Product
    resolution_minutes: int
    needs: list[ForwardingNeed]
    check_job_id: Id | None
    message: str = ""
    created_at: UtcDatetime
    updated_at: UtcDatetime
    offers: list[ForwardedOffer] = msgspec.field(default_factory=list)
    checks: list[DirectionCheck] = msgspec.field(default_factory=list)
    marginal_prices_eur_per_mwh: Annotated[
        dict[str, float], Meta(description="TSO marginal price per period index")
    ] = msgspec.field(default_factory=dict)
    activated_mwh: float = 0.0
    tso_payments_eur: Annotated[
        float, Meta(description="paid by the TSO to the (visible) activated offers")
    ] = 0.0


# --- events (ATP_EVENTS, `atp.v1.events.activations.<session_id>`) ------------------------


class OfferActivated(msgspec.Struct, frozen=True, kw_only=True, tag="activation.activated"):
    """An offer-period was activated, locally (`activated_local`) or by the TSO
    (`activated_tso`, with its pay-as-cleared price and what the owner receives). Published once
    per activation, from the transaction that recorded it."""

    offer_id: Id
    session_id: Id
    submitter_id: Annotated[Id, Meta(description="the offer's owner")]
    period_index: int
    direction: PDirection
    state: ActivationState
    market: Literal["local", "tso"]
    activated_mw: float
    price_eur_per_mwh: Annotated[
        float | None, Meta(description="TSO: the direction's marginal (pay-as-cleared) price")
    ] = None
    amount_eur: Annotated[float | None, Meta(description="received; negative = paid")] = None
    forwarding_id: Id | None = None
    at: UtcDatetime


class OfferActivationChanged(
    msgspec.Struct, frozen=True, kw_only=True, tag="activation.state_changed"
):
    """An offer-period moved to a state short of activation: reserved locally (`reserved_local`,
    also the local clearing's dispatch), held for the TSO (`forwarded`) or given back
    (`released`). Published once per move, from the transaction that recorded it."""

    offer_id: Id
    session_id: Id
    submitter_id: Annotated[Id, Meta(description="the offer's owner")]
    period_index: int
    direction: PDirection
    state: ActivationState
    market: Literal["local", "tso"]
    p_mw: Annotated[float, Meta(description="reserved or forwarded volume")]
    forwarding_id: Id | None = None
    at: UtcDatetime


ActivationEvent = OfferActivated | OfferActivationChanged
