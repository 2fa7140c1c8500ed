"""Wire input and output of the FST engines (msgspec, the standard library and the FMCT
wire types, which are as light).

Sign conventions: injections into the grid are positive (selling, discharging, producing);
a price is what one MWh (Mvarh, MW of reserve for one hour) is worth to the seller. Profit is
revenue minus cost over the horizon; OPEX = -profit.

Markets (seed 5.3.3, HLUC_02_UCS_03): ``day_ahead`` energy at the coupling-point price,
``reserve`` up/down capacity at uniform prices, and the ``dlfm`` (distribution-level
flexibility market) where a deviation from the day-ahead schedule at a bus is settled at that
bus's nodal prices (d-LMP for P, Q-LMP for Q), as the FMCT engine's nodal pricing does.

Evolution rules: new fields get defaults; nothing is retyped; a breaking change is a new version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from engines.fmct.schema import ClearingOffer, ClearingOptions, ClearingRequest, PeriodSchedule

NonNeg = Annotated[float, Meta(ge=0.0)]
Efficiency = Annotated[float, Meta(gt=0.0, le=1.0)]
Market = Literal["day_ahead", "reserve", "dlfm"]
Status = Literal["optimal", "infeasible", "time_limit", "error"]
ALL_MARKETS: tuple[Market, ...] = ("day_ahead", "reserve", "dlfm")


class _Input(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base for inbound commands."""


class Storage(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    bus: str
    power_mw: Annotated[float, Meta(gt=0.0)]
    energy_mwh: Annotated[float, Meta(gt=0.0)]
    soc_initial_mwh: NonNeg = 0.0
    soc_min_mwh: NonNeg = 0.0
    soc_final_min_mwh: Annotated[
        float | None, Meta(description="end-of-horizon minimum; default: the initial SoC")
    ] = None
    eta_charge: Efficiency = 0.95
    eta_discharge: Efficiency = 0.95
    s_max_mva: NonNeg | None = None
    cycle_cost_eur_per_mwh: NonNeg = 0.0


class FlexibleLoad(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A load that needs ``energy_mwh`` over the horizon within ``[p_min_mw, p_max_mw]``."""

    id: str
    bus: str
    p_min_mw: NonNeg = 0.0
    p_max_mw: NonNeg
    energy_mwh: NonNeg


class InflexibleLoad(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    bus: str
    p_mw: list[NonNeg]


class Renewable(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    bus: str
    available_mw: list[NonNeg]
    curtailable: bool = True


class Portfolio(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    storages: list[Storage] = msgspec.field(default_factory=list)
    flexible_loads: list[FlexibleLoad] = msgspec.field(default_factory=list)
    inflexible_loads: list[InflexibleLoad] = msgspec.field(default_factory=list)
    renewables: list[Renewable] = msgspec.field(default_factory=list)
    grid_limit_mw: NonNeg | None = None


class PriceForecast(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Per period. DLFM prices are per bus; a bus without prices has no DLFM there."""

    day_ahead_eur_per_mwh: list[float]
    reserve_up_eur_per_mw_h: list[NonNeg] = msgspec.field(default_factory=list)
    reserve_down_eur_per_mw_h: list[NonNeg] = msgspec.field(default_factory=list)
    dlfm_p_eur_per_mwh: dict[str, list[float]] = msgspec.field(default_factory=dict)
    dlfm_q_eur_per_mvarh: dict[str, list[float]] = msgspec.field(default_factory=dict)
    dlfm_limit_mw: NonNeg | None = None


class ScheduleOptions(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    markets: list[Market] = msgspec.field(default_factory=lambda: list(ALL_MARKETS))
    start: Annotated[
        datetime | None, Meta(description="start of period 0 (UTC); echoed on the result")
    ] = None
    period_hours: Annotated[float, Meta(gt=0.0, le=24.0)] = 1.0
    reserve_duration_h: NonNeg = 1.0
    exclusive_charging: Annotated[
        bool, Meta(description="binaries forbid charging and discharging at once (MILP)")
    ] = True
    compare_markets: Annotated[
        bool, Meta(description="also solve each market alone and report the stacking gain")
    ] = False
    time_limit_s: Annotated[float, Meta(gt=0.0)] = 120.0


class ScheduleInput(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    portfolio: Portfolio
    prices: PriceForecast
    options: ScheduleOptions = msgspec.field(default_factory=ScheduleOptions)


class AssetSchedule(msgspec.Struct, frozen=True, kw_only=True):
    asset_id: str
    bus: str
    p_mw: Annotated[list[float], Meta(description="net injection per period")]
    soc_mwh: list[float] = msgspec.field(default_factory=list)
    q_mvar: list[float] = msgspec.field(default_factory=list)
    reserve_up_mw: list[float] = msgspec.field(default_factory=list)
    reserve_down_mw: list[float] = msgspec.field(default_factory=list)


class BidStep(msgspec.Struct, frozen=True, kw_only=True):
    price: float
    quantity: Annotated[
        float, Meta(description="MW (Mvar); positive = sell/inject, negative = buy")
    ]


class Bid(msgspec.Struct, frozen=True, kw_only=True):
    """A price-quantity curve for one market, bus and period: the seller delivers every
    positive step priced at or below the clearing price and every negative step priced at or
    above it."""

    market: Literal["day_ahead", "reserve_up", "reserve_down", "dlfm_p", "dlfm_q"]
    bus: str
    period_index: int
    steps: list[BidStep]


class MarketRevenue(msgspec.Struct, frozen=True, kw_only=True):
    day_ahead_eur: float = 0.0
    reserve_eur: float = 0.0
    dlfm_p_eur: float = 0.0
    dlfm_q_eur: float = 0.0
    asset_cost_eur: float = 0.0

    @property
    def profit_eur(self) -> float:
        return (
            self.day_ahead_eur + self.reserve_eur + self.dlfm_p_eur + self.dlfm_q_eur
        ) - self.asset_cost_eur


class StackingReport(msgspec.Struct, frozen=True, kw_only=True):
    profit_by_market_alone_eur: dict[str, float | None]
    best_single_market: str | None
    co_optimised_profit_eur: float
    stacking_gain_eur: float


class ScheduleResult(msgspec.Struct, frozen=True, kw_only=True):
    status: Status
    condition: str
    message: str = ""
    start: datetime | None = None
    period_hours: float = 1.0
    profit_eur: float | None = None
    opex_eur: float | None = None
    revenue: MarketRevenue | None = None
    day_ahead_mw: list[float] = msgspec.field(default_factory=list)
    dlfm_p_mw: dict[str, list[float]] = msgspec.field(default_factory=dict)
    dlfm_q_mvar: dict[str, list[float]] = msgspec.field(default_factory=dict)
    reserve_up_mw: list[float] = msgspec.field(default_factory=list)
    reserve_down_mw: list[float] = msgspec.field(default_factory=list)
    assets: list[AssetSchedule] = msgspec.field(default_factory=list)
    water_value_eur_per_mwh: dict[str, list[float]] = msgspec.field(default_factory=dict)
    bids: list[Bid] = msgspec.field(default_factory=list)
    stacking: StackingReport | None = None
    solve_time_s: float = 0.0


class StrategicOffer(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ESP's DLFM flexibility at a bus with its true marginal cost (e.g. from the water
    values of a schedule); the bidding mode chooses the asking price."""

    id: str
    seller_id: str
    bus: str
    p_up_mw: NonNeg = 0.0
    p_down_mw: NonNeg = 0.0
    cost_up_eur_per_mwh: float = 0.0
    cost_down_eur_per_mwh: float = 0.0
    periods: list[Annotated[int, Meta(ge=0)]] = msgspec.field(default_factory=lambda: [0])


class BiddingInput(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Bidding in the DLFM (HLUC_02_UCS_03): price-taking (offer at cost) against an iterative
    best response to the FMCT clearing (each strategic seller in turn picks the asking price
    that maximises its profit given the others' offers, until no one changes)."""

    network: Literal["case33bw", "cigre_mv", "cigre_mv_no_der"] = "case33bw"
    line_max_i_ka: dict[str, float] = msgspec.field(default_factory=dict)
    schedules: list[PeriodSchedule] = msgspec.field(default_factory=list)
    requests: list[ClearingRequest] = msgspec.field(default_factory=list)
    competitors: list[ClearingOffer] = msgspec.field(default_factory=list)
    esp_offers: Annotated[list[StrategicOffer], Meta(min_length=1)]
    options: ClearingOptions = msgspec.field(default_factory=ClearingOptions)
    markups: list[NonNeg] = msgspec.field(default_factory=lambda: [0.25, 0.5, 1.0, 2.0])
    max_rounds: Annotated[int, Meta(ge=1, le=20)] = 5
    refine_steps: Annotated[int, Meta(ge=0, le=20)] = 6


class SellerOutcome(msgspec.Struct, frozen=True, kw_only=True):
    seller_id: str
    price_up_eur_per_mwh: float
    price_down_eur_per_mwh: float
    dispatched_mwh: float
    payment_eur: float
    cost_eur: float
    profit_eur: float


class BiddingRun(msgspec.Struct, frozen=True, kw_only=True):
    status: Status
    message: str = ""
    sellers: list[SellerOutcome] = msgspec.field(default_factory=list)
    dlmp_p_eur_per_mwh: dict[str, float] = msgspec.field(default_factory=dict)
    esp_profit_eur: float = 0.0


class BiddingResult(msgspec.Struct, frozen=True, kw_only=True):
    status: Status
    message: str = ""
    price_taking: BiddingRun | None = None
    best_response: BiddingRun | None = None
    rounds: int = 0
    converged: bool = False
    clearings: int = 0
    strategic_gain_eur: float = 0.0


class PriceLevel(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One hour of a scenario day: the load level and the upstream (wholesale) price."""

    load_scaling: NonNeg = 1.0
    sgen_scaling: NonNeg = 1.0
    upstream_price_eur_per_mwh: float


class Scenario(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    days_per_year: Annotated[float, Meta(gt=0.0, le=366.0)]
    hours: Annotated[list[PriceLevel], Meta(min_length=1)]
    pv_availability: list[Annotated[float, Meta(ge=0.0, le=1.0)]] = msgspec.field(
        default_factory=list
    )


class Candidate(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    bus: str
    technology: Literal["storage", "pv"]
    max_mw: Annotated[float, Meta(gt=0.0)]
    capex_eur_per_mw: NonNeg
    capex_eur_per_mwh: NonNeg = 0.0
    duration_h: Annotated[float, Meta(gt=0.0)] = 2.0
    fixed_om_eur_per_mw_year: NonNeg = 0.0
    fixed_capex_eur: Annotated[NonNeg, Meta(description="per site built (connection, permits)")] = (
        0.0
    )
    eta_round_trip: Annotated[float, Meta(gt=0.0, le=1.0)] = 0.9


class SizingInput(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Sizing and siting (HLUC_02_UCS_02): nodal prices per scenario hour come from the FMCT
    clearing of the network with the existing flexibility offers; the investment MILP then picks
    sites and sizes that maximise NPV over the horizon."""

    network: Literal["case33bw", "cigre_mv", "cigre_mv_no_der"] = "case33bw"
    line_max_i_ka: dict[str, float] = msgspec.field(default_factory=dict)
    existing_offers: list[ClearingOffer] = msgspec.field(default_factory=list)
    clearing: ClearingOptions = msgspec.field(default_factory=ClearingOptions)
    scenarios: Annotated[list[Scenario], Meta(min_length=1)]
    candidates: Annotated[list[Candidate], Meta(min_length=1)]
    horizon_years: Annotated[int, Meta(ge=1, le=50)] = 15
    discount_rate: Annotated[float, Meta(ge=0.0, lt=1.0)] = 0.06
    price_growth_per_year: float = 0.0
    budget_eur: NonNeg | None = None
    max_sites: Annotated[int, Meta(ge=1)] | None = None


class SitedAsset(msgspec.Struct, frozen=True, kw_only=True):
    candidate_id: str
    bus: str
    technology: str
    size_mw: float
    energy_mwh: float
    capex_eur: float
    annual_margin_eur: float


class SizingPlan(msgspec.Struct, frozen=True, kw_only=True):
    assets: list[SitedAsset]
    capex_eur: float
    annual_cash_flow_eur: float
    npv_eur: float
    payback_years: float | None


class SizingResult(msgspec.Struct, frozen=True, kw_only=True):
    status: Status
    message: str = ""
    nodal: SizingPlan | None = None
    uniform: Annotated[
        SizingPlan | None,
        Meta(
            description="the plan chosen with every bus at the upstream price, valued at nodal prices"
        ),
    ] = None
    network_effect_eur: Annotated[
        float,
        Meta(
            description="NPV of the nodal plan minus NPV of the network-blind plan, both at nodal prices"
        ),
    ] = 0.0
    nodal_prices_eur_per_mwh: dict[str, dict[str, list[float]]] = msgspec.field(
        default_factory=dict
    )
    binding_lines: dict[str, list[str]] = msgspec.field(default_factory=dict)
    solve_time_s: float = 0.0
