"""REST for market architecture runs: 202 + Location on start, the run with its results."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from gateway.auth.caller import Caller
from gateway.domain.architectures.service import ArchitectureService
from gateway.http.hooks import PrettyResponse
from gateway.http.openapi import SECURITY, problems
from gateway.messages.architectures import (
    ArchitectureComparisonSubmit,
    ArchitectureRun,
    ArchitectureRunSubmit,
    RunArchitecture,
)
from gateway.messages.common import Id

COMPARED: tuple[RunArchitecture, ...] = ("reactive", "reactive-nrt", "proactive", "iterative")


def _accepted(run: ArchitectureRun) -> Response[ArchitectureRun]:
    location = f"/v1/market-architectures/runs/{run.id}"
    return PrettyResponse(run, status_code=202, headers={"Location": location})


class ArchitectureController(Controller):
    path = "/v1/market-architectures"
    tags = ("market-architectures",)
    security = SECURITY

    @post(
        "/runs", operation_id="runMarketArchitecture", status_code=202, responses=problems(415, 422)
    )
    async def run(
        self,
        data: JSONBody[ArchitectureRunSubmit],
        caller: NamedDependency[Caller],
        architectures: NamedDependency[ArchitectureService],
    ) -> Response[ArchitectureRun]:
        """Play one architecture (reactive, its near-real-time variant on imbalances, proactive or
        iterative TSO-DSO market) on a scenario as a job; 202 with the run's URL in Location. Market operator only."""
        return _accepted(
            await architectures.start(caller, [data.architecture], data.scenario, data.wholesale)
        )

    @post(
        "/comparisons",
        operation_id="compareMarketArchitectures",
        status_code=202,
        responses=problems(415, 422),
    )
    async def compare(
        self,
        data: JSONBody[ArchitectureComparisonSubmit],
        caller: NamedDependency[Caller],
        architectures: NamedDependency[ArchitectureService],
    ) -> Response[ArchitectureRun]:
        """The three architectures on one scenario, the reactive one's near-real-time variant on
        the day's imbalances, and the central joint optimum as the yardstick: welfare, costs,
        curtailed RES, payments per party, iterations, imbalances and balancing energy."""
        names = [n for n in COMPARED if data.include_near_real_time or n != "reactive-nrt"]
        names += ["central"] if data.include_central else []
        return _accepted(await architectures.start(caller, names, data.scenario, data.wholesale))

    @get("/runs/{run_id:str}", operation_id="getMarketArchitectureRun", responses=problems(404))
    async def get_run(
        self,
        run_id: Id,
        caller: NamedDependency[Caller],
        architectures: NamedDependency[ArchitectureService],
    ) -> ArchitectureRun:
        """Status and progress of a run; its results and comparison once completed."""
        return await architectures.get(caller, run_id)
