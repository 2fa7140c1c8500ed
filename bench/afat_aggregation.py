"""AFAT centralised aggregation at scale: 10,000 prosumers x 96 quarter-hour slots answering an
evening-peak FlexRequest, offer curve included. Target: under 60 s on this machine.

Run: python -m bench.afat_aggregation [--prosumers N] [--offer-steps K]
Load and PV shapes are a real day (2016-06-01) of SimBench's H0-A and PV3 profiles when the
simbench package is installed, otherwise smooth stand-in shapes.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime

import numpy as np

from engines.afat.aggregation import aggregate_centralised
from engines.afat.sample import day_shapes, household_portfolio
from engines.afat.schema import AggregationInput, AggregationOptions, FlexRequestSpec

TARGET_S = 60.0


def shapes() -> tuple[np.ndarray, np.ndarray, str]:
    try:
        from engines.afat import profiles

        load = profiles.window(profiles.load_profile("H0-A"), 152, 1)
        pv = profiles.window(profiles.pv_profile("PV3"), 152, 1)
        return load / load.max(), pv / pv.max(), "simbench H0-A / PV3, 2016-06-01"
    except ImportError:
        load, pv = day_shapes(96)
        return load, pv, "stand-in shapes"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prosumers", type=int, default=10_000)
    parser.add_argument("--offer-steps", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument(
        "--solver",
        choices=[
            "auto",
            "prosumer_columns",
            "storage_window",
            "battery_split",
            "single_lp",
            "decomposed",
        ],
        default="auto",
    )
    args = parser.parse_args()
    load, pv, source = shapes()
    prosumers = household_portfolio(args.prosumers, load, pv, seed=1)
    peak = [68 <= t < 84 for t in range(96)]  # 17:00-21:00
    data = AggregationInput(
        horizon_start=datetime(2016, 6, 1, tzinfo=UTC),
        slot_minutes=15,
        energy_price_eur_per_mwh=list(60 + 40 * np.sin((np.arange(96) / 96 - 0.3) * 2 * np.pi)),
        request=FlexRequestSpec(
            node_mrid="node-1",
            direction="up",
            volume_mw=[0.5e-3 * args.prosumers if p else 0.0 for p in peak],
            price_eur_per_mwh=[250.0 if p else 0.0 for p in peak],
        ),
        prosumers=prosumers,
        options=AggregationOptions(
            offer_steps=args.offer_steps,
            chunk_prosumers=args.chunk,
            centralised_solver=args.solver,
        ),
    )
    stages: list[tuple[float, str]] = []
    started = time.perf_counter()
    result = aggregate_centralised(data, lambda f, s: stages.append((time.perf_counter(), s)))
    elapsed = time.perf_counter() - started
    peak_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    previous = started
    for at, stage in stages:
        print(f"  {at - started:7.2f} s  (+{at - previous:6.2f})  {stage}")
        previous = at
    print(f"profiles: {source}")
    print(
        f"{args.prosumers} prosumers x 96 slots, {args.offer_steps} offer steps, "
        f"{args.solver}: {result.status}"
    )
    print(
        f"social welfare {result.social_welfare_eur:.2f} EUR, {len(result.offer_steps)} offer steps"
    )
    print(f"time {elapsed:.1f} s, peak RSS {peak_bytes / 2**20:.0f} MiB")
    print(f"target {TARGET_S:.0f} s: {'PASS' if elapsed < TARGET_S else 'MISS'}")


if __name__ == "__main__":
    main()
