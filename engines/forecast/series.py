"""From a wire `Series` to arrays on its time grid, and checks that say what is wrong."""

from __future__ import annotations

from datetime import UTC, timedelta

import numpy as np

from engines.forecast.metrics import Array
from engines.forecast.schema import Series
from engines.forecast.timegrid import Grid


class SeriesError(ValueError):
    """Input that cannot be forecast: the message names the series and what to change."""


def grid_of(series: Series) -> Grid:
    if series.start.tzinfo is None:
        raise SeriesError(f"series {series.id}: start must carry a timezone (UTC)")
    resolution = timedelta(minutes=series.resolution_minutes)
    if timedelta(days=1) % resolution:
        raise SeriesError(
            f"series {series.id}: resolution of {series.resolution_minutes} min does not divide a day"
        )
    return Grid(series.start.astimezone(UTC), resolution, len(series.values))


def values_of(series: Series) -> Array:
    y = np.asarray(series.values, dtype=np.float64)
    if not np.isfinite(y).all():
        bad = int(np.flatnonzero(~np.isfinite(y))[0])
        raise SeriesError(f"series {series.id}: value {bad} is not a finite number")
    return y
