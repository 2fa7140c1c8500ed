"""The end of a clearing job -> the session's outcome (a `JobEventConsumer` hook for `fmct-clear`).

Runs in the transaction that marks the job finished. An infeasible market is a normal outcome
(the session fails with the engine's reason); a job that failed or was cancelled fails it too.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db.tables import market_session
from gateway.domain.results.recording import Outcome, outcome_of_output, record
from gateway.messages.events import JobCancelled, JobCompleted, JobEvent, JobFailed


async def on_clearing_finished(conn: AsyncConnection, job_id: str, event: JobEvent) -> None:
    session_id = (
        await conn.execute(
            select(market_session.c.id).where(market_session.c.clearing_job_id == job_id)
        )
    ).scalar_one_or_none()
    if session_id is None:
        return  # a clearing job someone submitted by hand: no session waits for it
    accepted: set[str] = set()
    match event:
        case JobCompleted(output=output):
            outcome, accepted = outcome_of_output(bytes(output))
        case JobFailed(problem=problem):
            outcome = Outcome("error", "job_failed", problem.detail or problem.title)
        case JobCancelled():
            outcome = Outcome("error", "cancelled", "the clearing job was cancelled")
        case _:
            return
    await record(conn, session_id, job_id, outcome, accepted, event.at)
