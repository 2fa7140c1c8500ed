"""The `market-architecture` engine: the architectures of `engines.markets.architectures` on one
scenario as a job, with a comparison report (the central optimum as the yardstick).

The wholesale side is a port (`engines.markets.wholesale_port`): the wholesale adapter over NATS
(`adapters.blocking`, a connection of the run's own, opened for the run and closed after) or its
emulator in this process; the job's `wholesale` picks one, by default the adapter when the host
says it serves the market adapters (`engines.context`). The iterative market asks it several times
per period; the output says which market answered and how many auctions it cleared.
"""

from __future__ import annotations

from datetime import timedelta

from adapters.blocking import BlockingWholesaleMarket
from adapters.errors import MarketUnavailable
from engines.base import ProgressFn
from engines.context import EngineContext
from engines.markets.architectures import ALGORITHMS, run_architecture
from engines.markets.outcome import ArchitectureResult, imbalance_summary
from engines.markets.scenario import Scenario
from engines.markets.settle import AREA
from engines.markets.wholesale_port import CountedClearing, InProcessDayAhead
from gateway.messages.architectures import (
    KIND,
    ArchitectureRunInput,
    ArchitectureRunOutput,
    ArchitectureScenario,
    ComparisonRow,
    WholesaleSource,
    day_start,
)
from gateway.messages.subjects import DAY_AHEAD_CLEAR

FLEX_PARTIES = (
    "aggregator-",
    "pv-",
)  # the scenario's flexibility sellers (engines.markets.scenario)


def scenario_of(spec: ArchitectureScenario) -> Scenario:
    return Scenario(
        network=spec.network,
        coupling_bus=spec.coupling_bus,
        periods=24,
        start=day_start(spec),
        steps=spec.generator_steps,
        price_scale=spec.price_scale,
        forecast_errors=spec.forecast_errors,
    )


def periods_of(spec: ArchitectureScenario) -> list[int]:
    return list(range(spec.first_period, min(spec.first_period + spec.periods, 24)))


def comparison(results: list[ArchitectureResult]) -> list[ComparisonRow]:
    central = next(
        (r for r in results if r.architecture == "central" and r.status == "optimal"), None
    )
    rows: list[ComparisonRow] = []
    for r in results:
        gap = None
        if central is not None and r.status == "optimal" and central.welfare_eur != 0.0:
            gap = 100.0 * (central.welfare_eur - r.welfare_eur) / abs(central.welfare_eur)
        rows.append(
            ComparisonRow(
                architecture=r.architecture,
                status=r.status,
                welfare_eur=r.welfare_eur,
                gap_to_central_percent=gap,
                generation_cost_eur=r.generation_cost_eur,
                flex_cost_eur=r.flex_cost_eur,
                curtailed_res_mwh=r.curtailed_res_mwh,
                iterations=r.iterations,
                unconverged_periods=r.unconverged_periods,
                distribution_area_paid_eur=-r.payments_eur.get(AREA, 0.0),
                flexibility_providers_received_eur=sum(
                    v for k, v in r.payments_eur.items() if k.startswith(FLEX_PARTIES)
                ),
                time_s=r.time_s,
                imbalance=r.imbalance,
            )
        )
    return rows


class ArchitectureEngine:
    kind = KIND
    input_type = ArchitectureRunInput
    output_type = ArchitectureRunOutput

    def __init__(self, context: EngineContext | None = None) -> None:
        self.context = context or EngineContext()

    def with_context(self, context: EngineContext) -> ArchitectureEngine:
        return ArchitectureEngine(context)

    def source(self, data: ArchitectureRunInput) -> WholesaleSource:
        if data.wholesale is not None:
            return data.wholesale
        return "adapter" if self.context.market_adapters else "in-process"

    def run(self, data: ArchitectureRunInput, progress: ProgressFn) -> ArchitectureRunOutput:
        source = self.source(data)
        if source == "in-process":
            return self._run(data, progress, CountedClearing(InProcessDayAhead()), source)
        if self.context.nats is None:
            raise MarketUnavailable(
                DAY_AHEAD_CLEAR, "this engine host has no NATS connection configured"
            )
        with BlockingWholesaleMarket(self.context.nats) as market:
            return self._run(data, progress, CountedClearing(market), source)

    def _run(
        self,
        data: ArchitectureRunInput,
        progress: ProgressFn,
        wholesale: CountedClearing,
        source: WholesaleSource,
    ) -> ArchitectureRunOutput:
        scenario = scenario_of(data.scenario)
        periods = periods_of(data.scenario)
        steps = len(data.architectures) * len(periods)
        results: list[ArchitectureResult] = []
        for k, name in enumerate(data.architectures):
            if name not in ALGORITHMS:  # the input type allows only known names: a contract bug
                raise ValueError(f"unknown architecture {name!r}")
            done = k * len(periods)
            progress(done / steps, f"{name}: {len(periods)} period(s)")
            # One period at a time so a long day reports progress; the sides are rebuilt per
            # call (cheap next to the solves), the outcomes merged below.
            parts = []
            for i, t in enumerate(periods):
                hour = (day_start(data.scenario) + timedelta(hours=t)).isoformat()
                progress((done + i) / steps, f"{name}: period {t} ({hour})")
                parts.append(run_architecture(name, scenario, [t], wholesale))
            results.append(_merged(name, parts))
        progress(1.0, "comparison")
        return ArchitectureRunOutput(
            scenario=data.scenario,
            results=results,
            comparison=comparison(results),
            wholesale=source,
            wholesale_requests=wholesale.requests,
        )


def _merged(name: str, parts: list[ArchitectureResult]) -> ArchitectureResult:
    failed = next((p for p in parts if p.status != "optimal"), None)
    if failed is not None:
        return failed
    payments: dict[str, float] = {}
    for p in parts:
        for party, amount in p.payments_eur.items():
            payments[party] = payments.get(party, 0.0) + amount
    return ArchitectureResult(
        architecture=name,  # type: ignore[arg-type]
        status="optimal",
        welfare_eur=sum(p.welfare_eur for p in parts),
        generation_cost_eur=sum(p.generation_cost_eur for p in parts),
        flex_cost_eur=sum(p.flex_cost_eur for p in parts),
        curtailed_res_mwh=sum(p.curtailed_res_mwh for p in parts),
        iterations=sum(p.iterations for p in parts),
        unconverged_periods=sum(p.unconverged_periods for p in parts),
        payments_eur={k: round(v, 6) for k, v in sorted(payments.items())},
        periods=[q for p in parts for q in p.periods],
        time_s=sum(p.time_s for p in parts),
        imbalance=imbalance_summary([q for p in parts for q in p.periods]),
    )
