"""Input and result of the `afat-aggregate` engine (HLUC_04_UCS_01, seed Annex 7.1).

The aggregator answers one FlexRequest (a volume per slot of its horizon, a direction and the
buyer's price per slot) for its portfolio behind the request's node. Welfare figures are
changes against the portfolio's baseline: the schedule its prosumers follow at the forecast
energy price when nobody asks for flexibility.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec

from engines.afat.portfolio import Prosumer, horizon_findings

Status = Literal["optimal", "infeasible", "time_limit", "error"]
Mrid = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:#-]+$")]
Price = Annotated[float, msgspec.Meta(ge=-100_000.0, le=100_000.0)]
MegaWatt = Annotated[float, msgspec.Meta(ge=0.0, le=10_000.0)]


class _In(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class FlexRequestSpec(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the buyer asks for, slot by slot (0 MW: nothing asked in that slot).

    `up`: less consumption or more generation than the baseline; `down`: the opposite."""

    request_id: str | None = None
    node_mrid: Mrid
    direction: Literal["up", "down"]
    volume_mw: Annotated[list[MegaWatt], msgspec.Meta(min_length=1, max_length=10_000)]
    price_eur_per_mwh: Annotated[
        list[Price], msgspec.Meta(description="Buyer's price per slot (its maximum)")
    ]


class AggregationOptions(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    method: Literal["centralised", "decentralised"] = "centralised"
    offer_steps: Annotated[
        int, msgspec.Meta(ge=1, le=20, description="Price levels of the offer curve")
    ] = 5
    offer_markup_fraction: Annotated[
        float,
        msgspec.Meta(ge=0.0, le=10.0, description="Aggregator's margin on its marginal cost"),
    ] = 0.0
    admm_rho_eur_per_kw2: Annotated[
        float,
        msgspec.Meta(
            ge=0.0, le=1e6, description="ADMM penalty per slot; 0 picks one from the request"
        ),
    ] = 0.0
    admm_max_iterations: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1000
    admm_tolerance_kw: Annotated[
        float, msgspec.Meta(gt=0.0, le=1e6, description="Primal and dual residual bound")
    ] = 0.003
    centralised_solver: Annotated[
        Literal[
            "auto", "prosumer_columns", "storage_window", "battery_split", "decomposed", "single_lp"
        ],
        msgspec.Meta(
            description=(
                "All exact: single_lp (one LP of the portfolio); storage_window (each battery "
                "reduced to the request's window with exact value functions of its state of "
                "charge outside it); prosumer_columns (Dantzig-Wolfe, one block per prosumer's "
                "devices and per battery); battery_split (batteries priced by column generation "
                "next to the non-storage LP); decomposed (Dantzig-Wolfe over chunks of "
                "prosumers). auto picks storage_window up to 1,000 prosumers, prosumer_columns "
                "above"
            )
        ),
    ] = "auto"
    chunk_prosumers: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=100_000,
            description="Prosumers (batteries for battery_split) per decomposition block",
        ),
    ] = 50
    include_setpoints: bool = True
    time_limit_s: Annotated[float, msgspec.Meta(gt=0.0, le=86_400.0)] = 600.0


class AggregationInput(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    horizon_start: Annotated[datetime, msgspec.Meta(tz=True)]
    slot_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 15
    energy_price_eur_per_mwh: Annotated[
        list[Price],
        msgspec.Meta(
            min_length=1, max_length=10_000, description="Forecast price the portfolio buys at"
        ),
    ]
    request: FlexRequestSpec
    prosumers: Annotated[list[Prosumer], msgspec.Meta(min_length=1, max_length=200_000)]
    options: AggregationOptions = msgspec.field(default_factory=AggregationOptions)

    @property
    def slots(self) -> int:
        return len(self.energy_price_eur_per_mwh)

    @property
    def slot_hours(self) -> float:
        return self.slot_minutes / 60

    def slot_start(self, slot: int) -> datetime:
        return self.horizon_start + timedelta(minutes=self.slot_minutes * slot)

    def __post_init__(self) -> None:
        slots = self.slots
        found: list[str] = []
        for name in ("volume_mw", "price_eur_per_mwh"):
            got = len(getattr(self.request, name))
            if got != slots:
                found.append(f"request.{name}: {got} values for {slots} slots")
        if not any(self.request.volume_mw):
            found.append("request.volume_mw: no slot asks for flexibility")
        found += horizon_findings(self.prosumers, slots, self.slot_hours)
        if found:
            shown = "; ".join(found[:10])
            more = f" (and {len(found) - 10} more)" if len(found) > 10 else ""
            raise ValueError(shown + more)


class ProsumerSchedule(msgspec.Struct, frozen=True, kw_only=True):
    """One prosumer's setpoints (kW per slot) and its share of the welfare."""

    id: str
    prosumption_kw: list[float]
    baseline_kw: list[float]
    battery_kw: list[float] = msgspec.field(default_factory=list)
    battery_soc_kwh: list[float] = msgspec.field(default_factory=list)
    ev_kw: list[float] = msgspec.field(default_factory=list)
    shiftable_kw: list[float] = msgspec.field(default_factory=list)
    curtailed_kw: list[float] = msgspec.field(default_factory=list)
    pv_curtailed_kw: list[float] = msgspec.field(default_factory=list)


class UserWelfare(msgspec.Struct, frozen=True, kw_only=True):
    """A prosumer's gain against its baseline: what the aggregator pays it for its deviation
    at the internal prices, minus its extra energy bill, discomfort and battery wear."""

    id: str
    welfare_eur: float
    payment_eur: float
    discomfort_eur: float
    flexibility_mwh: float


class OfferStep(msgspec.Struct, frozen=True, kw_only=True):
    """One price-quantity step of the offer in one slot: `p_mw` more at `price_eur_per_mwh`
    on top of the cheaper steps of the same slot (`cumulative_mw` with them)."""

    slot: int
    start: datetime
    price_eur_per_mwh: float
    p_mw: float
    cumulative_mw: float


class AggregationResult(msgspec.Struct, frozen=True, kw_only=True):
    status: Status
    condition: str = ""
    message: str = ""
    method: Literal["centralised", "decentralised"] = "centralised"
    request_id: str | None = None
    node_mrid: str = ""
    direction: Literal["up", "down"] = "up"
    horizon_start: datetime | None = None
    slot_minutes: int = 15
    # Seed Annex 7.1 outputs of the Flexibility Aggregation Algorithm.
    optimal_prosumption_schedules: list[ProsumerSchedule] = msgspec.field(default_factory=list)
    aggregated_users_welfare_eur: float = 0.0
    users_welfare: list[UserWelfare] = msgspec.field(default_factory=list)
    social_welfare_eur: float = 0.0
    aggregator_profit_eur: float = 0.0
    # How the figures above decompose.
    flexibility_revenue_eur: float = 0.0
    energy_cost_change_eur: float = 0.0
    discomfort_eur: float = 0.0
    flexibility_mw: list[float] = msgspec.field(default_factory=list)
    baseline_mw: list[float] = msgspec.field(default_factory=list)
    prosumption_mw: list[float] = msgspec.field(default_factory=list)
    internal_price_eur_per_mwh: Annotated[
        list[float],
        msgspec.Meta(description="What the aggregator pays per MWh of consumption decrease"),
    ] = msgspec.field(default_factory=list)
    offer_steps: list[OfferStep] = msgspec.field(default_factory=list)
    iterations: int = 0
    coupling_violation_kw: float = 0.0
    solve_time_s: float = 0.0
