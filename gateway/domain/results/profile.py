"""Base schedules of a session: the network's own loads and generation (the day-ahead dispatch,
taken as given, as in the reactive DLFM) shaped over the day by a documented profile.

`LOAD_PROFILE` is a stylised, peak-normalised hourly shape of a mixed residential/commercial MV
feeder (night valley about half of the evening peak, peak at 19:00 UTC). It is an assumption of
this platform, not a published data set. The bundled networks' nominal loads are peak values
(CIGRE TF C6.04.02 gives its MV benchmark's loads at peak), so the factor 1.0 at the peak hour
reproduces the network as published. `pv_factor` is a clear-sky shape, sin(pi (h + 0.5 - 6) / 14)
between 06:00 and 20:00 UTC and 0 at night; it scales every static generator (wind included: a
simplification). Until DSOs upload day-ahead schedules, every clearing uses these.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from engines.fmct.schema import PeriodSchedule

LOAD_PROFILE: tuple[float, ...] = (
    0.55, 0.50, 0.48, 0.47, 0.48, 0.52, 0.62, 0.72, 0.78, 0.80, 0.80, 0.80,
    0.79, 0.77, 0.76, 0.77, 0.82, 0.90, 0.97, 1.00, 0.97, 0.88, 0.75, 0.63,
)  # fmt: skip


def pv_factor(hour: int) -> float:
    return max(0.0, math.sin(math.pi * (hour + 0.5 - 6.0) / 14.0))


def base_schedule(period_index: int, start: datetime, resolution: timedelta) -> PeriodSchedule:
    """One period of the profile: the factors of the UTC hour the period starts in."""
    hour = start.hour
    return PeriodSchedule(
        period_index=period_index,
        start=start,
        duration_h=resolution / timedelta(hours=1),
        load_scaling=LOAD_PROFILE[hour],
        sgen_scaling=pv_factor(hour),
    )
