"""FST scheduling of one year, hourly, for a storage portfolio (HLUC_02_UCS_01).

Three storages at two buses, a PV plant, a flexible and an inflexible load, all three markets
(day-ahead energy, up/down reserve, DLFM P and Q), binaries against simultaneous charging:
8,784 periods (2016 is a leap year). Prices are built from the SimBench year if simbench is
installed (a price shape from the normalised MV load profile), else from a fixed daily and
weekly shape; either way the model size is the same.

Target (issue 7): under 30 s on this machine. Reports build+solve wall time per run; the
median of ``--runs`` is compared with the target.
Run: .venv/bin/python -m bench.fst_schedule [--runs 3] [--days 366]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from engines.fst.scheduling import schedule
from engines.fst.schema import (
    FlexibleLoad,
    InflexibleLoad,
    Portfolio,
    PriceForecast,
    Renewable,
    ScheduleInput,
    ScheduleOptions,
    Storage,
)

TARGET_S = 30.0


def price_shape(hours: int) -> np.ndarray:
    try:
        from engines.forecast.profiles import simbench_profile

        load = np.asarray(simbench_profile("mv_rural_pload", "load", "load", 60).values[:hours])
    except Exception:  # no simbench: a deterministic daily/weekly shape
        h = np.arange(hours)
        load = 1.0 + 0.3 * np.sin(2 * np.pi * (h % 24 - 7) / 24) - 0.15 * ((h // 24) % 7 >= 5)
    return 20.0 + 60.0 * (load - load.min()) / (load.max() - load.min())


def case(days: int) -> ScheduleInput:
    hours = 24 * days
    da = price_shape(hours)
    h = np.arange(hours)
    pv = np.clip(np.sin(np.pi * ((h % 24) - 6) / 12), 0.0, None) * 2.0
    premium = np.where((h % 24 >= 17) & (h % 24 <= 20), 35.0, 0.0)
    return ScheduleInput(
        portfolio=Portfolio(
            storages=[
                Storage(
                    id="bat-1",
                    bus="10",
                    power_mw=1.0,
                    energy_mwh=2.0,
                    soc_initial_mwh=1.0,
                    s_max_mva=1.2,
                ),
                Storage(id="bat-2", bus="10", power_mw=0.5, energy_mwh=2.0, soc_initial_mwh=1.0),
                Storage(
                    id="bat-3",
                    bus="24",
                    power_mw=2.0,
                    energy_mwh=4.0,
                    soc_initial_mwh=2.0,
                    cycle_cost_eur_per_mwh=2.0,
                ),
            ],
            flexible_loads=[
                FlexibleLoad(id="hp", bus="24", p_min_mw=0.1, p_max_mw=0.8, energy_mwh=0.4 * hours)
            ],
            inflexible_loads=[InflexibleLoad(id="base", bus="24", p_mw=[0.3] * hours)],
            renewables=[Renewable(id="pv", bus="10", available_mw=[float(v) for v in pv])],
        ),
        prices=PriceForecast(
            day_ahead_eur_per_mwh=[float(v) for v in da],
            reserve_up_eur_per_mw_h=[6.0] * hours,
            reserve_down_eur_per_mw_h=[3.0] * hours,
            dlfm_p_eur_per_mwh={"10": [float(v) for v in da + premium]},
            dlfm_q_eur_per_mvarh={"10": [2.0] * hours},
            dlfm_limit_mw=1.0,
        ),
        options=ScheduleOptions(time_limit_s=600.0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=int, default=366)
    args = parser.parse_args()
    data = case(args.days)
    walls = []
    for run in range(args.runs):
        started = time.perf_counter()
        res = schedule(data)
        wall = time.perf_counter() - started
        walls.append(wall)
        print(
            f"run {run + 1}: {wall:6.2f} s wall (HiGHS {res.solve_time_s:6.2f} s), status {res.status}, "
            f"profit {res.profit_eur:,.0f} EUR, {len(data.prices.day_ahead_eur_per_mwh)} periods, {len(res.bids)} bids"
        )
    median = statistics.median(walls)
    verdict = "PASS" if median < TARGET_S else "MISS"
    print(f"median {median:.2f} s over {args.runs} runs; target < {TARGET_S:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
