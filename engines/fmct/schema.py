"""Wire input and output of the FMCT engine (imports only msgspec and the standard library).

Sign conventions
----------------
* Injections are positive into the grid. An offer's **up** volume raises the net injection at its bus
  (more generation or less consumption); **down** lowers it. The same holds for reactive power.
* A :class:`ClearingRequest` is a buy order for flexibility delivered at its bus. Accepting ``r`` MW of an
  ``up`` request means the buyer takes ``r`` MW more from the grid at that bus (at the coupling bus: the
  area exports ``r`` MW more, e.g. a TSO buying up-regulation); a ``down`` request means the buyer hands
  ``r`` MW to the grid. The buyer's value is ``price * r``. Congestion and voltage needs of the DSO are
  **not** requests: they are the network limits, which the clearing always enforces.
* Offer prices are asking prices per MWh (Mvarh) of activated flexibility; request prices are the
  buyer's maximum willingness to pay. Objective = offers' cost - requests' value (+ upstream energy cost
  when the coupling point is priced): the clearing minimises it, so welfare = -objective.
* Payments: ``amount_eur`` is what the participant *receives* (sellers positive; a buyer's amount is
  negative when it pays). ``budget_balance_eur`` = buyers' payments - sellers' receipts (>= 0: surplus,
  e.g. congestion rent; < 0: deficit the market operator must cover).
* Prices: ``dlmp_p_eur_per_mwh[bus]`` is the marginal cost of one more MWh withdrawn at that bus;
  ``qlmp_eur_per_mvarh`` likewise for reactive power.

Evolution rules: new fields get defaults; nothing is retyped; a breaking change is a new version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

NonNeg = Annotated[float, Meta(ge=0.0)]
Price = Annotated[float, Meta(description="EUR per MWh (P) or per Mvarh (Q)")]
PeriodIndex = Annotated[int, Meta(ge=0)]
Status = Literal["optimal", "infeasible", "time_limit", "error"]


class _Input(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base for inbound commands."""


class PeriodSchedule(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base (day-ahead) operating point of one period.

    Element keys are the pandapower element name when unique, else its index as a string.
    Scalings multiply the net's values before the per-element overrides are applied.
    """

    period_index: PeriodIndex
    start: datetime
    duration_h: Annotated[float, Meta(gt=0.0, le=24.0)] = 1.0
    load_scaling: NonNeg = 1.0
    sgen_scaling: NonNeg = 1.0
    load_p_mw: dict[str, float] = msgspec.field(default_factory=dict)
    load_q_mvar: dict[str, float] = msgspec.field(default_factory=dict)
    sgen_p_mw: dict[str, float] = msgspec.field(default_factory=dict)
    gen_p_mw: dict[str, float] = msgspec.field(default_factory=dict)


class ClearingRequest(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A buyer's FlexRequest (see the module docstring for its physical meaning)."""

    id: str
    buyer_id: str
    bus: Annotated[str, Meta(description="pandapower bus name or index as a string")]
    direction: Literal["up", "down"]
    p_mw: NonNeg = 0.0
    q_mvar: NonNeg = 0.0
    price_p_eur_per_mwh: Price = 0.0
    price_q_eur_per_mvarh: Price = 0.0
    periods: list[PeriodIndex]


class ClearingOffer(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A seller's FlexOffer. ``block``: all-or-nothing (one direction, all its periods, P and Q)."""

    id: str
    seller_id: str
    bus: str
    p_up_mw: NonNeg = 0.0
    p_down_mw: NonNeg = 0.0
    q_up_mvar: NonNeg = 0.0
    q_down_mvar: NonNeg = 0.0
    price_p_up_eur_per_mwh: Price = 0.0
    price_p_down_eur_per_mwh: Price = 0.0
    price_q_eur_per_mvarh: Price = 0.0
    block: bool = False
    min_activation_mw: NonNeg = 0.0
    energy_limit_mwh: NonNeg | None = None
    ramp_mw_per_period: NonNeg | None = None
    periods: list[PeriodIndex]


class ClearingOptions(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``upstream_price_eur_per_mwh``: None fixes the coupling-point exchange at its scheduled value
    (energy-neutral redispatch, the reactive DLFM); a number prices it (a TLMP)."""

    method: Literal["acopf", "milp"] = "acopf"
    pricing: Literal["pay_as_bid", "nodal", "vcg"] = "nodal"
    v_min_pu: Annotated[float, Meta(gt=0.0)] = 0.9
    v_max_pu: Annotated[float, Meta(gt=0.0)] = 1.1
    loading_max_percent: Annotated[float, Meta(gt=0.0)] = 100.0
    tolerance: Annotated[float, Meta(gt=0.0)] = 1e-3
    upstream_price_eur_per_mwh: float | None = None
    time_limit_s: Annotated[float, Meta(gt=0.0)] = 300.0
    max_ac_iterations: Annotated[int, Meta(ge=1, le=50)] = 6


class OfferDispatch(msgspec.Struct, frozen=True, kw_only=True):
    offer_id: str
    p_up_mw: float
    p_down_mw: float
    q_up_mvar: float
    q_down_mvar: float


class RequestDispatch(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    p_mw: float
    q_mvar: float


class BranchState(msgspec.Struct, frozen=True, kw_only=True):
    element: Literal["line", "trafo", "other"]
    id: str
    loading_percent: float
    limit_percent: float


class VoltageDeviation(msgspec.Struct, frozen=True, kw_only=True):
    bus: str
    vm_pu: float
    limit_pu: float
    deviation_pu: Annotated[float, Meta(description="positive = outside the band by this much")]


class PeriodResult(msgspec.Struct, frozen=True, kw_only=True):
    period_index: int
    offers: list[OfferDispatch]
    requests: list[RequestDispatch]
    vm_pu: dict[str, float]
    branch_loading_percent: dict[str, float]
    binding_branches: list[str]
    voltage_deviations: list[VoltageDeviation]
    dlmp_p_eur_per_mwh: dict[str, float]
    qlmp_eur_per_mvarh: dict[str, float]
    upstream_p_mw: float
    losses_mw: float


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    participant_id: str
    role: Literal["seller", "buyer"]
    amount_eur: Annotated[float, Meta(description="received; negative = paid")]
    bid_value_eur: Annotated[
        float, Meta(description="cost (seller) or value (buyer) at bid prices")
    ]
    uplift_eur: float = 0.0


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    severity: Literal["info", "warning", "error"]
    element: str
    message: str


class ClearingResult(msgspec.Struct, frozen=True, kw_only=True):
    status: Status
    condition: str
    message: str
    method: str
    pricing: str
    objective_eur: float | None = None
    solve_time_s: float = 0.0
    periods: list[PeriodResult] = msgspec.field(default_factory=list)
    payments: list[Payment] = msgspec.field(default_factory=list)
    budget_balance_eur: float | None = None
    all_offers_paid_at_least_price: bool | None = None
    residual_violation: Annotated[
        float, Meta(description="max of loading excess (percent points) and voltage excess (pu)")
    ] = 0.0
    linearisation_error_eur: float | None = None
    findings: list[Finding] = msgspec.field(default_factory=list)


class NeedsPeriod(msgspec.Struct, frozen=True, kw_only=True):
    period_index: int
    converged: bool
    congested: list[BranchState]
    voltage_deviations: list[VoltageDeviation]
    losses_mw: float
    min_vm_pu: float
    max_vm_pu: float
    upstream_p_mw: float


class NeedsResult(msgspec.Struct, frozen=True, kw_only=True):
    status: Status
    message: str
    periods: list[NeedsPeriod]
    findings: list[Finding] = msgspec.field(default_factory=list)
