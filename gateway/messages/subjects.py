"""The NATS subject registry: every subject, its stream, and the one message family it carries.

Subjects are versioned (`atp.v1...`); a breaking change to a family means a new `v2` subject,
never a retyped field. The AsyncAPI document is generated from this registry.
"""

from __future__ import annotations

import msgspec

PREFIX = "atp.v1"

# Streams (JetStream) and the subjects they hold.
ORDERS_STREAM = "ATP_ORDERS"
JOBS_STREAM = "ATP_JOBS"
EVENTS_STREAM = "ATP_EVENTS"


def order_events(zone_id: str = "*") -> str:
    """Order events of one grid zone (`*` for every zone in a subscription)."""
    return f"{PREFIX}.orders.{zone_id}"


def intake(kind: str) -> str:
    """Request/reply order submission for partner platforms: `flex-requests` or `flex-offers`."""
    return f"{PREFIX}.intake.{kind}"


def job_queue(engine_kind: str = "*") -> str:
    """Work queue of one engine kind (e.g. `fmct-needs`)."""
    return f"{PREFIX}.jobs.{engine_kind}"


def job_events(job_id: str = "*") -> str:
    """Status events of one job, ending with its result or failure."""
    return f"{PREFIX}.events.jobs.{job_id}"


class SubjectSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    pattern: str
    stream: str | None
    message: str
    description: str
    request_reply: bool = False


REGISTRY: tuple[SubjectSpec, ...] = (
    SubjectSpec(
        name="orderEvents",
        pattern=f"{PREFIX}.orders.{{zone_id}}",
        stream=ORDERS_STREAM,
        message="OrderEvent",
        description="Every stored order and order state change of a zone, published once.",
    ),
    SubjectSpec(
        name="submitFlexRequest",
        pattern=f"{PREFIX}.intake.flex-requests",
        stream=None,
        message="FlexRequestSubmit",
        description="Submit a FlexRequest; reply: the stored FlexRequest or a problem.",
        request_reply=True,
    ),
    SubjectSpec(
        name="submitFlexOffer",
        pattern=f"{PREFIX}.intake.flex-offers",
        stream=None,
        message="FlexOfferSubmit",
        description="Submit a FlexOffer; reply: the stored FlexOffer or a problem.",
        request_reply=True,
    ),
    SubjectSpec(
        name="jobQueue",
        pattern=f"{PREFIX}.jobs.{{engine_kind}}",
        stream=JOBS_STREAM,
        message="JobRequest",
        description="Work queue per engine kind, shared by every worker of that kind.",
    ),
    SubjectSpec(
        name="jobEvents",
        pattern=f"{PREFIX}.events.jobs.{{job_id}}",
        stream=EVENTS_STREAM,
        message="JobEvent",
        description="Status of one job: accepted, running (progress), completed, failed.",
    ),
)
