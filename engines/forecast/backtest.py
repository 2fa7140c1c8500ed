"""Rolling-origin back-test of the learned model against the seasonal-naive baselines."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from engines.forecast.metrics import Array, coverage, mae, mean_pinball, rmse
from engines.forecast.models import RESIDUAL_DAYS, GbmQuantileModel, seasonal_naive
from engines.forecast.schema import BacktestTask, ModelName, ModelScore, Series, SeriesBacktest
from engines.forecast.series import SeriesError, grid_of, values_of


@dataclass
class _Collected:
    point: list[Array]
    bands: dict[float, list[Array]]

    @classmethod
    def empty(cls, quantiles: list[float]) -> _Collected:
        return cls([], {q: [] for q in quantiles})

    def score(self, model: ModelName, actual: Array) -> ModelScore:
        point = np.concatenate(self.point)
        bands = {q: np.concatenate(v) for q, v in self.bands.items()}
        return ModelScore(
            model=model,
            mae=mae(actual, point),
            rmse=rmse(actual, point),
            pinball=mean_pinball(actual, bands),
            coverage=coverage(actual, bands),
        )


def backtest_series(series: Series, task: BacktestTask) -> SeriesBacktest:
    grid = grid_of(series)
    y = values_of(series)
    day = grid.steps_per_day
    horizon = task.horizon_steps
    test_len = task.test_days * day
    end = grid.n
    if task.test_end is not None:
        try:
            end = grid.position(task.test_end)
        except ValueError as exc:
            raise SeriesError(f"series {series.id}: test_end: {exc}") from exc
        if not 0 < end <= grid.n:
            raise SeriesError(f"series {series.id}: test_end lies outside the series")
    start = end - test_len
    # Origins every `horizon` intervals from the first test interval on.
    origins = list(range(start, end - horizon + 1, horizon))
    model = GbmQuantileModel(horizon, day, list(task.quantiles))
    need = max(model.lags) + 8 * day
    if start < need or not origins:
        raise SeriesError(
            f"series {series.id}: {grid.n} values are too few for {task.test_days} test days "
            f"(need {need + test_len} at {series.resolution_minutes}-minute resolution)"
        )
    index = grid.index()
    naive = {"seasonal_naive": day, "weekly_naive": 7 * day}
    got: dict[ModelName, _Collected] = {
        "seasonal_naive": _Collected.empty(task.quantiles),
        "weekly_naive": _Collected.empty(task.quantiles),
        "gbm": _Collected.empty(task.quantiles),
    }
    fit_s = predict_s = 0.0
    refit = task.refit_every_days * day
    for block_start in range(start, origins[-1] + 1, refit):
        t0 = time.perf_counter()
        model.fit(y, index, block_start, phase=start)  # only data before the block
        fit_s += time.perf_counter() - t0
        block = [o for o in origins if block_start <= o < block_start + refit]
        # The model reads nothing closer than `horizon` before a target, so the targets of all
        # origins of a block are predicted in one call without any look-ahead.
        targets = np.concatenate([np.arange(o, o + horizon) for o in block])
        t0 = time.perf_counter()
        fc = model.predict(y, index, targets)
        predict_s += time.perf_counter() - t0
        got["gbm"].point.append(fc.point)
        for q in task.quantiles:
            got["gbm"].bands[q].append(fc.quantiles[q])
        for o in block:
            for name, season in naive.items():
                nf = seasonal_naive(y, o, horizon, season, task.quantiles, RESIDUAL_DAYS * day)
                got[name].point.append(nf.point)  # type: ignore[index]
                for q in task.quantiles:
                    got[name].bands[q].append(nf.quantiles[q])  # type: ignore[index]
    actual = np.concatenate([y[o : o + horizon] for o in origins])
    scores = [got[name].score(name, actual) for name in ("seasonal_naive", "weekly_naive", "gbm")]
    by = {s.model: s for s in scores}
    return SeriesBacktest(
        series_id=series.id,
        kind=series.kind,
        origins=len(origins),
        points=int(actual.size),
        scores=scores,
        mae_skill_vs_seasonal_naive=1.0 - by["gbm"].mae / by["seasonal_naive"].mae
        if by["seasonal_naive"].mae > 0
        else 0.0,
        fit_time_s=fit_s,
        predict_time_s=predict_s,
    )
