"""Asynchronous jobs (clearing, imports, scenario runs) and their status events."""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec

from gateway.messages.common import Id, UtcDatetime


class JobStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job(msgspec.Struct, frozen=True, kw_only=True):
    id: Id
    kind: Annotated[str, msgspec.Meta(description="Engine kind, e.g. fmct.needs")]
    owner_id: Id
    status: JobStatus
    progress: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.0
    message: str = ""
    created_at: UtcDatetime
    updated_at: UtcDatetime
    result_url: str | None = None


class JobEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A status event on a job's subject; `progress` in [0, 1]."""

    job_id: Id
    at: UtcDatetime
    status: JobStatus
    progress: float = 0.0
    message: str = ""
