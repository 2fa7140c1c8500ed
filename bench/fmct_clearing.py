"""Benchmark: 33-bus feeder, 24 periods, 1,000 offers per period, AC-OPF clearing per period.

Usage: python bench/fmct_clearing.py [--workers 2] [--offers 1000] [--periods 24] [--repeat 3]
Prints the median wall time per run and per period. Not a timed test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import pandapower as pp
import pandapower.networks as pn

from engines.fmct.clearing import clear
from engines.fmct.schema import ClearingOffer, ClearingOptions, ClearingRequest, PeriodSchedule


def scenario(
    n_offers: int, n_periods: int, seed: int = 7
) -> tuple[object, list[PeriodSchedule], list[ClearingRequest], list[ClearingOffer]]:
    rng = random.Random(seed)
    net = pn.case33bw()
    probe = pn.case33bw()
    pp.runpp(probe, numba=False)
    net.line.loc[5, "max_i_ka"] = float(probe.res_line.at[5, "i_ka"]) * 0.95  # binds at peak
    start = datetime(2025, 1, 1, tzinfo=UTC)
    shape = [0.6 + 0.45 * max(0.0, 1 - abs(h - 18) / 8) for h in range(n_periods)]
    schedules = [
        PeriodSchedule(period_index=t, start=start + timedelta(hours=t), load_scaling=s)
        for t, s in enumerate(shape)
    ]
    offers = [
        ClearingOffer(
            id=f"o{t}-{i}",
            seller_id=f"s{i % 50}",
            bus=str(rng.randint(1, 32)),
            p_up_mw=rng.uniform(0.005, 0.05),
            p_down_mw=rng.uniform(0.0, 0.03),
            price_p_up_eur_per_mwh=rng.uniform(20, 120),
            price_p_down_eur_per_mwh=rng.uniform(0, 15),
            periods=[t],
        )
        for t in range(n_periods)
        for i in range(n_offers)
    ]
    requests = [
        ClearingRequest(
            id=f"r{t}",
            buyer_id="tso",
            bus="0",
            direction="up",
            p_mw=0.2,
            price_p_eur_per_mwh=150.0,
            periods=[t],
        )
        for t in range(n_periods)
    ]
    return net, schedules, requests, offers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--offers", type=int, default=1000)
    ap.add_argument("--periods", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--method", default="acopf", choices=["acopf", "milp"])
    args = ap.parse_args()
    net, schedules, requests, offers = scenario(args.offers, args.periods)
    walls = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        res = clear(
            net,
            schedules,
            requests,
            offers,
            ClearingOptions(method=args.method, pricing="nodal", v_min_pu=0.85),
            workers=args.workers,
        )
        walls.append(time.perf_counter() - started)
        binding = sum(bool(p.binding_branches) for p in res.periods)
        print(
            f"status={res.status} objective={res.objective_eur:.2f} EUR binding_periods={binding} wall={walls[-1]:.2f}s"
        )
    med = statistics.median(walls)
    print(
        f"median wall {med:.2f} s for {args.periods} periods x {args.offers} offers ({args.method}, {args.workers} workers); {med / args.periods:.3f} s per period"
    )


if __name__ == "__main__":
    main()
