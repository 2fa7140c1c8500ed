"""Asynchronous jobs: accepted into the database and the job queue in one transaction (outbox),
run by engine workers, their status kept up to date from the job events they publish."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.auth.caller import Caller
from gateway.auth.scopes import JOBS_RUN
from gateway.db.database import Database
from gateway.db.tables import job, outbox
from gateway.domain.clock import Clock, new_id
from gateway.domain.jobs.policy import may_run
from gateway.domain.paging import decode_cursor, encode_cursor
from gateway.errors import Conflict, Forbidden, NotFound, Unprocessable
from gateway.messages import subjects
from gateway.messages.events import JobAccepted, JobCancelled, JobRequest
from gateway.messages.jobs import Job, JobResult, JobStatus, JobSubmit
from gateway.messages.problems import FieldError, ProblemDetails

TERMINAL = frozenset((JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED))
_COLS = (
    job.c.id,
    job.c.kind,
    job.c.owner_id,
    job.c.status,
    job.c.progress,
    job.c.message,
    job.c.created_at,
    job.c.updated_at,
)


def installed_engine_kinds() -> frozenset[str]:
    """Engine kinds from the `flexgrid.engines` entry points, read without importing them."""
    return frozenset(ep.name for ep in entry_points(group="flexgrid.engines"))


def _job(row: Sequence[Any]) -> Job:
    status = JobStatus(row[3])
    return Job(
        id=row[0],
        kind=row[1],
        owner_id=row[2],
        status=status,
        progress=row[4],
        message=row[5],
        created_at=row[6],
        updated_at=row[7],
        result_url=f"/v1/jobs/{row[0]}/result" if status in TERMINAL else None,
    )


async def insert_job(
    conn: AsyncConnection, job_id: str, kind: str, owner_id: str, payload: bytes, now: datetime
) -> None:
    """The job row and its outbox rows (accepted event, work-queue message), in the caller's
    transaction: a job exists exactly when its request is bound for the queue."""
    request = JobRequest(
        job_id=job_id, kind=kind, owner_id=owner_id, submitted_at=now, input=msgspec.Raw(payload)
    )
    accepted = JobAccepted(job_id=job_id, at=now)
    await conn.execute(
        insert(job).values(
            id=job_id,
            kind=kind,
            owner_id=owner_id,
            status=JobStatus.ACCEPTED.value,
            progress=0.0,
            message="",
            attempt=0,
            input=payload.decode(),
            created_at=now,
            updated_at=now,
        )
    )
    await conn.execute(
        insert(outbox),
        [
            {
                "id": f"job.{job_id}.accepted",
                "subject": subjects.job_events(job_id),
                "payload": msgspec.json.encode(accepted).decode(),
                "created_at": now,
            },
            {
                "id": f"job.{job_id}.request",
                "subject": subjects.job_queue(kind),
                "payload": msgspec.json.encode(request).decode(),
                "created_at": now,
            },
        ],
    )


class JobService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        on_commit: Callable[[], None],
        kinds: Callable[[], frozenset[str]] = installed_engine_kinds,
    ) -> None:
        self._db = db
        self._clock = clock
        self._on_commit = on_commit
        self._kinds = kinds

    async def submit(self, caller: Caller, data: JobSubmit) -> Job:
        caller.require(JOBS_RUN)
        known = self._kinds()
        if data.kind not in known:
            raise Unprocessable(
                f"no engine of kind {data.kind!r}; installed: {', '.join(sorted(known)) or 'none'}",
                errors=[FieldError(location="$.kind", message="unknown engine kind")],
            )
        if not may_run(caller.role, data.kind):
            raise Forbidden(f"the {caller.role.value} role may not run {data.kind} jobs")
        job_id = new_id()
        payload = msgspec.json.encode(data.input)
        async with self._db.begin() as conn:
            await insert_job(conn, job_id, data.kind, caller.participant_id, payload, self._clock())
        self._on_commit()
        return await self.get(caller, job_id)

    def _visible(self, caller: Caller) -> Any:
        caller.require(JOBS_RUN)
        query = select(*_COLS)
        if not caller.is_fmo:
            query = query.where(job.c.owner_id == caller.participant_id)
        return query

    async def get(self, caller: Caller, job_id: str) -> Job:
        async with self._db.connect() as conn:
            row = (await conn.execute(self._visible(caller).where(job.c.id == job_id))).first()
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return _job(row)

    async def list_visible(
        self, caller: Caller, status: JobStatus | None, cursor: str | None, limit: int
    ) -> tuple[list[Job], str | None]:
        query = self._visible(caller).order_by(job.c.id).limit(limit + 1)
        after = decode_cursor(cursor)
        if after is not None:
            query = query.where(job.c.id > after)
        if status is not None:
            query = query.where(job.c.status == status.value)
        async with self._db.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [_job(row) for row in rows[:limit]]
        return items, encode_cursor(items[-1].id) if len(rows) > limit else None

    async def result(self, caller: Caller, job_id: str) -> JobResult:
        current = await self.get(caller, job_id)
        if current.status not in TERMINAL:
            raise Conflict(f"job {job_id} is {current.status.value}; no result yet")
        async with self._db.connect() as conn:
            output, problem = (
                await conn.execute(select(job.c.output, job.c.problem).where(job.c.id == job_id))
            ).one()
        return JobResult(
            job_id=job_id,
            status=current.status,
            output=msgspec.json.decode(output) if output is not None else None,
            problem=msgspec.json.decode(problem, type=ProblemDetails) if problem else None,
        )

    async def cancel(self, caller: Caller, job_id: str) -> Job:
        await self.get(caller, job_id)
        now = self._clock()
        async with self._db.begin() as conn:
            changed = await conn.execute(
                update(job)
                .where(
                    job.c.id == job_id,
                    job.c.status.in_([JobStatus.ACCEPTED.value, JobStatus.RUNNING.value]),
                )
                .values(status=JobStatus.CANCELLED.value, updated_at=now, message="cancelled")
            )
            if changed.rowcount == 0:
                raise Conflict(f"job {job_id} has finished; nothing to cancel")
            await conn.execute(
                insert(outbox).values(
                    id=f"job.{job_id}.cancelled",
                    subject=subjects.job_events(job_id),
                    payload=msgspec.json.encode(JobCancelled(job_id=job_id, at=now)).decode(),
                    created_at=now,
                )
            )
        self._on_commit()
        return await self.get(caller, job_id)
