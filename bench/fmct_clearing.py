"""Benchmark: FMCT clearing time against offers, network, periods and method (not a timed test).

Usage: python -m bench.fmct_clearing [--quick] [--workers 2] [--repeat 3]
Networks: 33-bus Baran-Wu (line 5 rated to bind at peak), CIGRE MV with PV and wind, and MATPOWER's
distribution cases case141 (141 buses) and case1197 (1,197 buses: a medium-voltage feeder with 22 low-voltage networks),
both converted by ``engines.fmct.cases`` (need the optional ``matpower`` and ``matpowercaseframes``
packages). Prints one row per run (median wall time of the repeats, status) and PASS/MISS against the
issue's targets:
33-bus, 24 periods, 1,000 offers by AC-OPF under 5 s; 10,000 offers, one period, under 10 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pandapower as pp
import pandapower.networks as pn

from engines.fmct.cases import matpower_net
from engines.fmct.clearing import clear
from engines.fmct.schema import ClearingOffer, ClearingOptions, ClearingRequest, PeriodSchedule

TARGETS = {("33-bus", 24, 1000, "acopf"): 5.0, ("33-bus", 1, 10000, "acopf"): 10.0}


def _feeder33() -> Any:
    net = pn.case33bw()
    probe = pn.case33bw()
    pp.runpp(probe, numba=False)
    net.line.loc[5, "max_i_ka"] = float(probe.res_line.at[5, "i_ka"]) * 0.95  # binds at peak
    return net


NETWORKS: dict[str, tuple[Callable[[], Any], float]] = {  # name: (loader, v_max_pu)
    "33-bus": (_feeder33, 1.1),
    "CIGRE MV": (lambda: pn.create_cigre_network_mv(with_der="pv_wind"), 1.1),
    "141-bus": (lambda: matpower_net("case141"), 1.1),
    "1197-bus": (lambda: matpower_net("case1197"), 1.1),
}


def scenario(
    net: Any, n_offers: int, n_periods: int, seed: int = 7
) -> tuple[list[PeriodSchedule], list[ClearingRequest], list[ClearingOffer]]:
    """A day-shaped load; offers on random buses sized to the grid's load; a buyer at the slack."""
    rng = random.Random(seed)
    slack = int(net.ext_grid.bus.iloc[0])
    buses = [str(b) for b in net.bus.index if b != slack]
    load = float(net.load.p_mw.sum())
    size = 0.015 * load  # about 1 % of the grid's load per offer, whatever their number
    start = datetime(2025, 1, 1, tzinfo=UTC)
    shape = [0.6 + 0.45 * max(0.0, 1 - abs(h - 18) / 8) for h in range(n_periods)]
    if n_periods == 1:
        shape = [1.05]
    schedules = [
        PeriodSchedule(period_index=t, start=start + timedelta(hours=t), load_scaling=s)
        for t, s in enumerate(shape)
    ]
    offers = [
        ClearingOffer(
            id=f"o{t}-{i}",
            seller_id=f"s{i % 50}",
            bus=rng.choice(buses),
            p_up_mw=rng.uniform(0.1, 1.0) * size,
            p_down_mw=rng.uniform(0.0, 0.6) * size,
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
            bus=str(slack),
            direction="up",
            p_mw=0.05 * load,
            price_p_eur_per_mwh=150.0,
            periods=[t],
        )
        for t in range(n_periods)
    ]
    return schedules, requests, offers


def _plan(quick: bool) -> list[tuple[str, int, int, str]]:
    if quick:
        return [
            ("33-bus", 1, 10, "acopf"),
            ("33-bus", 1, 1000, "milp"),
            ("CIGRE MV", 1, 1000, "acopf"),
            ("33-bus", 24, 1000, "acopf"),
            ("33-bus", 1, 10000, "acopf"),
            ("1197-bus", 1, 1000, "acopf"),
        ]
    rows = []
    for name in NETWORKS:
        for periods in (1, 24):
            for n in (10, 100, 1000, 10000):
                for method in ("acopf", "milp"):
                    if periods == 24 and n == 10000:
                        continue  # 240,000 offers: beyond both targets
                    rows.append((name, periods, n, method))
    return rows


def run(
    name: str, periods: int, n: int, method: str, workers: int, repeat: int
) -> tuple[str, float]:
    loader, v_max = NETWORKS[name]
    net = loader()
    schedules, requests, offers = scenario(net, n, periods)
    opts = ClearingOptions(
        method=method,  # type: ignore[arg-type]
        pricing="nodal",
        v_min_pu=0.85,
        v_max_pu=v_max,
        time_limit_s=120.0,
    )
    walls, status = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        res = clear(net, schedules, requests, offers, opts, workers=workers)
        walls.append(time.perf_counter() - started)
        status = res.status if res.status == "optimal" else f"{res.status}: {res.message[:60]}"
        if walls[-1] > 20.0:
            break  # one run of a slow case is enough
    return status, statistics.median(walls)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="six rows, one run each")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    repeat = 1 if args.quick else args.repeat
    print(f"workers={args.workers} repeat<={repeat} (median wall time of the repeats)")
    print(f"{'network':<10} {'periods':>7} {'offers':>7} {'method':<6} {'wall s':>8}  status")
    verdicts = []
    for name, periods, n, method in _plan(args.quick):
        try:
            status, wall = run(name, periods, n, method, args.workers, repeat)
        except ImportError as exc:
            print(f"{name:<10} {periods:>7} {n:>7} {method:<6} {'-':>8}  skipped: {exc}")
            continue
        print(f"{name:<10} {periods:>7} {n:>7} {method:<6} {wall:>8.2f}  {status}", flush=True)
        target = TARGETS.get((name, periods, n, method))
        if target is not None:
            ok = wall < target and status == "optimal"
            verdicts.append(
                f"{'PASS' if ok else 'MISS'}: {name}, {periods} periods, {n} offers, {method}: "
                f"{wall:.2f} s (target < {target:g} s)"
            )
    for v in verdicts:
        print(v)


if __name__ == "__main__":
    main()
