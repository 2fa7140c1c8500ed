"""The `forecast` engine: forecasts, back-tests and settlement baselines as jobs.

Bad series (too short, gaps, off-grid events) are a normal outcome: ``status="error"`` with a
message naming the series or event, and nothing else in the result.
"""

from __future__ import annotations

from engines.base import ProgressFn
from engines.forecast.backtest import backtest_series
from engines.forecast.baselines import event_baselines
from engines.forecast.forecasting import aggregate, forecast_series
from engines.forecast.schema import (
    BacktestReport,
    BacktestTask,
    BaselineReport,
    BaselineTask,
    ForecastJob,
    ForecastOutput,
    ForecastResult,
    ForecastTask,
)
from engines.forecast.series import SeriesError


class ForecastEngine:
    kind = "forecast"
    input_type = ForecastJob
    output_type = ForecastOutput

    def run(self, data: ForecastJob, progress: ProgressFn) -> ForecastOutput:
        task = data.task
        try:
            match task:
                case ForecastTask():
                    todo = [*task.series]
                    todo += [aggregate(n, members, task) for n, members in task.aggregates.items()]
                    out = []
                    for i, s in enumerate(todo):
                        progress(i / len(todo), f"forecasting {s.id}")
                        out.append(forecast_series(s, task))
                    return ForecastOutput(result=ForecastResult(status="optimal", forecasts=out))
                case BacktestTask():
                    reports = []
                    for i, s in enumerate(task.series):
                        progress(i / len(task.series), f"back-testing {s.id}")
                        reports.append(backtest_series(s, task))
                    return ForecastOutput(result=BacktestReport(status="optimal", series=reports))
                case BaselineTask():
                    return ForecastOutput(
                        result=BaselineReport(status="optimal", events=event_baselines(task))
                    )
        except SeriesError as exc:
            return ForecastOutput(result=_failed(task, str(exc)))
        raise AssertionError(f"unhandled task {type(task).__name__}")  # unreachable: a closed union


def _failed(
    task: ForecastTask | BacktestTask | BaselineTask, message: str
) -> ForecastResult | BacktestReport | BaselineReport:
    match task:
        case ForecastTask():
            return ForecastResult(status="error", message=message)
        case BacktestTask():
            return BacktestReport(status="error", message=message)
        case BaselineTask():
            return BaselineReport(status="error", message=message)
    raise AssertionError("unreachable")
