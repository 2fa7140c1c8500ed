"""Settlement baselines: what a meter would have read without the activation, from which the
delivered flexibility is measured.

Two families the industry uses for demand response settlement:

* "high X of Y" day-matching: among the Y most recent like days keep the X with the highest
  use over the event window and average them, then adjust to the event day's own level in the
  hours just before the event. PJM's economic customer baseline (Manual 11) is the weekday
  "high 4 of 5" with a symmetric additive adjustment over the 3 hours that end 1 hour before
  the event; CAISO's "10 in 10" is the plain average of the 10 most recent like days with a
  multiplicative day-of adjustment capped at +/-20% (`PRESETS`).
* meter before / meter after: the reading just before the event held flat (used where the
  event is short against the load's own variation, e.g. reserve activations).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from engines.forecast.metrics import Array
from engines.forecast.schema import BaselineMethod, BaselineTask, Event, EventBaseline
from engines.forecast.series import SeriesError, grid_of, values_of
from engines.forecast.timegrid import Grid

PRESETS: dict[str, BaselineMethod] = {
    "pjm_high_4_of_5": BaselineMethod(
        x_days=4, y_days=5, adjustment="additive", adjustment_hours=3, adjustment_gap_hours=1
    ),
    "caiso_10_of_10": BaselineMethod(
        x_days=10,
        y_days=10,
        adjustment="multiplicative",
        adjustment_hours=3,
        adjustment_gap_hours=1,
        adjustment_cap=0.2,
    ),
    "high_5_of_10": BaselineMethod(x_days=5, y_days=10, adjustment="none"),
    "meter_before_meter_after": BaselineMethod(kind="meter_before_meter_after"),
}


def _steps(grid: Grid, hours: float, what: str) -> int:
    steps = hours / grid.step_hours
    if abs(steps - round(steps)) > 1e-9:
        raise SeriesError(f"{what} of {hours} h is not a whole number of intervals")
    return round(steps)


def _window(grid: Grid, event: Event) -> tuple[int, int]:
    if event.end <= event.start:
        raise SeriesError(f"event {event.id}: end must be after start")
    try:
        first, last = grid.position(event.start), grid.position(event.end)
    except ValueError as exc:
        raise SeriesError(f"event {event.id}: {exc}") from exc
    if first < 0 or last > grid.n:
        raise SeriesError(f"event {event.id}: the meter series does not cover the event")
    return first, last - first


def _like_days(
    grid: Grid, event: Event, method: BaselineMethod, blocked: set[date], span: int
) -> list[int]:
    """Day offsets (intervals back from the event) of the eligible days, most recent first."""
    day = grid.steps_per_day
    event_day = event.start.astimezone(UTC).date()
    weekend = event_day.weekday() >= 5
    found: list[int] = []
    first = grid.position(event.start)
    for back in range(1, method.lookback_days + 1):
        when = event_day - timedelta(days=back)
        if when in blocked or (method.same_day_type and (when.weekday() >= 5) != weekend):
            continue
        if first - back * day - span < 0:
            break
        found.append(back * day)
        if len(found) == method.y_days:
            break
    return found


def high_x_of_y(
    y: Array, grid: Grid, event: Event, method: BaselineMethod, blocked: set[date]
) -> tuple[Array, list[int], float]:
    """Baseline over the event window, the day offsets used, and the adjustment applied."""
    first, n = _window(grid, event)
    adj_n = _steps(grid, method.adjustment_hours, "adjustment_hours")
    gap_n = _steps(grid, method.adjustment_gap_hours, "adjustment_gap_hours")
    lead = adj_n + gap_n if method.adjustment != "none" else 0
    days = _like_days(grid, event, method, blocked, lead)
    if not days:
        raise SeriesError(f"event {event.id}: no eligible like day in the lookback")
    windows = np.array([y[first - d : first - d + n] for d in days])
    # Highest mean use over the window; a stable sort keeps the more recent day on ties.
    order = np.argsort(-windows.mean(axis=1), kind="stable")[: method.x_days]
    chosen = [days[i] for i in sorted(order)]
    baseline = np.mean([y[first - d : first - d + n] for d in chosen], axis=0)
    adjustment = 0.0
    if method.adjustment != "none" and adj_n > 0:
        lo = first - gap_n - adj_n
        if lo < 0:
            raise SeriesError(f"event {event.id}: no meter data for the same-day adjustment")
        actual = float(np.mean(y[lo : lo + adj_n]))
        base = float(np.mean([y[lo - d : lo - d + adj_n] for d in chosen]))
        if method.adjustment == "additive":
            adjustment = actual - base
            if method.adjustment_cap is not None:
                limit = method.adjustment_cap * abs(base)
                adjustment = float(np.clip(adjustment, -limit, limit))
            baseline = baseline + adjustment
        else:
            ratio = actual / base if base else 1.0
            if method.adjustment_cap is not None:
                ratio = float(np.clip(ratio, 1 - method.adjustment_cap, 1 + method.adjustment_cap))
            adjustment = ratio
            baseline = baseline * ratio
    return baseline, chosen, adjustment


def meter_before_meter_after(y: Array, grid: Grid, event: Event, intervals: int) -> Array:
    first, n = _window(grid, event)
    if first < intervals:
        raise SeriesError(f"event {event.id}: no meter reading before the event")
    return np.full(n, float(np.mean(y[first - intervals : first])))


def event_baselines(task: BaselineTask) -> list[EventBaseline]:
    grid = grid_of(task.meter)
    y = values_of(task.meter)
    blocked = {e.start.astimezone(UTC).date() for e in task.events}
    blocked |= {d.astimezone(UTC).date() for d in task.excluded_days}
    out: list[EventBaseline] = []
    for event in task.events:
        first, n = _window(grid, event)
        used: list[datetime] = []
        if task.method.kind == "meter_before_meter_after":
            baseline = meter_before_meter_after(y, grid, event, task.method.mbma_intervals)
            adjustment = 0.0
        else:
            baseline, offsets, adjustment = high_x_of_y(y, grid, event, task.method, blocked)
            used = [event.start - d * grid.resolution for d in offsets]
        metered = y[first : first + n]
        delivered = baseline - metered if event.direction == "down" else metered - baseline
        out.append(
            EventBaseline(
                event_id=event.id,
                start=event.start,
                baseline=[float(v) for v in baseline],
                metered=[float(v) for v in metered],
                delivered=[float(v) for v in delivered],
                delivered_energy=float(delivered.sum() * grid.step_hours),
                days_used=used,
                adjustment=adjustment,
            )
        )
    return out
