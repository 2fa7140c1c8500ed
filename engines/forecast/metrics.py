"""Point and probabilistic forecast errors (plain numpy; definitions as in Hyndman &
Athanasopoulos, Forecasting: Principles and Practice, 3rd ed., sections 5.8 and 5.9)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def mae(actual: Array, point: Array) -> float:
    return float(np.mean(np.abs(actual - point)))


def rmse(actual: Array, point: Array) -> float:
    return float(np.sqrt(np.mean((actual - point) ** 2)))


def pinball(actual: Array, predicted: Array, q: float) -> float:
    """Mean quantile (pinball) loss: q*(y-f) when the actual is above, (1-q)*(f-y) below."""
    diff = actual - predicted
    return float(np.mean(np.maximum(q * diff, (q - 1.0) * diff)))


def mean_pinball(actual: Array, by_quantile: Mapping[float, Array]) -> float:
    return float(np.mean([pinball(actual, f, q) for q, f in by_quantile.items()]))


def coverage(actual: Array, by_quantile: Mapping[float, Array]) -> float:
    """Share of actuals inside the band of the lowest and highest quantile."""
    low, high = by_quantile[min(by_quantile)], by_quantile[max(by_quantile)]
    return float(np.mean((actual >= low) & (actual <= high)))
