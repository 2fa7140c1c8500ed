"""Settlement baselines against values computed by hand on a series built for it, and the
pinball loss on textbook cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from engines.forecast.baselines import PRESETS
from engines.forecast.engine import ForecastEngine
from engines.forecast.metrics import mae, pinball, rmse
from engines.forecast.schema import (
    BaselineReport,
    BaselineTask,
    Event,
    ForecastJob,
    Series,
)

pytestmark = pytest.mark.unit

MONDAY = datetime(2025, 6, 2, tzinfo=UTC)
# Day levels, Monday 2 June to Monday 16 June 2025 (hourly value = level + hour / 10).
LEVELS = [40, 40, 40, 40, 15, 100, 100, 30, 12, 25, 18, 20, 100, 100, 26]
EVENT = Event(
    id="ev-1",
    start=MONDAY + timedelta(days=14, hours=14),
    end=MONDAY + timedelta(days=14, hours=16),
)
THURSDAY_12 = MONDAY + timedelta(days=10)


def meter(event_day_level: float = 26.0) -> Series:
    levels = [*LEVELS[:-1], event_day_level]
    values = [level + h / 10 for level in levels for h in range(24)]
    values[14 * 24 + 14] = values[14 * 24 + 15] = 20.0  # the metered event
    return Series(id="meter", kind="load", start=MONDAY, resolution_minutes=60, values=values)


def run(task: BaselineTask) -> BaselineReport:
    out = ForecastEngine().run(ForecastJob(task=task), lambda _f, _s: None).result
    assert isinstance(out, BaselineReport)
    return out


def test_pjm_high_4_of_5_with_additive_adjustment_by_hand() -> None:
    """Eligible weekdays back from Mon 16 (weekends skipped, Thu 12 excluded): Fri 13 (20),
    Wed 11 (25), Tue 10 (12), Mon 9 (30), Fri 6 (15). Highest 4: 30, 25, 20, 15 -> 22.5 + h/10.
    Adjustment over 10:00-13:00: actual 26 + 1.1 = 27.1, baseline 22.5 + 1.1 = 23.6 -> +3.5.
    Baseline 14:00 = 23.9 + 3.5 = 27.4, 15:00 = 27.5; metered 20 -> delivered 7.4, 7.5 MWh."""
    report = run(
        BaselineTask(
            meter=meter(),
            events=[EVENT],
            method=PRESETS["pjm_high_4_of_5"],
            excluded_days=[THURSDAY_12],
        )
    )
    assert report.status == "optimal", report.message
    (ev,) = report.events
    assert ev.days_used == [MONDAY + timedelta(days=d, hours=14) for d in (11, 9, 7, 4)]
    assert ev.adjustment == pytest.approx(3.5)
    assert ev.baseline == pytest.approx([27.4, 27.5])
    assert ev.delivered == pytest.approx([7.4, 7.5])
    assert ev.delivered_energy == pytest.approx(14.9)


def test_caiso_10_of_10_multiplicative_adjustment_is_capped_by_hand() -> None:
    """Only 9 like days exist in the data (Fri 13 back to Mon 2, without Thu 12): their mean level
    is 262 / 9. The event day runs at 40: ratio 41.1 / (262/9 + 1.1) = 1.36, capped to 1.2."""
    report = run(
        BaselineTask(
            meter=meter(40.0),
            events=[EVENT],
            method=PRESETS["caiso_10_of_10"],
            excluded_days=[THURSDAY_12],
        )
    )
    (ev,) = report.events
    assert len(ev.days_used) == 9
    assert ev.adjustment == pytest.approx(1.2)
    assert ev.baseline == pytest.approx([(262 / 9 + 1.4) * 1.2, (262 / 9 + 1.5) * 1.2])


def test_meter_before_meter_after_by_hand() -> None:
    method = PRESETS["meter_before_meter_after"]
    (ev,) = run(BaselineTask(meter=meter(), events=[EVENT], method=method)).events
    assert ev.baseline == pytest.approx([27.3, 27.3])  # the 13:00 reading, held flat
    assert ev.delivered == pytest.approx([7.3, 7.3])
    two = method.__class__(kind="meter_before_meter_after", mbma_intervals=2)
    (ev2,) = run(BaselineTask(meter=meter(), events=[EVENT], method=two)).events
    assert ev2.baseline == pytest.approx([27.25, 27.25])


def test_an_event_off_the_meter_grid_is_an_error_that_names_it() -> None:
    bad = Event(id="ev-x", start=EVENT.start + timedelta(minutes=7), end=EVENT.end)
    report = run(BaselineTask(meter=meter(), events=[bad]))
    assert report.status == "error"
    assert "ev-x" in report.message
    assert not report.events


def test_pinball_loss_known_cases() -> None:
    """q = 0.9: under-forecasting by 2 costs 0.9 * 2 = 1.8, over-forecasting by 2 costs
    0.1 * 2 = 0.2 (Koenker & Bassett 1978 check function); q = 0.5 is half the absolute error."""
    y = np.array([10.0])
    assert pinball(y, np.array([8.0]), 0.9) == pytest.approx(1.8)
    assert pinball(y, np.array([12.0]), 0.9) == pytest.approx(0.2)
    ys, fs = np.array([1.0, 2.0, 6.0]), np.array([2.0, 2.0, 2.0])
    assert pinball(ys, fs, 0.5) == pytest.approx(mae(ys, fs) / 2)
    assert mae(ys, fs) == pytest.approx(5 / 3)
    assert rmse(ys, fs) == pytest.approx(np.sqrt(17 / 3))
