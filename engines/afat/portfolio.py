"""An aggregator's portfolio of prosumers and their FlexAssets (seed Annex 7.1, the inputs of the
"Flexibility Aggregation Algorithm": forecast consumption and RES production curves, batteries'
state of charge, flexibility preferences or utility functions of each end prosumer).

Household scale: power in kW, energy in kWh, slots indexed from the start of the horizon.
Discomfort and degradation are money per MWh (the market's unit). Cross-field checks that need
the horizon length live on the aggregation input (`engines.afat.schema`).
"""

from __future__ import annotations

import itertools
from typing import Annotated

import msgspec

Kw = Annotated[float, msgspec.Meta(ge=0.0, le=100_000.0)]
Kwh = Annotated[float, msgspec.Meta(ge=0.0, le=1_000_000.0)]
Slot = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Efficiency = Annotated[float, msgspec.Meta(gt=0.0, le=1.0)]
CostPerMwh = Annotated[float, msgspec.Meta(ge=0.0, le=100_000.0)]
Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Series = Annotated[list[Kw], msgspec.Meta(max_length=10_000)]
ProsumerId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]


class _In(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class Battery(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A home battery. `soc_final_min_kwh` (default: the initial SoC) stops a flexibility
    event from being paid for by emptying the battery for the next day."""

    capacity_kwh: Annotated[float, msgspec.Meta(gt=0.0, le=1_000_000.0)]
    soc_initial_kwh: Kwh
    soc_min_kwh: Kwh = 0.0
    soc_max_kwh: Kwh | None = None
    soc_final_min_kwh: Kwh | None = None
    p_charge_max_kw: Kw
    p_discharge_max_kw: Kw
    efficiency_charge: Efficiency = 0.95
    efficiency_discharge: Efficiency = 0.95
    degradation_eur_per_mwh: Annotated[
        CostPerMwh, msgspec.Meta(description="Wear cost per MWh discharged")
    ] = 0.0

    @property
    def soc_upper_kwh(self) -> float:
        return self.capacity_kwh if self.soc_max_kwh is None else self.soc_max_kwh

    @property
    def soc_final_kwh(self) -> float:
        return self.soc_initial_kwh if self.soc_final_min_kwh is None else self.soc_final_min_kwh

    def __post_init__(self) -> None:
        upper = self.soc_upper_kwh
        if upper > self.capacity_kwh:
            raise ValueError(f"soc_max_kwh {upper} exceeds capacity_kwh {self.capacity_kwh}")
        if not self.soc_min_kwh <= self.soc_initial_kwh <= upper:
            raise ValueError(
                f"soc_initial_kwh {self.soc_initial_kwh} outside [soc_min_kwh {self.soc_min_kwh}, "
                f"soc_max_kwh {upper}]"
            )
        if not self.soc_min_kwh <= self.soc_final_kwh <= upper:
            raise ValueError(f"soc_final_min_kwh {self.soc_final_kwh} outside the SoC bounds")


class EvCharging(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An EV plugged in from `arrival_slot` to `departure_slot` (exclusive) that must take
    `energy_need_kwh` into its battery. `delay_cost_eur_per_mwh_h` is the owner's discomfort
    per MWh per hour the charging happens after arrival (their preference for early charging)."""

    arrival_slot: Slot
    departure_slot: Slot
    energy_need_kwh: Kwh
    p_max_kw: Kw
    efficiency: Efficiency = 0.92
    delay_cost_eur_per_mwh_h: CostPerMwh = 0.0

    def __post_init__(self) -> None:
        if self.departure_slot <= self.arrival_slot:
            raise ValueError("departure_slot must be after arrival_slot")


class ShiftableLoad(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An appliance with a preferred profile (starting at `preferred_start_slot`) whose energy
    may move anywhere in [`earliest_slot`, `latest_end_slot`) at up to `p_max_kw` per slot.
    Discomfort is paid per MWh moved away from the preferred slots. Treated as divisible (an
    LP relaxation of an appliance cycle)."""

    profile_kw: Annotated[list[Kw], msgspec.Meta(min_length=1, max_length=10_000)]
    preferred_start_slot: Slot
    earliest_slot: Slot
    latest_end_slot: Slot
    p_max_kw: Kw
    discomfort_eur_per_mwh: CostPerMwh

    def __post_init__(self) -> None:
        end = self.preferred_start_slot + len(self.profile_kw)
        if not self.earliest_slot <= self.preferred_start_slot or end > self.latest_end_slot:
            raise ValueError(
                f"preferred slots [{self.preferred_start_slot}, {end}) outside the window "
                f"[{self.earliest_slot}, {self.latest_end_slot})"
            )
        if max(self.profile_kw) > self.p_max_kw:
            raise ValueError("profile_kw exceeds p_max_kw")


class CurtailableLoad(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A load (heat pump, air conditioning) that may be reduced by up to
    `max_curtail_fraction` of its demand in each slot. Its discomfort is piecewise linear and
    convex: the curtailable part is cut into equal segments whose costs per MWh are
    `discomfort_eur_per_mwh` (nondecreasing), i.e. a concave utility of consumption."""

    demand_kw: Series
    max_curtail_fraction: Fraction
    discomfort_eur_per_mwh: Annotated[list[CostPerMwh], msgspec.Meta(min_length=1, max_length=10)]

    def __post_init__(self) -> None:
        if any(b < a for a, b in itertools.pairwise(self.discomfort_eur_per_mwh)):
            raise ValueError("discomfort_eur_per_mwh must be nondecreasing (convex discomfort)")


class Pv(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Rooftop PV: its forecast production; `curtailable` lets the aggregator spill it."""

    forecast_kw: Series
    curtailable: bool = True


class Prosumer(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: ProsumerId
    inflexible_kw: Annotated[Series, msgspec.Meta(description="Forecast ECC of the fixed part")]
    pv: Pv | None = None
    battery: Battery | None = None
    ev: EvCharging | None = None
    shiftable: Annotated[list[ShiftableLoad], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    curtailable: CurtailableLoad | None = None


def horizon_findings(prosumers: list[Prosumer], slots: int, slot_hours: float) -> list[str]:
    """What in the portfolio does not fit a horizon of `slots` slots (each finding names the
    prosumer by index and id, and the field)."""
    out: list[str] = []
    seen: set[str] = set()
    for n, p in enumerate(prosumers):
        where = f"prosumers[{n}] ({p.id})"
        if p.id in seen:
            out.append(f"{where}: duplicate prosumer id")
        seen.add(p.id)
        if len(p.inflexible_kw) != slots:
            out.append(f"{where}.inflexible_kw: {len(p.inflexible_kw)} values for {slots} slots")
        if p.pv is not None and len(p.pv.forecast_kw) != slots:
            out.append(f"{where}.pv.forecast_kw: {len(p.pv.forecast_kw)} values for {slots} slots")
        if p.curtailable is not None and len(p.curtailable.demand_kw) != slots:
            out.append(
                f"{where}.curtailable.demand_kw: {len(p.curtailable.demand_kw)} values "
                f"for {slots} slots"
            )
        if p.ev is not None:
            ev = p.ev
            if ev.departure_slot > slots:
                out.append(f"{where}.ev.departure_slot {ev.departure_slot} beyond {slots} slots")
            reachable = ev.p_max_kw * ev.efficiency * slot_hours
            reachable *= min(ev.departure_slot, slots) - ev.arrival_slot
            if ev.energy_need_kwh > reachable + 1e-9:
                out.append(
                    f"{where}.ev.energy_need_kwh {ev.energy_need_kwh} cannot be charged in its "
                    f"window (at most {reachable:.3f} kWh)"
                )
        for k, s in enumerate(p.shiftable):
            if s.latest_end_slot > slots:
                out.append(
                    f"{where}.shiftable[{k}].latest_end_slot {s.latest_end_slot} beyond {slots} slots"
                )
        if p.battery is not None:
            b = p.battery
            # The final SoC must be reachable from the initial one by charging.
            gain = b.p_charge_max_kw * b.efficiency_charge * slot_hours * slots
            if b.soc_final_kwh > b.soc_initial_kwh + gain + 1e-9:
                out.append(f"{where}.battery.soc_final_min_kwh cannot be reached in the horizon")
    return out
