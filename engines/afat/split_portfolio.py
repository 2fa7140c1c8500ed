"""The portfolio as the storage solvers see it (`storage_window`, `prosumer_columns`,
`storage_split`): the LP of every device but the batteries, and the batteries apart as arrays
for the state-of-charge dynamic programme (`engines.afat.soc_value`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.afat.highs import SolveStatus
from engines.afat.lp import FloatArray, IntArray, PortfolioLp, build_without_batteries
from engines.afat.portfolio import Prosumer
from engines.afat.soc_value import BatteryArrays


@dataclass(frozen=True)
class SplitPortfolio:
    requested: IntArray  # the request's slots (the balance rows' slots)
    slots: int
    dt: float  # slot length, hours
    price_kwh: FloatArray  # energy price per slot, EUR per kWh
    plain: PortfolioLp  # every device but the batteries
    owners: IntArray  # prosumer index of each battery
    bat: BatteryArrays

    @classmethod
    def of(
        cls,
        prosumers: list[Prosumer],
        slots: int,
        slot_hours: float,
        energy_price_eur_per_mwh: FloatArray,
        requested: IntArray,
    ) -> SplitPortfolio:
        asked = np.asarray(requested, dtype=np.int64)
        owners, bat = battery_arrays(prosumers)
        return cls(
            requested=asked,
            slots=slots,
            dt=slot_hours,
            price_kwh=np.asarray(energy_price_eur_per_mwh, dtype=np.float64) / 1000,
            plain=build_without_batteries(
                prosumers, slots, slot_hours, energy_price_eur_per_mwh, asked
            ),
            owners=owners,
            bat=bat,
        )

    @property
    def n(self) -> int:
        return len(self.requested)


@dataclass(frozen=True)
class StorageSolution:
    """A storage solver's solve: device cost not yet relative to the baseline."""

    status: SolveStatus
    condition: str
    device_cost_eur: float  # energy, discomfort and wear of the whole portfolio
    p_kw: FloatArray  # aggregate prosumption in the requested slots
    duals: FloatArray  # EUR per kW of prosumption per requested slot
    rounds: int = 1  # pricing rounds (1 for one LP solve)


def battery_arrays(prosumers: list[Prosumer]) -> tuple[IntArray, BatteryArrays]:
    """The indices of prosumers with a battery and their batteries' parameters."""
    owners = np.array([i for i, p in enumerate(prosumers) if p.battery is not None], dtype=np.int64)
    bats = [prosumers[i].battery for i in owners]

    def col(f: str) -> FloatArray:
        return np.array([getattr(b, f) for b in bats], dtype=np.float64)

    return owners, BatteryArrays(
        soc_initial=col("soc_initial_kwh"),
        soc_min=col("soc_min_kwh"),
        soc_max=col("soc_upper_kwh"),
        soc_final=col("soc_final_kwh"),
        p_charge=col("p_charge_max_kw"),
        p_discharge=col("p_discharge_max_kw"),
        eta_charge=col("efficiency_charge"),
        eta_discharge=col("efficiency_discharge"),
        wear_eur_per_kwh=col("degradation_eur_per_mwh") / 1000,
    )
