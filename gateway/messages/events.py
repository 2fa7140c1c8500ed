"""Message families carried on NATS subjects: one tagged union per subject (see `subjects`)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from gateway.messages.common import Id, UtcDatetime
from gateway.messages.orders import FlexOffer, FlexRequest, OrderStatus
from gateway.messages.problems import ProblemDetails


class FlexRequestStored(msgspec.Struct, frozen=True, kw_only=True, tag="flex_request.stored"):
    order: FlexRequest


class FlexOfferStored(msgspec.Struct, frozen=True, kw_only=True, tag="flex_offer.stored"):
    order: FlexOffer


class OrderStatusChanged(msgspec.Struct, frozen=True, kw_only=True, tag="order.status_changed"):
    order_id: Id
    kind: Annotated[str, msgspec.Meta(description="request or offer")]
    session_id: Id
    at: UtcDatetime
    from_status: OrderStatus
    to_status: OrderStatus


OrderEvent = FlexRequestStored | FlexOfferStored | OrderStatusChanged


class JobRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A unit of work for an engine; `input` is the engine's own input Struct as JSON."""

    job_id: Id
    kind: str
    owner_id: Id
    submitted_at: UtcDatetime
    input: msgspec.Raw


class JobAccepted(msgspec.Struct, frozen=True, kw_only=True, tag="accepted"):
    job_id: Id
    at: UtcDatetime


class JobRunning(msgspec.Struct, frozen=True, kw_only=True, tag="running"):
    job_id: Id
    at: UtcDatetime
    progress: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
    stage: str = ""
    worker: str = ""
    attempt: int = 1


class JobCompleted(msgspec.Struct, frozen=True, kw_only=True, tag="completed"):
    job_id: Id
    at: UtcDatetime
    output: msgspec.Raw
    worker: str = ""
    attempt: int = 1


class JobFailed(msgspec.Struct, frozen=True, kw_only=True, tag="failed"):
    job_id: Id
    at: UtcDatetime
    problem: ProblemDetails
    attempt: int = 1
    dead_lettered: bool = False


class JobCancelled(msgspec.Struct, frozen=True, kw_only=True, tag="cancelled"):
    job_id: Id
    at: UtcDatetime


JobEvent = JobAccepted | JobRunning | JobCompleted | JobFailed | JobCancelled


class SessionCleared(msgspec.Struct, frozen=True, kw_only=True, tag="session.cleared"):
    """A session's clearing results are stored; `GET /v1/market-sessions/{id}/results`."""

    session_id: Id
    zone_id: Id
    at: UtcDatetime
    job_id: Id | None = None
    status: Annotated[str, msgspec.Meta(description="Solver outcome, e.g. optimal")]
    objective_eur: float | None = None
    accepted_offers: int
    rejected_offers: int
    results_url: str


class SessionFailed(msgspec.Struct, frozen=True, kw_only=True, tag="session.failed"):
    """The clearing found no result (infeasible market, solver error, failed job)."""

    session_id: Id
    zone_id: Id
    at: UtcDatetime
    job_id: Id | None = None
    status: str
    condition: str = ""
    reason: str
    results_url: str


SessionEvent = SessionCleared | SessionFailed
