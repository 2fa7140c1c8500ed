"""Market architecture runs: the market operator's `market-architecture` jobs, read back typed.

A run is a job (202, progress over REST and on the job's NATS subject); its id is the job's id.
The scenario is checked here (422 with the field), so the engine never gets one it cannot play.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from sqlalchemy import select

from gateway.auth.caller import Caller
from gateway.auth.scopes import JOBS_RUN
from gateway.db.database import Database
from gateway.db.tables import job
from gateway.domain.clock import Clock, new_id
from gateway.domain.jobs.service import insert_job
from gateway.errors import Forbidden, NotFound, Unprocessable
from gateway.messages.architectures import (
    BUS_COUNT,
    KIND,
    ArchitectureRun,
    ArchitectureRunInput,
    ArchitectureRunOutput,
    ArchitectureScenario,
    RunArchitecture,
    WholesaleSource,
)
from gateway.messages.jobs import JobStatus
from gateway.messages.problems import FieldError

_INPUT = msgspec.json.Decoder(ArchitectureRunInput)
_OUTPUT = msgspec.json.Decoder(ArchitectureRunOutput)


def scenario_errors(scenario: ArchitectureScenario, where: str) -> list[FieldError]:
    """What the schema cannot say: the coupling bus exists, the periods fit in the day."""
    errors: list[FieldError] = []
    buses = BUS_COUNT[scenario.network]
    if int(scenario.coupling_bus) >= buses:
        errors.append(
            FieldError(
                location=f"{where}.coupling_bus",
                message=f"{scenario.network} has buses 0..{buses - 1}",
            )
        )
    if scenario.first_period + scenario.periods > 24:
        errors.append(
            FieldError(
                location=f"{where}.periods",
                message=f"periods {scenario.first_period}..{scenario.first_period + scenario.periods - 1}"
                " run past the day's 24 hourly periods",
            )
        )
    return errors


def _run(row: Sequence[Any]) -> ArchitectureRun:
    data = _INPUT.decode(row[3])
    status = JobStatus(row[1])
    output = _OUTPUT.decode(row[6]) if status is JobStatus.COMPLETED and row[6] else None
    return ArchitectureRun(
        id=row[0],
        job_url=f"/v1/jobs/{row[0]}",
        status=status,
        progress=row[2],
        message=row[7],
        architectures=data.architectures,
        scenario=data.scenario,
        created_at=row[4],
        updated_at=row[5],
        results=output.results if output is not None else [],
        comparison=output.comparison if output is not None else [],
        wholesale=output.wholesale if output is not None else None,
        wholesale_requests=output.wholesale_requests if output is not None else 0,
    )


class ArchitectureService:
    def __init__(self, db: Database, clock: Clock, on_commit: Callable[[], None]) -> None:
        self._db = db
        self._clock = clock
        self._on_commit = on_commit

    async def start(
        self,
        caller: Caller,
        architectures: list[RunArchitecture],
        scenario: ArchitectureScenario,
        wholesale: WholesaleSource | None = None,
    ) -> ArchitectureRun:
        caller.require(JOBS_RUN)
        if not caller.is_fmo:
            raise Forbidden("only the market operator runs market architectures")
        errors = scenario_errors(scenario, "$.scenario")
        if errors:
            raise Unprocessable("the scenario cannot be played", errors=errors)
        run_id = new_id()
        payload = msgspec.json.encode(
            ArchitectureRunInput(
                architectures=architectures, scenario=scenario, wholesale=wholesale
            )
        )
        async with self._db.begin() as conn:
            await insert_job(conn, run_id, KIND, caller.participant_id, payload, self._clock())
        self._on_commit()
        return await self.get(caller, run_id)

    async def get(self, caller: Caller, run_id: str) -> ArchitectureRun:
        caller.require(JOBS_RUN)
        query = select(
            job.c.id,
            job.c.status,
            job.c.progress,
            job.c.input,
            job.c.created_at,
            job.c.updated_at,
            job.c.output,
            job.c.message,
        ).where(job.c.id == run_id, job.c.kind == KIND)
        if not caller.is_fmo:
            query = query.where(job.c.owner_id == caller.participant_id)
        async with self._db.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"market architecture run {run_id} not found")
        return _run(row)
