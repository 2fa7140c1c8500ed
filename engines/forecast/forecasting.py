"""Forecasts from the end of each series' history (the `forecast` task)."""

from __future__ import annotations

import numpy as np

from engines.forecast.models import (
    RESIDUAL_DAYS,
    GbmQuantileModel,
    QuantileForecast,
    seasonal_naive,
)
from engines.forecast.schema import ForecastTask, Series, SeriesForecast
from engines.forecast.series import SeriesError, grid_of, values_of


def forecast_series(series: Series, task: ForecastTask) -> SeriesForecast:
    grid = grid_of(series)
    y = values_of(series)
    day = grid.steps_per_day
    h = task.horizon_steps
    quantiles = list(task.quantiles)
    fc: QuantileForecast
    if task.model == "gbm":
        model = GbmQuantileModel(h, day, quantiles)
        try:
            model.fit(y, grid.index(), grid.n, phase=grid.n)
        except ValueError as exc:
            raise SeriesError(f"series {series.id}: {exc}") from exc
        # The horizon is appended as unknown values: the model only reads values at least
        # `h` intervals before each target, all of them in the history.
        extended = np.concatenate([y, np.full(h, np.nan)])
        fc = model.predict(extended, grid.index(extra=h), np.arange(grid.n, grid.n + h))
    else:
        season = day if task.model == "seasonal_naive" else 7 * day
        if grid.n < season:
            raise SeriesError(
                f"series {series.id}: needs at least {season} values for {task.model}"
            )
        extended = np.concatenate([y, np.full(h, np.nan)])
        fc = seasonal_naive(extended, grid.n, h, season, quantiles, RESIDUAL_DAYS * day)
    return SeriesForecast(
        series_id=series.id,
        model=task.model,
        start=grid.start + grid.n * grid.resolution,
        resolution_minutes=series.resolution_minutes,
        point=[float(v) for v in fc.point],
        quantiles={f"{q:g}": [float(v) for v in fc.quantiles[q]] for q in quantiles},
    )


def aggregate(name: str, members: list[str], task: ForecastTask) -> Series:
    """The sum of member series that share one time grid."""
    by_id = {s.id: s for s in task.series}
    missing = [m for m in members if m not in by_id]
    if missing or not members:
        raise SeriesError(f"aggregate {name}: unknown series {missing or '(none given)'}")
    first = by_id[members[0]]
    for m in members[1:]:
        s = by_id[m]
        if (s.start, s.resolution_minutes, len(s.values)) != (
            first.start,
            first.resolution_minutes,
            len(first.values),
        ):
            raise SeriesError(
                f"aggregate {name}: series {m} does not share the time grid of {first.id}"
            )
    total = np.sum([values_of(by_id[m]) for m in members], axis=0)
    return Series(
        id=name,
        kind=first.kind,
        unit=first.unit,
        start=first.start,
        resolution_minutes=first.resolution_minutes,
        values=[float(v) for v in total],
    )
