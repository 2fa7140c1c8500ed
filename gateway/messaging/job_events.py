"""Keeps the job table in step with the job events engines publish.

One durable consumer shared by every gateway replica, so each event is applied once; the
updates are idempotent anyway (a terminal job never changes again, progress never goes back),
so a redelivered or duplicated event changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db.database import Database
from gateway.db.tables import job
from gateway.messages import subjects
from gateway.messages.events import (
    JobAccepted,
    JobCancelled,
    JobCompleted,
    JobEvent,
    JobFailed,
    JobRunning,
)
from gateway.messages.jobs import JobStatus

log = logging.getLogger("flexgrid.jobs")
DURABLE = "gateway-job-events"
_OPEN = (JobStatus.ACCEPTED.value, JobStatus.RUNNING.value)
_DECODER = msgspec.json.Decoder(JobEvent)

# Runs in the transaction that records a job's terminal event (completed, dead-lettered failure,
# cancelled), for the jobs of one kind: e.g. market clearing stores the session's results. It is
# called again for a redelivered event, so it must be idempotent.
FinishedHook = Callable[[AsyncConnection, str, JobEvent], Awaitable[None]]


def _terminal(event: JobEvent) -> bool:
    match event:
        case JobCompleted() | JobCancelled() | JobFailed(dead_lettered=True):
            return True
    return False


def _change(event: JobEvent) -> tuple[Any, dict[str, Any]] | None:
    """The guarded update an event makes: (extra WHERE clause, new values)."""
    match event:
        case JobRunning(progress=progress, stage=stage, attempt=attempt):
            return (
                job.c.progress <= progress,
                {
                    "status": JobStatus.RUNNING.value,
                    "progress": progress,
                    "message": stage[:1000],
                    "attempt": attempt,
                },
            )
        case JobCompleted(output=output, attempt=attempt):
            return (
                true(),
                {
                    "status": JobStatus.COMPLETED.value,
                    "progress": 1.0,
                    "output": bytes(output).decode(),
                    "message": "completed",
                    "attempt": attempt,
                },
            )
        case JobFailed(problem=problem, attempt=attempt, dead_lettered=True):
            return (
                true(),
                {
                    "status": JobStatus.FAILED.value,
                    "problem": msgspec.json.encode(problem).decode(),
                    "message": (problem.detail or problem.title)[:1000],
                    "attempt": attempt,
                },
            )
        case JobFailed(problem=problem, attempt=attempt):
            # A failed attempt that will be retried: note it, the job stays open.
            return (true(), {"message": f"attempt {attempt} failed: {problem.title}"[:1000]})
        case JobCancelled():
            return (true(), {"status": JobStatus.CANCELLED.value, "message": "cancelled"})
        case JobAccepted():
            return None
    return None


class JobEventConsumer:
    def __init__(
        self,
        db: Database,
        js: JetStreamContext,
        on_finished: Mapping[str, FinishedHook] | None = None,
    ) -> None:
        self._db = db
        self._js = js
        self._on_finished = dict(on_finished or {})
        self._task: asyncio.Task[None] | None = None
        self._sub: Any = None

    async def start(self) -> None:
        self._sub = sub = await self._js.pull_subscribe(
            subjects.job_events("*"),
            durable=DURABLE,
            stream=subjects.EVENTS_STREAM,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=10_000,
                ack_wait=30,
            ),
        )
        self._task = asyncio.create_task(self._run(sub), name="job-events")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sub is not None:
            with contextlib.suppress(Exception):  # the connection may be gone already
                await self._sub.unsubscribe()

    async def _run(self, sub: Any) -> None:
        while True:
            try:
                messages = await sub.fetch(batch=200, timeout=1.0)
            except TimeoutError:
                continue
            except Exception:  # NATS reconnecting; the durable consumer keeps our place
                log.warning("job event fetch failed", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            for msg in messages:
                try:
                    await self.apply(_DECODER.decode(msg.data))
                except msgspec.DecodeError:
                    log.error("undecodable job event on %s dropped", msg.subject)
                    await msg.term()
                    continue
                except Exception:  # the database away: leave unacked, it comes back
                    log.warning("applying a job event failed", exc_info=True)
                    await msg.nak(delay=1.0)
                    continue
                await msg.ack()

    async def apply(self, event: JobEvent) -> None:
        change = _change(event)
        if change is None:
            return
        guard, values = change
        async with self._db.begin() as conn:
            await conn.execute(
                update(job)
                .where(job.c.id == event.job_id, job.c.status.in_(_OPEN), guard)
                .values(updated_at=event.at, **values)
            )
            if self._on_finished and _terminal(event):
                kind = (
                    await conn.execute(select(job.c.kind).where(job.c.id == event.job_id))
                ).scalar_one_or_none()
                hook = self._on_finished.get(kind) if kind is not None else None
                if hook is not None:
                    await hook(conn, event.job_id, event)
