"""A seeded household portfolio for benchmarks, demos and property tests.

Each prosumer scales the day's load and PV shapes it is given (real profiles from
`engines.afat.profiles`, or any shape) and draws its assets with shares typical of a
residential flexibility pilot: a third with rooftop PV, a fifth with a home battery, a sixth
with an EV charging overnight, most with a shiftable appliance, a third with a curtailable
heat pump or air conditioner.
"""

from __future__ import annotations

import numpy as np

from engines.afat.lp import FloatArray
from engines.afat.portfolio import (
    Battery,
    CurtailableLoad,
    EvCharging,
    Prosumer,
    Pv,
    ShiftableLoad,
)


def household_portfolio(
    count: int, load_shape: FloatArray, pv_shape: FloatArray, seed: int = 0
) -> list[Prosumer]:
    """`load_shape` and `pv_shape` (one value per slot, peak about 1) set the horizon."""
    rng = np.random.default_rng(seed)
    slots = len(load_shape)
    per_hour = slots / 24  # slots per hour on a one-day horizon
    out: list[Prosumer] = []
    for i in range(count):
        peak = rng.uniform(1.5, 4.0)
        load = np.round(load_shape * peak * rng.uniform(0.8, 1.2, slots), 3)
        pv = None
        if rng.random() < 0.35:
            pv = Pv(forecast_kw=np.round(pv_shape * rng.uniform(3.0, 8.0), 3).tolist())
        battery = None
        if rng.random() < 0.2:
            cap = float(rng.choice([5.0, 10.0, 13.5]))
            battery = Battery(
                capacity_kwh=cap,
                soc_initial_kwh=round(cap * rng.uniform(0.2, 0.8), 3),
                soc_min_kwh=round(cap * 0.1, 3),
                p_charge_max_kw=cap / 2,
                p_discharge_max_kw=cap / 2,
                degradation_eur_per_mwh=round(rng.uniform(20.0, 60.0), 1),
            )
        ev = None
        if rng.random() < 0.15:
            arrival = int(rng.integers(int(17 * per_hour), int(21 * per_hour)))
            p_max = float(rng.choice([3.7, 7.4, 11.0]))
            # At most 80% of what the window allows, so every draw is feasible.
            reachable = p_max * 0.92 * (slots - arrival) / per_hour
            need = round(min(rng.uniform(5.0, 20.0), 0.8 * reachable), 2)
            ev = EvCharging(
                arrival_slot=arrival,
                departure_slot=slots,
                energy_need_kwh=need,
                p_max_kw=p_max,
                delay_cost_eur_per_mwh_h=round(rng.uniform(0.5, 5.0), 2),
            )
        shiftable: list[ShiftableLoad] = []
        if rng.random() < 0.6:
            length = max(1, int(2 * per_hour))
            start = int(rng.integers(int(7 * per_hour), slots - 2 * length))
            earliest = max(0, start - int(rng.integers(0, int(4 * per_hour) + 1)))
            latest = min(slots, start + length + int(rng.integers(0, int(6 * per_hour) + 1)))
            shiftable.append(
                ShiftableLoad(
                    profile_kw=[2.0] * length,
                    preferred_start_slot=start,
                    earliest_slot=earliest,
                    latest_end_slot=latest,
                    p_max_kw=2.0,
                    discomfort_eur_per_mwh=round(rng.uniform(10.0, 80.0), 1),
                )
            )
        curtailable = None
        if rng.random() < 0.35:
            curtailable = CurtailableLoad(
                demand_kw=np.round(load_shape * rng.uniform(1.0, 3.0), 3).tolist(),
                max_curtail_fraction=round(rng.uniform(0.3, 0.8), 2),
                discomfort_eur_per_mwh=sorted(
                    round(float(v), 1) for v in rng.uniform(30.0, 400.0, 3)
                ),
            )
        out.append(
            Prosumer(
                id=f"h-{i:05d}",
                inflexible_kw=load.tolist(),
                pv=pv,
                battery=battery,
                ev=ev,
                shiftable=shiftable,
                curtailable=curtailable,
            )
        )
    return out


def day_shapes(slots: int) -> tuple[FloatArray, FloatArray]:
    """Smooth stand-in shapes (evening-peaking load, bell-shaped PV) for tests that must not
    depend on profile files."""
    hours = (np.arange(slots) + 0.5) * 24 / slots
    load = 0.35 + 0.25 * np.exp(-((hours - 8) ** 2) / 4) + 0.6 * np.exp(-((hours - 19) ** 2) / 6)
    pv = np.clip(np.sin((hours - 6) / 13 * np.pi), 0.0, None)
    pv[(hours < 6) | (hours > 19)] = 0.0
    return load / load.max(), pv
