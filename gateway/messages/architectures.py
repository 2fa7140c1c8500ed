"""Market architecture runs (FLEXGRID D2.2 section 2.2): the `market-architecture` job's input and
output, and the REST bodies the market operator posts.

A run plays one or more architectures (reactive, its near-real-time variant on imbalances,
proactive, iterative TSO-DSO; the central joint optimum as the yardstick) on one scenario: a 33-bus distribution feeder (pandapower `case33bw`)
under one bus of a transmission case, hourly periods of one day. The result Structs are
`engines.markets.outcome`'s (light: msgspec only). Evolution: new fields get defaults.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from engines.markets.outcome import ArchitectureResult, ImbalanceSummary
from gateway.messages.common import Id, UtcDatetime
from gateway.messages.imbalance import ForecastErrors
from gateway.messages.jobs import JobStatus

KIND = "market-architecture"

MarketArchitecture = Literal["reactive", "reactive-nrt", "proactive", "iterative"]
RunArchitecture = Literal["reactive", "reactive-nrt", "proactive", "iterative", "central"]
TransmissionNetwork = Literal["case30", "case39", "case118"]
WholesaleSource = Literal["adapter", "in-process"]
WHOLESALE_DESCRIPTION = (
    "the wholesale market the run asks: `adapter` (the wholesale adapter over NATS, "
    "atp.v1.markets.day-ahead.clear) or `in-process` (its emulator inside the engine); "
    "none: the adapter where the host serves it, else in-process"
)
# Bus counts of the cases (MATPOWER): the coupling bus is a pandapower bus index below these.
BUS_COUNT: dict[str, int] = {"case30": 30, "case39": 39, "case118": 118}
DEFAULT_START = datetime(2026, 6, 15, 22, 0, tzinfo=UTC)  # 00:00 CEST


def day_start(scenario: ArchitectureScenario) -> datetime:
    return scenario.day_start or DEFAULT_START


class ArchitectureScenario(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The feeder under `coupling_bus` of `network`, periods `first_period` .. `first_period +
    periods - 1` of the day starting at `day_start` (hourly, local time = UTC + 2 h)."""

    network: TransmissionNetwork = "case30"
    coupling_bus: Annotated[
        str,
        Meta(
            pattern=r"^[0-9]{1,3}$", description="transmission bus (pandapower index) of the feeder"
        ),
    ] = "29"
    day_start: Annotated[
        UtcDatetime | None,
        Meta(description="start of the day's first hour; none: 2026-06-15T22:00:00Z (00:00 CEST)"),
    ] = None
    first_period: Annotated[int, Meta(ge=0, le=23)] = 0
    periods: Annotated[int, Meta(ge=1, le=24, description="hourly periods to play")] = 24
    generator_steps: Annotated[
        int,
        Meta(ge=1, le=100, description="steps per generator's cost curve (finer: moving TLMPs)"),
    ] = 60
    price_scale: Annotated[
        float, Meta(gt=0.0, le=1_000.0, description="factor on the case's generator costs")
    ] = 15.0
    forecast_errors: Annotated[
        ForecastErrors,
        Meta(description="the day's realisation against the forecast (reactive-nrt's imbalances)"),
    ] = msgspec.field(default_factory=ForecastErrors)


class ArchitectureRunSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    architecture: MarketArchitecture
    scenario: ArchitectureScenario = msgspec.field(default_factory=ArchitectureScenario)
    wholesale: Annotated[WholesaleSource | None, Meta(description=WHOLESALE_DESCRIPTION)] = None


class ArchitectureComparisonSubmit(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """The three architectures on one scenario, and the central optimum as the yardstick."""

    scenario: ArchitectureScenario = msgspec.field(default_factory=ArchitectureScenario)
    include_central: bool = True
    include_near_real_time: Annotated[
        bool, Meta(description="also the reactive market's near-real-time variant (reactive-nrt)")
    ] = True
    wholesale: Annotated[WholesaleSource | None, Meta(description=WHOLESALE_DESCRIPTION)] = None


class ArchitectureRunInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The `market-architecture` job's input."""

    architectures: Annotated[list[RunArchitecture], Meta(min_length=1, max_length=5)]
    scenario: ArchitectureScenario
    wholesale: Annotated[WholesaleSource | None, Meta(description=WHOLESALE_DESCRIPTION)] = None


class ComparisonRow(msgspec.Struct, frozen=True, kw_only=True):
    """One architecture's line of the comparison report. Welfare = -(generation + flexibility
    cost): the scenario's demand is inelastic. Money is EUR received (negative = paid)."""

    architecture: RunArchitecture
    status: str
    welfare_eur: float
    gap_to_central_percent: Annotated[
        float | None, Meta(description="(central - this) / |central| welfare, in %")
    ]
    generation_cost_eur: float
    flex_cost_eur: float
    curtailed_res_mwh: float
    iterations: int
    unconverged_periods: int
    distribution_area_paid_eur: Annotated[
        float, Meta(description="what the distribution area pays the wholesale market")
    ]
    flexibility_providers_received_eur: float
    time_s: float
    imbalance: Annotated[
        ImbalanceSummary | None,
        Meta(
            description="reactive-nrt only: its near-real-time stage. Its welfare and gap also "
            "carry the realised forecast errors (balancing energy is in its generation cost)"
        ),
    ] = None


WHOLESALE_USED = "the wholesale market the run asked"
WHOLESALE_REQUESTS = "day-ahead auctions the run asked it to clear"


class ArchitectureRunOutput(msgspec.Struct, frozen=True, kw_only=True):
    scenario: ArchitectureScenario
    results: list[ArchitectureResult]
    comparison: list[ComparisonRow]
    wholesale: Annotated[WholesaleSource, Meta(description=WHOLESALE_USED)] = "in-process"
    wholesale_requests: Annotated[int, Meta(ge=0, description=WHOLESALE_REQUESTS)] = 0


class ArchitectureRun(msgspec.Struct, frozen=True, kw_only=True):
    """A run as REST shows it: the job's status and, once completed, its results."""

    id: Id
    job_url: str
    status: JobStatus
    progress: Annotated[float, Meta(ge=0.0, le=1.0)]
    message: str
    architectures: list[RunArchitecture]
    scenario: ArchitectureScenario
    created_at: UtcDatetime
    updated_at: UtcDatetime
    results: list[ArchitectureResult] = msgspec.field(default_factory=list)
    comparison: list[ComparisonRow] = msgspec.field(default_factory=list)
    wholesale: Annotated[
        WholesaleSource | None, Meta(description=WHOLESALE_USED + "; none before it completed")
    ] = None
    wholesale_requests: Annotated[int, Meta(ge=0, description=WHOLESALE_REQUESTS)] = 0
