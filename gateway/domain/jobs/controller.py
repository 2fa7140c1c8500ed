"""REST for jobs: 202 + Location on submit, status, result, cancel, and a Server-Sent Events
stream of the job's events (the same events as on its NATS subject)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from nats.js.api import DeliverPolicy

from gateway.auth.caller import Caller
from gateway.domain.jobs.service import JobService
from gateway.domain.paging import DEFAULT_LIMIT, MAX_LIMIT
from gateway.http.hooks import PrettyResponse
from gateway.http.openapi import SECURITY, problems
from gateway.messages import subjects
from gateway.messages.common import Id
from gateway.messages.events import JobCancelled, JobCompleted, JobEvent, JobFailed
from gateway.messages.jobs import Job, JobPage, JobResult, JobStatus, JobSubmit
from gateway.messaging.connection import NatsLink

Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Page size")]
_DECODER = msgspec.json.Decoder(JobEvent)


def _final(event: JobEvent) -> bool:
    if isinstance(event, JobFailed):
        return event.dead_lettered
    return isinstance(event, JobCompleted | JobCancelled)


class JobController(Controller):
    path = "/v1/jobs"
    tags = ("jobs",)
    security = SECURITY

    @post("/", operation_id="submitJob", status_code=202, responses=problems(415, 422))
    async def submit(
        self,
        data: JSONBody[JobSubmit],
        caller: NamedDependency[Caller],
        jobs: NamedDependency[JobService],
    ) -> Response[Job]:
        """Queue a job for an engine; answers 202 with the job's URL in Location."""
        accepted = await jobs.submit(caller, data)
        return PrettyResponse(
            accepted, status_code=202, headers={"Location": f"/v1/jobs/{accepted.id}"}
        )

    @get("/", operation_id="listJobs", responses=problems())
    async def list_jobs(
        self,
        caller: NamedDependency[Caller],
        jobs: NamedDependency[JobService],
        status: Annotated[JobStatus | None, QueryParameter(name="status")] = None,
        cursor: Annotated[str | None, QueryParameter(name="cursor", max_length=400)] = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> JobPage:
        items, next_cursor = await jobs.list_visible(caller, status, cursor, limit)
        return JobPage(items=items, next_cursor=next_cursor)

    @get("/{job_id:str}", operation_id="getJob", responses=problems(404))
    async def get_job(
        self, job_id: Id, caller: NamedDependency[Caller], jobs: NamedDependency[JobService]
    ) -> Job:
        """Status and progress; `result_url` once the job has finished."""
        return await jobs.get(caller, job_id)

    @get("/{job_id:str}/result", operation_id="getJobResult", responses=problems(404, 409))
    async def get_result(
        self, job_id: Id, caller: NamedDependency[Caller], jobs: NamedDependency[JobService]
    ) -> JobResult:
        """The engine's output (or the problem it failed with); 409 while still running."""
        return await jobs.result(caller, job_id)

    @delete(
        "/{job_id:str}", operation_id="cancelJob", status_code=200, responses=problems(404, 409)
    )
    async def cancel(
        self, job_id: Id, caller: NamedDependency[Caller], jobs: NamedDependency[JobService]
    ) -> Job:
        """Cancel a job that has not finished (409 once it has)."""
        return await jobs.cancel(caller, job_id)

    @get(
        "/{job_id:str}/events",
        operation_id="streamJobEvents",
        responses=problems(404),
        media_type="text/event-stream",
    )
    async def events(
        self,
        job_id: Id,
        caller: NamedDependency[Caller],
        jobs: NamedDependency[JobService],
        nats_link: NamedDependency[NatsLink | None],
    ) -> ServerSentEvent:
        """Server-Sent Events: every event of the job from the start, until it finishes."""
        await jobs.get(caller, job_id)  # 404 before the stream starts
        return ServerSentEvent(_job_events(nats_link, job_id))


async def _job_events(link: NatsLink | None, job_id: str) -> AsyncIterator[ServerSentEventMessage]:
    if link is None:
        yield ServerSentEventMessage(event="error", data="messaging is disabled")
        return
    # An ordered consumer from the first event: the history, then live events, no gap between.
    sub = await link.js.subscribe(
        subjects.job_events(job_id), ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    try:
        async for msg in sub.messages:
            event = _DECODER.decode(msg.data)
            yield ServerSentEventMessage(
                event=type(event).__struct_config__.tag or "event", data=msg.data.decode()
            )
            if _final(event):
                return
    finally:
        await sub.unsubscribe()
