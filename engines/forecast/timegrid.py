"""The time grid of a regular series and the calendar features the learned model uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from engines.forecast.metrics import Array


@dataclass(frozen=True)
class Grid:
    """``n`` intervals of ``resolution`` from ``start`` (UTC)."""

    start: datetime
    resolution: timedelta
    n: int

    @property
    def steps_per_day(self) -> int:
        return round(timedelta(days=1) / self.resolution)

    @property
    def step_hours(self) -> float:
        return self.resolution / timedelta(hours=1)

    def index(self, extra: int = 0) -> pd.DatetimeIndex:
        return pd.date_range(self.start, periods=self.n + extra, freq=self.resolution, tz="UTC")

    def position(self, at: datetime) -> int:
        """Index of the interval starting at ``at`` (which must lie on the grid)."""
        steps = (at - self.start) / self.resolution
        if steps != int(steps):
            raise ValueError(f"{at.isoformat()} is not on the series' time grid")
        return int(steps)


def calendar_features(index: pd.DatetimeIndex) -> Array:
    """Hour of day (fractional), day of week, weekend flag and the season as sin/cos of the day
    of year: the usual calendar regressors of load and PV models."""
    hour = index.hour + index.minute / 60.0
    doy = index.dayofyear.to_numpy(dtype=float)
    return np.column_stack(
        [
            hour,
            index.dayofweek,
            (index.dayofweek >= 5).astype(float),
            np.sin(2 * np.pi * doy / 365.25),
            np.cos(2 * np.pi * doy / 365.25),
        ]
    ).astype(np.float64)
