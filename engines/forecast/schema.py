"""Wire input and output of the `forecast` engine (imports only msgspec and the standard library).

A job is one of three tasks (a tagged union on ``task``): ``forecast`` (quantile forecasts per
series from the end of its history), ``backtest`` (rolling-origin evaluation of the learned model
against the naive baselines) and ``baseline`` (settlement baselines of metered events and the
flexibility they show delivered). Series are regular: a start, a resolution and values, all UTC.

Evolution rules: new fields get defaults; nothing is retyped; a breaking change is a new version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

SeriesKind = Literal["load", "pv", "wind", "price", "other"]
ModelName = Literal["seasonal_naive", "weekly_naive", "gbm"]
Quantile = Annotated[float, Meta(gt=0.0, lt=1.0)]
Status = Literal["optimal", "error"]


class _Input(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base for inbound commands."""


class Series(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A regular time series: ``values[i]`` covers ``[start + i*res, start + (i+1)*res)``."""

    id: str
    kind: SeriesKind = "other"
    unit: str = "MW"
    start: datetime
    resolution_minutes: Annotated[int, Meta(ge=1, le=1440)] = 60
    values: list[float]


class ForecastTask(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="forecast"):
    """Forecasts per series (an asset's meter), and per aggregate: ``aggregates`` names sums of
    series (a portfolio, or every asset at a node), forecast as series of their own (the sum of
    members' quantiles is not a quantile of the sum)."""

    series: Annotated[list[Series], Meta(min_length=1)]
    model: ModelName = "gbm"
    horizon_steps: Annotated[int, Meta(ge=1)] = 24
    quantiles: list[Quantile] = msgspec.field(default_factory=lambda: [0.1, 0.5, 0.9])
    aggregates: dict[str, list[str]] = msgspec.field(default_factory=dict)


class BacktestTask(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="backtest"):
    """Rolling origin: an origin every ``horizon_steps`` over the last ``test_days`` of each
    series; every model forecasts ``horizon_steps`` ahead from data before the origin only; the
    learned model is refitted every ``refit_every_days`` on everything before the refit point."""

    series: Annotated[list[Series], Meta(min_length=1)]
    horizon_steps: Annotated[int, Meta(ge=1)] = 24
    test_days: Annotated[int, Meta(ge=1)] = 28
    refit_every_days: Annotated[int, Meta(ge=1)] = 28
    quantiles: list[Quantile] = msgspec.field(default_factory=lambda: [0.1, 0.5, 0.9])
    test_end: Annotated[
        datetime | None, Meta(description="end of the test window; default: end of each series")
    ] = None


class Event(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A flexibility activation: the interval ``[start, end)`` on the meter's time grid."""

    id: str
    start: datetime
    end: datetime
    direction: Literal["down", "up"] = "down"


class BaselineMethod(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How a baseline is computed.

    ``high_x_of_y``: of the ``y_days`` most recent eligible days before the event (same day type,
    not an event day, not excluded, within ``lookback_days``) keep the ``x_days`` with the highest
    mean over the event window and average them interval by interval (``x_days == y_days``: the
    plain "Y-in-Y" average). Then the same-day adjustment over the ``adjustment_hours`` that end
    ``adjustment_gap_hours`` before the event start: ``additive`` adds (actual - baseline) mean,
    ``multiplicative`` scales by the ratio of means, capped at 1 +/- ``adjustment_cap``.

    ``meter_before_meter_after``: the mean of the ``mbma_intervals`` metered values just before
    the event start, held flat over the event.
    """

    kind: Literal["high_x_of_y", "meter_before_meter_after"] = "high_x_of_y"
    x_days: Annotated[int, Meta(ge=1)] = 4
    y_days: Annotated[int, Meta(ge=1)] = 5
    lookback_days: Annotated[int, Meta(ge=1)] = 45
    same_day_type: bool = True
    adjustment: Literal["none", "additive", "multiplicative"] = "additive"
    adjustment_hours: Annotated[float, Meta(ge=0.0)] = 3.0
    adjustment_gap_hours: Annotated[float, Meta(ge=0.0)] = 1.0
    adjustment_cap: Annotated[float, Meta(ge=0.0)] | None = None
    mbma_intervals: Annotated[int, Meta(ge=1)] = 1


class BaselineTask(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="baseline"):
    meter: Series
    events: Annotated[list[Event], Meta(min_length=1)]
    method: BaselineMethod = msgspec.field(default_factory=BaselineMethod)
    excluded_days: list[datetime] = msgspec.field(default_factory=list)


class ForecastJob(_Input, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task: ForecastTask | BacktestTask | BaselineTask


class SeriesForecast(msgspec.Struct, frozen=True, kw_only=True):
    series_id: str
    model: ModelName
    start: datetime
    resolution_minutes: int
    point: list[float]
    # Keyed "0.1", "0.5", ...: JSON object keys are strings.
    quantiles: dict[str, list[float]] = msgspec.field(default_factory=dict)


class ModelScore(msgspec.Struct, frozen=True, kw_only=True):
    model: ModelName
    mae: float
    rmse: float
    pinball: Annotated[float, Meta(description="mean pinball loss over the quantiles")]
    coverage: Annotated[
        float, Meta(description="share of actuals inside [lowest, highest] quantile")
    ]


class SeriesBacktest(msgspec.Struct, frozen=True, kw_only=True):
    series_id: str
    kind: SeriesKind
    origins: int
    points: int
    scores: list[ModelScore]
    mae_skill_vs_seasonal_naive: Annotated[
        float, Meta(description="1 - MAE(gbm) / MAE(seasonal_naive): > 0 means the model is better")
    ]
    fit_time_s: float
    predict_time_s: float


class EventBaseline(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    start: datetime
    baseline: list[float]
    metered: list[float]
    delivered: Annotated[
        list[float],
        Meta(description="per interval; positive = flexibility in the event's direction"),
    ]
    delivered_energy: Annotated[float, Meta(description="sum of delivered x interval hours")]
    days_used: list[datetime]
    adjustment: float


class ForecastResult(msgspec.Struct, frozen=True, kw_only=True, tag="forecast"):
    status: Status
    message: str = ""
    forecasts: list[SeriesForecast] = msgspec.field(default_factory=list)


class BacktestReport(msgspec.Struct, frozen=True, kw_only=True, tag="backtest"):
    status: Status
    message: str = ""
    series: list[SeriesBacktest] = msgspec.field(default_factory=list)


class BaselineReport(msgspec.Struct, frozen=True, kw_only=True, tag="baseline"):
    status: Status
    message: str = ""
    events: list[EventBaseline] = msgspec.field(default_factory=list)


class ForecastOutput(msgspec.Struct, frozen=True, kw_only=True):
    result: ForecastResult | BacktestReport | BaselineReport
