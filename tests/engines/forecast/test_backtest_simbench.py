"""The learned model against the seasonal-naive baselines on real SimBench load profiles
(German standard load profiles of households, H0, and of businesses, G1; 2016, 15-minute,
averaged to hours), in a rolling-origin day-ahead back-test."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from engines.forecast.engine import ForecastEngine
from engines.forecast.profiles import simbench_profile
from engines.forecast.schema import (
    BacktestReport,
    BacktestTask,
    ForecastJob,
    ForecastResult,
    ForecastTask,
    Series,
)

pytestmark = pytest.mark.unit

LOADS = [("H0-A_pload", "load"), ("G1-A_pload", "load")]


@pytest.fixture(scope="module")
def report() -> BacktestReport:
    series = [simbench_profile(column, kind, "load", 60) for column, kind in LOADS]  # type: ignore[arg-type]
    task = BacktestTask(series=series, horizon_steps=24, test_days=28, refit_every_days=28)
    out = ForecastEngine().run(ForecastJob(task=task), lambda _f, _s: None).result
    assert isinstance(out, BacktestReport)
    assert out.status == "optimal", out.message
    return out


def test_learned_model_beats_seasonal_naive_on_mae(report: BacktestReport) -> None:
    for s in report.series:
        by = {score.model: score for score in s.scores}
        assert s.origins == 28
        assert s.points == 28 * 24
        assert by["gbm"].mae < by["seasonal_naive"].mae, s
        # The report states the margin, as 1 - MAE ratio.
        assert s.mae_skill_vs_seasonal_naive == pytest.approx(
            1 - by["gbm"].mae / by["seasonal_naive"].mae
        )
        assert s.mae_skill_vs_seasonal_naive > 0.05
        # Quantile forecasts are scored too: the model's pinball loss is the lower one.
        assert by["gbm"].pinball < by["seasonal_naive"].pinball


def test_seasonal_naive_forecast_is_yesterday() -> None:
    """The baseline's definition on a real profile: tomorrow = today, interval by interval."""
    s = simbench_profile("H0-A_pload", "load", "load", 60)
    history = Series(id=s.id, kind="load", start=s.start, values=s.values[: 40 * 24])
    job = ForecastJob(task=ForecastTask(series=[history], model="seasonal_naive", horizon_steps=24))
    out = ForecastEngine().run(job, lambda _f, _s: None).result
    assert isinstance(out, ForecastResult)
    (fc,) = out.forecasts
    assert fc.point == s.values[39 * 24 : 40 * 24]
    assert fc.start == s.start + timedelta(days=40)


def test_gbm_forecast_has_ordered_quantiles() -> None:
    s = simbench_profile("G1-A_pload", "load", "load", 60)
    history = Series(id=s.id, kind="load", start=s.start, values=s.values[: 120 * 24])
    job = ForecastJob(task=ForecastTask(series=[history], horizon_steps=24, quantiles=[0.1, 0.9]))
    out = ForecastEngine().run(job, lambda _f, _s: None).result
    assert isinstance(out, ForecastResult)
    assert out.status == "optimal"
    (fc,) = out.forecasts
    low, high = np.array(fc.quantiles["0.1"]), np.array(fc.quantiles["0.9"])
    assert len(fc.point) == 24
    assert (low <= np.array(fc.point)).all()
    assert (np.array(fc.point) <= high).all()
    assert (high - low).mean() > 0


def test_too_short_a_history_is_an_error_naming_the_series() -> None:
    s = Series(id="short", start=simbench_profile("PV3", "pv", "res", 60).start, values=[1.0] * 100)
    out = (
        ForecastEngine()
        .run(ForecastJob(task=BacktestTask(series=[s], test_days=2)), lambda _f, _s: None)
        .result
    )
    assert out.status == "error"
    assert "short" in out.message


def test_intervals_are_calibrated_near_their_nominal_coverage(report: BacktestReport) -> None:
    """The 10-90 % band should hold about 80 % of the actuals out of sample; uncalibrated
    quantile boosting held 60-70 % here (see GbmQuantileModel)."""
    for s in report.series:
        gbm = next(score for score in s.scores if score.model == "gbm")
        assert 0.65 <= gbm.coverage <= 0.95, s


def test_a_portfolio_is_forecast_as_the_sum_of_its_members() -> None:
    """Seasonal naive is linear: the aggregate's forecast is yesterday's sum of the members."""
    members = [simbench_profile(c, "load", "load", 60) for c in ("H0-A_pload", "G1-A_pload")]
    series = [
        Series(id=m.id, kind="load", start=m.start, values=m.values[: 30 * 24]) for m in members
    ]
    task = ForecastTask(
        series=series,
        model="seasonal_naive",
        aggregates={"portfolio": [m.id for m in members]},
    )
    out = ForecastEngine().run(ForecastJob(task=task), lambda _f, _s: None).result
    assert isinstance(out, ForecastResult)
    assert out.status == "optimal", out.message
    portfolio = next(f for f in out.forecasts if f.series_id == "portfolio")
    yesterday = np.add(members[0].values[29 * 24 : 30 * 24], members[1].values[29 * 24 : 30 * 24])
    assert portfolio.point == pytest.approx(list(yesterday))
    bad = ForecastTask(series=series, aggregates={"node-7": ["nope"]})
    failed = ForecastEngine().run(ForecastJob(task=bad), lambda _f, _s: None).result
    assert failed.status == "error"
    assert "node-7" in failed.message
