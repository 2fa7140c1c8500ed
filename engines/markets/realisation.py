"""The day's forecast errors of a scenario (``gateway.messages.imbalance`` documents their sizes)."""

from __future__ import annotations

import numpy as np

from gateway.messages.imbalance import DAY_PERIODS, ForecastErrors

CUT_SIGMA = 3.0  # a normal draw beyond 3 sigma would be a forecasting failure, not an error


def day_errors(spec: ForecastErrors) -> tuple[list[float], list[float]]:
    """(relative load error, PV error as a share of capacity) per period of the day. Both series
    come from one draw of the whole day, so a period's errors do not depend on the periods played."""
    z = np.clip(
        np.random.default_rng(spec.seed).standard_normal((2, DAY_PERIODS)), -CUT_SIGMA, CUT_SIGMA
    )
    load = spec.load_errors or [spec.load_sigma * float(v) for v in z[0]]
    pv = spec.pv_errors or [spec.pv_sigma * float(v) for v in z[1]]
    return list(load), list(pv)


def realised_pv(forecast: float, error: float) -> float:
    """PV output factor as it happened: none at night, never above the installed capacity."""
    return min(max(forecast + error, 0.0), 1.0) if forecast > 0.0 else 0.0
