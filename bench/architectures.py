"""A full day (24 hourly periods) of each market architecture on the 33-bus feeder under case30.

Target: the iterative TSO-DSO market under 60 s for the day. Prints time, iterations, welfare and the
gap of each architecture to the central optimum.

    python -m bench.architectures [--steps 60] [--repeat 1]
"""

from __future__ import annotations

import argparse
import statistics
import warnings

from engines.markets.architectures import run_architecture
from engines.markets.scenario import Scenario

TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60, help="generator cost steps per unit")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    scenario = Scenario(steps=args.steps)
    results = {}
    times: dict[str, list[float]] = {}
    for name in ("central", "reactive", "proactive", "iterative"):
        for _ in range(args.repeat):
            result = run_architecture(name, scenario)
            times.setdefault(name, []).append(result.time_s)
        results[name] = result
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
    print("payments per party (iterative), EUR received:")
    for party, amount in results["iterative"].payments_eur.items():
        print(f"  {party:<24}{amount:>14.2f}")


if __name__ == "__main__":
    main()
