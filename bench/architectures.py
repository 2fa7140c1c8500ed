"""A full day (24 hourly periods) of each market architecture on the 33-bus feeder under case30.

Target: the iterative TSO-DSO market under 60 s for the day. Prints time, iterations, welfare and the
gap of each architecture to the central optimum. `--wholesale adapter` asks the wholesale market
through its adapter over NATS (an embedded nats-server, the adapter served on a thread of its own,
the blocking client an engine run uses) instead of the emulator in process.

    python -m bench.architectures [--steps 60] [--repeat 1] [--wholesale in-process|adapter]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import nats
from nats.aio.client import Client
from nats.micro.service import Service

from adapters.balancing.emulator import EmulatedBalancingMarket
from adapters.blocking import BlockingWholesaleMarket
from adapters.service import serve_markets
from adapters.wholesale.emulator import EmulatedWholesaleMarket
from engines.context import NatsEndpoint
from engines.markets.architectures import run_architecture
from engines.markets.scenario import Scenario
from engines.markets.wholesale_port import CountedClearing, DayAheadClearing, InProcessDayAhead
from gateway.messaging.embedded import NatsServer

TARGET_S = 60.0


@contextlib.contextmanager
def _adapter() -> Iterator[NatsEndpoint]:
    """An embedded nats-server with the emulated market adapters served on a loop of their own."""
    with tempfile.TemporaryDirectory() as store:
        server = NatsServer(store_dir=Path(store))
        url = server.start()
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()

        async def up() -> tuple[Client, Service]:
            nc = await nats.connect(url)
            markets = EmulatedWholesaleMarket(), EmulatedBalancingMarket()
            return nc, await serve_markets(nc, *markets)

        nc, service = asyncio.run_coroutine_threadsafe(up(), loop).result(30)
        try:
            yield NatsEndpoint(servers=(url,))
        finally:
            asyncio.run_coroutine_threadsafe(service.stop(), loop).result(10)
            asyncio.run_coroutine_threadsafe(nc.close(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60, help="generator cost steps per unit")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--wholesale", choices=("in-process", "adapter"), default="in-process")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    scenario = Scenario(steps=args.steps)
    results = {}
    times: dict[str, list[float]] = {}
    requests: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        market: DayAheadClearing = InProcessDayAhead()
        if args.wholesale == "adapter":
            market = stack.enter_context(BlockingWholesaleMarket(stack.enter_context(_adapter())))
        for name in ("central", "reactive", "reactive-nrt", "proactive", "iterative"):
            for _ in range(args.repeat):
                counted = CountedClearing(market)
                result = run_architecture(name, scenario, wholesale=counted)
                times.setdefault(name, []).append(result.time_s)
                requests[name] = counted.requests
            results[name] = result
    print(f"wholesale market: {args.wholesale}; auctions per run: {requests}")
    best = results["central"].welfare_eur
    print(f"{'architecture':<12}{'median s':>10}{'iterations':>12}{'recovered':>10}"
          f"{'welfare EUR':>14}{'gap %':>9}{'flex EUR':>10}{'curtailed MWh':>15}")  # fmt: skip
    for name, r in results.items():
        gap = 100.0 * (best - r.welfare_eur) / abs(best)
        recovered = sum(p.recovered for p in r.periods)
        print(f"{name:<12}{statistics.median(times[name]):>10.2f}{r.iterations:>12}{recovered:>10}"
              f"{r.welfare_eur:>14.2f}{gap:>9.4f}{r.flex_cost_eur:>10.2f}{r.curtailed_res_mwh:>15.3f}")  # fmt: skip
        if r.status != "optimal":
            print(f"  {name}: {r.status} {r.message}")
    it = statistics.median(times["iterative"])
    verdict = "meets" if it < TARGET_S else "MISSES"
    print(f"iterative market: {it:.1f} s for 24 periods, {verdict} the {TARGET_S:.0f} s target")
    nrt = results["reactive-nrt"].imbalance
    if nrt is not None:  # the reactive market on the realised day (seeded forecast errors)
        print(f"reactive-nrt: imbalance {nrt.imbalance_mwh:.3f} MWh, {nrt.resolved_locally_mwh:.3f} "
              f"resolved locally ({nrt.nrt_flex_cost_eur:.2f} EUR), TSO balancing "
              f"{nrt.tso_balancing_mwh:.3f} MWh costing {nrt.tso_balancing_cost_eur:.2f} EUR, "
              f"area settled {nrt.area_imbalance_paid_eur:.2f} EUR; {nrt.overloaded_periods_before} "
              f"periods overloaded before re-dispatch, {nrt.periods_within_limits} within limits "
              "after")  # fmt: skip
    print("payments per party (iterative), EUR received:")
    for party, amount in results["iterative"].payments_eur.items():
        print(f"  {party:<24}{amount:>14.2f}")


if __name__ == "__main__":
    main()
