"""Forecast models: two seasonal-naive baselines and a gradient-boosted quantile model.

All models are *direct*: the forecast of the interval ``i`` uses only values at least
``horizon`` intervals before ``i``, so one fitted model forecasts every step of a horizon from
one origin without feeding its own forecasts back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from engines.forecast.metrics import Array
from engines.forecast.timegrid import calendar_features

RESIDUAL_DAYS = 28  # history used for the empirical intervals of the naive models


class QuantileForecast(NamedTuple):
    point: Array
    quantiles: dict[float, Array]


def seasonal_naive(
    y: Array, origin: int, horizon: int, season: int, quantiles: list[float], residual_window: int
) -> QuantileForecast:
    """``y_hat[o + h] = y[o + h - k*season]`` with the smallest ``k`` that reaches known data.

    Intervals are empirical quantiles of the seasonal differences ``y[t] - y[t - season]`` over
    the ``residual_window`` intervals before the origin (the residual bootstrap of Hyndman &
    Athanasopoulos, FPP3 section 5.5, without resampling)."""
    h = np.arange(horizon)
    k = h // season + 1
    source = origin + h - k * season
    if source.min() < 0:
        raise ValueError(f"need at least {season} values before the origin, have {origin}")
    point = y[source].astype(np.float64)
    lo = max(season, origin - residual_window)
    diffs = y[lo:origin] - y[lo - season : origin - season]
    diffs = diffs[np.isfinite(diffs)]
    bands = {q: point + (float(np.quantile(diffs, q)) if diffs.size else 0.0) for q in quantiles}
    return QuantileForecast(point, bands)


def lag_set(horizon: int, steps_per_day: int) -> list[int]:
    """Daily lags from the first whole day at least ``horizon`` back up to one week, plus two
    weeks: the recent same-hour values the horizon still allows."""
    first = max(1, math.ceil(horizon / steps_per_day))
    if first > 7:
        raise ValueError(f"horizon of {horizon} steps exceeds the one-week lag structure")
    return [k * steps_per_day for k in range(first, 8)] + [14 * steps_per_day]


def features(
    y: Array,
    positions: npt.NDArray[np.integer[Any]],
    index: pd.DatetimeIndex,
    lags: list[int],
    day: int,
    horizon: int,
    phase: int,
) -> Array:
    """Features of the targets at ``positions``.

    Target-relative: the lagged values, their mean over the daily lags, the means of the day
    and of the week that end at the shortest lag. Origin-relative: the origins sit at
    ``phase + k * horizon``; for a target, the last value before its origin, the mean of the
    day before its origin and the steps from the origin (persistence, which fades with the
    lead time). Then the calendar of the target interval. Nothing is read at or after the
    target's origin."""
    pos = positions.astype(np.int64)
    lagged = np.column_stack([y[pos - lag] for lag in lags])
    daily = lagged[:, :-1]
    shortest = lags[0]
    csum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(y))])

    def mean_before(end: npt.NDArray[np.int64], n: int) -> Array:
        return (csum[end] - csum[end - n]) / n  # type: ignore[no-any-return]

    origin = pos - (pos - phase) % horizon
    return np.column_stack(
        [
            lagged,
            daily.mean(axis=1),
            mean_before(pos - shortest + 1, day),
            mean_before(pos - shortest + 1, 7 * day),
            y[origin - 1],
            mean_before(origin, day),
            pos - origin,
            calendar_features(index[pos]),
        ]
    ).astype(np.float64)


@dataclass
class GbmQuantileModel:
    """One `HistGradientBoostingRegressor` with quantile loss per quantile (scikit-learn); the
    point forecast is the median model's (the MAE-optimal point). Predicted quantiles are
    sorted per interval so that they never cross.

    ``calibration_days``: quantile regression fitted in-sample gives bands that are too narrow
    out of sample (the back-test showed 10-90 % bands covering 60-70 %). So the model is first
    fitted without the last ``calibration_days``, each non-median quantile's forecast error on
    those days gives its shift (the empirical q-quantile of ``y - f_q``, the one-sided version
    of conformalized quantile regression, Romano, Patterson & Candes, NeurIPS 2019), and the
    model refitted on everything carries those shifts. 0 switches it off (one fit, not two)."""

    horizon: int
    steps_per_day: int
    quantiles: list[float]
    max_train_days: int = 365
    max_iter: int = 100
    fitted: dict[float, Any] = field(default_factory=dict)
    phase: int = 0
    bounds: tuple[float, float] = (-np.inf, np.inf)
    calibration_days: int = 28
    shifts: dict[float, float] = field(default_factory=dict)

    @property
    def lags(self) -> list[int]:
        return lag_set(self.horizon, self.steps_per_day)

    def fit(self, y: Array, index: pd.DatetimeIndex, end: int, phase: int) -> GbmQuantileModel:
        """Fit on the targets ``[.., end)`` (only values before ``end`` are read) for origins at
        ``phase + k * horizon``."""
        self.phase = phase % self.horizon
        first = max(
            max(self.lags) + self.steps_per_day, end - self.max_train_days * self.steps_per_day
        )
        if end - first < 7 * self.steps_per_day:
            raise ValueError(
                f"need at least {max(self.lags) // self.steps_per_day + 8} days of history to fit"
            )
        self.shifts = {}
        cal = self.calibration_days * self.steps_per_day
        if cal and end - cal - first >= 28 * self.steps_per_day:
            probe = GbmQuantileModel(
                self.horizon,
                self.steps_per_day,
                self.quantiles,
                self.max_train_days,
                self.max_iter,
                calibration_days=0,
            ).fit(y, index, end - cal, phase)
            targets = np.arange(end - cal, end)
            targets = targets[np.isfinite(y[targets])]
            seen = probe.predict(y, index, targets).quantiles
            self.shifts = {
                q: float(np.quantile(y[targets] - seen[q], q)) for q in self.quantiles if q != 0.5
            }
        pos = np.arange(first, end)
        keep = np.isfinite(y[pos])
        pos = pos[keep]
        self.bounds = (float(y[pos].min()), float(y[pos].max()))
        x = self._features(y, index, pos)
        # One thread: an engine worker is one job on a shared machine; OpenMP's threads
        # oversubscribe the cores when other processes run (measured 3-5x slower).
        with threadpool_limits(limits=1):
            for q in sorted({*self.quantiles, 0.5}):
                # The target is the change against the shortest daily lag (the seasonal-naive
                # forecast): the trees learn corrections to it rather than the level itself.
                self.fitted[q] = self._estimator(q).fit(x, y[pos] - y[pos - self.lags[0]])
        return self

    def _features(
        self, y: Array, index: pd.DatetimeIndex, positions: npt.NDArray[np.integer[Any]]
    ) -> Array:
        return features(
            y, positions, index, self.lags, self.steps_per_day, self.horizon, self.phase
        )

    def _estimator(self, q: float) -> Any:
        return HistGradientBoostingRegressor(
            loss="quantile",
            quantile=q,
            max_iter=self.max_iter,
            learning_rate=0.1,
            max_leaf_nodes=31,
            max_bins=64,
            min_samples_leaf=40,
            early_stopping=False,
            random_state=0,
        )

    def predict(
        self, y: Array, index: pd.DatetimeIndex, positions: npt.NDArray[np.integer[Any]]
    ) -> QuantileForecast:
        x = self._features(y, index, positions)
        qs = sorted(self.fitted)
        with threadpool_limits(limits=1):
            naive = y[positions.astype(np.int64) - self.lags[0]]
            raw = np.column_stack(
                [naive + self.fitted[q].predict(x) + self.shifts.get(q, 0.0) for q in qs]
            )
        # Within the range seen in training (PV is never negative, nor above its peak), and
        # sorted per interval so that quantiles never cross.
        stacked = np.sort(np.clip(raw, *self.bounds), axis=1)
        by_q = {q: stacked[:, i] for i, q in enumerate(qs)}
        return QuantileForecast(by_q[0.5], {q: by_q[q] for q in self.quantiles})
