"""Input and result of the `afat-pricing` engine: the retail pricing algorithm (HLUC_04_UCS_02,
seed Annex 7.1) compares FlexContracts by simulating how the retailer's prosumers respond."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

Kw = Annotated[float, msgspec.Meta(ge=0.0, le=100_000.0)]
Price = Annotated[float, msgspec.Meta(ge=-100_000.0, le=100_000.0)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Curve = Annotated[list[Kw], msgspec.Meta(min_length=1, max_length=400_000)]


class _In(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class RetailProsumer(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A prosumer's historical consumption (ECC) and production (RESPC) curves, its flexibility
    factor (the share of each day's consumption it is willing to move within the day) and its
    quadratic discomfort for moving it (EUR per kW squared per hour)."""

    id: Name
    consumption_kw: Curve
    production_kw: Curve | None = None
    flexibility_factor: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.0
    discomfort_eur_per_kw2h: Annotated[float, msgspec.Meta(gt=0.0, le=1e4)] = 0.05


class SimbenchPortfolio(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Prosumers built from SimBench's real 2016 profiles: each takes a household load profile
    (cycling through `load_profiles`) scaled to `annual_kwh`, and every `pv_every`-th one a PV
    plant of `pv_kwp` from `pv_profile`."""

    prosumers: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    first_day: Annotated[int, msgspec.Meta(ge=0, le=365)] = 0
    days: Annotated[int, msgspec.Meta(ge=1, le=366)] = 7
    load_profiles: Annotated[list[str], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["H0-A", "H0-B", "H0-C"]
    )
    annual_kwh: Annotated[float, msgspec.Meta(gt=0.0, le=1e7)] = 3500.0
    pv_profile: str = "PV3"
    pv_kwp: Annotated[float, msgspec.Meta(ge=0.0, le=1e4)] = 5.0
    pv_every: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 3
    flexibility_factor: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.2
    discomfort_eur_per_kw2h: Annotated[float, msgspec.Meta(gt=0.0, le=1e4)] = 0.05


class Contract(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A FlexContract type. Prices are set to recover the wholesale cost of the historical
    (unresponsive) consumption times (1 + margin): `fixed` one price; `tou` one price per band
    (peak hours vs the rest); `rtp` the wholesale price of each slot."""

    name: Name
    kind: Literal["fixed", "tou", "rtp"]
    peak_hours: Annotated[
        list[Annotated[int, msgspec.Meta(ge=0, le=23)]], msgspec.Meta(max_length=24)
    ] = msgspec.field(default_factory=lambda: list(range(8, 20)))


class RetailInput(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    start: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    slot_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 15
    wholesale_price_eur_per_mwh: Annotated[
        list[Price], msgspec.Meta(min_length=1, max_length=400_000)
    ]
    energy_cost_quadratic_eur_per_mw2h: Annotated[
        float,
        msgspec.Meta(ge=0.0, le=1e6, description="Convex term of the retailer's energy cost"),
    ] = 0.0
    retailer_margin: Annotated[float, msgspec.Meta(ge=-0.9, le=10.0)] = 0.1
    feed_in_eur_per_mwh: Price = 0.0
    value_of_energy_eur_per_mwh: Annotated[
        float, msgspec.Meta(ge=0.0, le=100_000.0, description="Prosumers' utility per MWh used")
    ] = 300.0
    prosumers: list[RetailProsumer] = msgspec.field(default_factory=list)
    simbench: SimbenchPortfolio | None = None
    contracts: Annotated[list[Contract], msgspec.Meta(min_length=1, max_length=20)]

    def __post_init__(self) -> None:
        if bool(self.prosumers) == (self.simbench is not None):
            raise ValueError("give either prosumers (curves) or simbench (a portfolio to build)")
        slots = len(self.wholesale_price_eur_per_mwh)
        per_day = 1440 // self.slot_minutes
        if 1440 % self.slot_minutes or slots % per_day:
            raise ValueError("the horizon must be whole days of whole slots")
        if self.simbench is not None and self.simbench.days * 96 != slots * self.slot_minutes // 15:
            raise ValueError(
                f"simbench.days {self.simbench.days} does not match {slots} price slots"
            )
        if self.simbench is not None and self.slot_minutes != 15:
            raise ValueError("simbench profiles are 15-minute: slot_minutes must be 15")
        for n, p in enumerate(self.prosumers):
            for name in ("consumption_kw", "production_kw"):
                curve = getattr(p, name)
                if curve is not None and len(curve) != slots:
                    raise ValueError(
                        f"prosumers[{n}] ({p.id}).{name}: {len(curve)} values for {slots} slots"
                    )
        names = [c.name for c in self.contracts]
        if len(set(names)) != len(names):
            raise ValueError("contract names must be unique")


class ContractOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """Seed Annex 7.1 outputs of the Retail Pricing Algorithm for one contract."""

    name: str
    kind: str
    energy_cost_eur: float
    aggregated_users_welfare_eur: float
    retailer_profit_eur: float
    total_prosumption_mwh: float
    total_bills_eur: float
    social_welfare_eur: float
    discomfort_eur: float
    peak_mw: float
    tariff_eur_per_mwh: list[float]


class RetailResult(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["optimal", "error"]
    message: str = ""
    source: str = ""
    prosumers: int = 0
    slots: int = 0
    contracts: list[ContractOutcome] = msgspec.field(default_factory=list)
    best_social_welfare: str = ""
    best_retailer_profit: str = ""
