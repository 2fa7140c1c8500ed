"""Forecast back-test per series on the SimBench year (2016, hourly means of the 15-minute
profiles): household (H0) and business (G1) standard load profiles, the MV rural feeder load,
a PV and a wind profile. Rolling origin, day-ahead (24 steps), an origin every day over the
last ``--test-days`` days, the learned model refitted every 28 days on everything before.

Prints per series and model MAE, RMSE, mean pinball loss (quantiles 0.1/0.5/0.9) and interval
coverage, the learned model's MAE skill against seasonal naive, and the time per series
(fit + predict; median over the series). Target (issue 7): report per series; the learned
model should beat seasonal naive on MAE for the load series (PASS/MISS each).
Run: .venv/bin/python -m bench.forecast_backtest [--test-days 56]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

from engines.forecast.backtest import backtest_series
from engines.forecast.profiles import simbench_profile
from engines.forecast.schema import BacktestTask, SeriesKind

SERIES: list[tuple[str, SeriesKind, str]] = [
    ("H0-A_pload", "load", "load"),
    ("G1-A_pload", "load", "load"),
    ("mv_rural_pload", "load", "load"),
    ("PV3", "pv", "res"),
    ("WP4", "wind", "res"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test-days", type=int, default=56)
    parser.add_argument(
        "--test-end", default=None, help="ISO date the test window ends (default: 31 Dec)"
    )
    args = parser.parse_args()
    end = datetime.fromisoformat(args.test_end).replace(tzinfo=UTC) if args.test_end else None
    times = []
    for column, kind, file in SERIES:
        series = simbench_profile(column, kind, file, 60)
        task = BacktestTask(
            series=[series],
            horizon_steps=24,
            test_days=args.test_days,
            refit_every_days=28,
            test_end=end,
        )
        started = time.perf_counter()
        report = backtest_series(series, task)
        wall = time.perf_counter() - started
        times.append(wall)
        print(
            f"{series.id} ({kind}): {report.origins} origins, {report.points} points, {wall:.2f} s "
            f"(fit {report.fit_time_s:.2f} s, predict {report.predict_time_s:.2f} s)"
        )
        for s in report.scores:
            print(
                f"  {s.model:15s} MAE {s.mae:.4f}  RMSE {s.rmse:.4f}  pinball {s.pinball:.4f}  coverage(10-90) {s.coverage:.2f}"
            )
        verdict = (
            "PASS"
            if report.mae_skill_vs_seasonal_naive > 0
            else ("MISS" if kind == "load" else "n/a (no weather inputs)")
        )
        print(
            f"  gbm MAE skill vs seasonal naive: {100 * report.mae_skill_vs_seasonal_naive:+.1f} %  {verdict}"
        )
    print(f"median time per series {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
