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
DEAD_LETTERS_STREAM = "ATP_DEAD_LETTERS"


def order_events(zone_id: str = "*") -> str:
    """Order events of one grid zone (`*` for every zone in a subscription)."""
    return f"{PREFIX}.orders.{zone_id}"


def intake(kind: str) -> str:
    """Request/reply order submission for partner platforms: `flex-requests` or `flex-offers`."""
    return f"{PREFIX}.intake.{kind}"


def job_queue(engine_kind: str = "*") -> str:
    """Work queue of one engine kind (e.g. `fmct-needs`)."""
    return f"{PREFIX}.jobs.{engine_kind}"


def dead_letters(engine_kind: str = "*") -> str:
    """Jobs of one engine kind that exhausted their attempts (a copy of each JobRequest)."""
    return f"{PREFIX}.deadletter.jobs.{engine_kind}"


def job_events(job_id: str = "*") -> str:
    """Status events of one job, ending with its result or failure."""
    return f"{PREFIX}.events.jobs.{job_id}"


# Market adapters (request/reply, served by `adapters.service`).
DAY_AHEAD_CLEAR = f"{PREFIX}.markets.day-ahead.clear"
BALANCING_ACTIVATE = f"{PREFIX}.markets.balancing.activate"


def session_events(session_id: str = "*") -> str:
    """Outcome of one market session's clearing (cleared or failed)."""
    return f"{PREFIX}.events.sessions.{session_id}"


def activation_events(session_id: str = "*") -> str:
    """Activations of one market session's offers and their state changes (the ledger's moves)."""
    return f"{PREFIX}.events.activations.{session_id}"


class SubjectSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    pattern: str
    stream: str | None
    message: str
    description: str
    request_reply: bool = False
    reply: str | None = None  # reply family of a request/reply subject; None: `<Reply>Submit`
    request_headers: str | None = "IntakeHeaders"  # header schema of the request, if any


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
        name="submitFlexRequestBatch",
        pattern=f"{PREFIX}.intake.flex-requests.batch",
        stream=None,
        message="FlexRequestBatchSubmit",
        description="Submit up to 500 FlexRequests in one message; reply: a result per item "
        "(the stored FlexRequest or a problem), or a problem for the whole message.",
        request_reply=True,
    ),
    SubjectSpec(
        name="submitFlexOfferBatch",
        pattern=f"{PREFIX}.intake.flex-offers.batch",
        stream=None,
        message="FlexOfferBatchSubmit",
        description="Submit up to 500 FlexOffers in one message; reply: a result per item "
        "(the stored FlexOffer or a problem), or a problem for the whole message.",
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
        name="deadLetters",
        pattern=f"{PREFIX}.deadletter.jobs.{{engine_kind}}",
        stream=DEAD_LETTERS_STREAM,
        message="JobRequest",
        description="A job that exhausted its attempts, kept 30 days for inspection and a manual "
        "replay (re-publish on the job queue under a new job id); its JobFailed(dead_lettered) "
        "is on the job's event subject.",
    ),
    SubjectSpec(
        name="jobEvents",
        pattern=f"{PREFIX}.events.jobs.{{job_id}}",
        stream=EVENTS_STREAM,
        message="JobEvent",
        description="Status of one job: accepted, running (progress), completed, failed.",
    ),
    SubjectSpec(
        name="sessionEvents",
        pattern=f"{PREFIX}.events.sessions.{{session_id}}",
        stream=EVENTS_STREAM,
        message="SessionEvent",
        description="Outcome of a market session's clearing: cleared (results stored) or failed.",
    ),
    SubjectSpec(
        name="activationEvents",
        pattern=f"{PREFIX}.events.activations.{{session_id}}",
        stream=EVENTS_STREAM,
        message="ActivationEvent",
        description="Every move of a session's offers in the activation ledger, published once: "
        "local and TSO activations (with the TSO's price and the owner's payment), local "
        "reservations (the local clearing's dispatch among them), forwarding to the TSO and "
        "releases.",
    ),
    SubjectSpec(
        name="clearDayAhead",
        pattern=DAY_AHEAD_CLEAR,
        stream=None,
        message="DayAheadAuction",
        description="Clear a wholesale day-ahead auction (emulated market adapter); reply: the "
        "result with dispatch and coupling-point prices, or a problem.",
        request_reply=True,
        reply="DayAheadResult",
        request_headers=None,
    ),
    SubjectSpec(
        name="activateBalancing",
        pattern=BALANCING_ACTIVATE,
        stream=None,
        message="BalancingAuction",
        description="Activate balancing energy bids against imbalance needs (emulated TSO "
        "balancing market); reply: the activations, or a problem.",
        request_reply=True,
        reply="BalancingResult",
        request_headers=None,
    ),
)
