"""Asynchronous jobs (clearing, imports, scenario runs) and their status events."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import msgspec

from gateway.messages.common import Id, UtcDatetime
from gateway.messages.problems import ProblemDetails


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


EngineKind = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9-]*$", description="Engine kind"
    ),
]


class JobSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: EngineKind
    input: Annotated[
        dict[str, Any], msgspec.Meta(description="The engine's input, validated by the engine")
    ]


class JobResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    job_id: Id
    status: JobStatus
    output: Any = None
    problem: ProblemDetails | None = None


class JobPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Job]
    next_cursor: str | None = None
