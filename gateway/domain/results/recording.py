"""Recording a session's clearing outcome: results row, session state, order outcomes with their
audit rows, and the session event, all in the caller's transaction.

Exactly once: the session moves from `closed` only once (a guarded update), and `market_result`
has the session as its primary key, so a redelivered job completion stores nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engines.fmct.clearing_job import ClearingJobOutput
from gateway.db.tables import flex_order, market_result, market_session, order_audit, order_outcome
from gateway.db.tables import outbox as outbox_table
from gateway.messages import subjects
from gateway.messages.events import SessionCleared, SessionEvent, SessionFailed
from gateway.messages.orders import OrderStatus
from gateway.messages.results import OrderOutcome
from gateway.messages.sessions import SessionState

log = logging.getLogger("flexgrid.clearing")
ACTOR = "market-clearing"
ACCEPTED_MW = 1e-6  # below this an order's dispatch is solver noise: rejected
_OUTPUT = msgspec.json.Decoder(ClearingJobOutput)


@dataclass(frozen=True)
class Outcome:
    """What a clearing ended with; `output` is the engine's JSON when there is one."""

    status: str
    condition: str
    message: str
    output: bytes | None = None


def results_url(session_id: str) -> str:
    return f"/v1/market-sessions/{session_id}/results"


def decode_output(raw: bytes) -> ClearingJobOutput:
    return _OUTPUT.decode(raw)


def accepted_orders(output: ClearingJobOutput) -> set[str]:
    accepted: set[str] = set()
    for period in output.result.periods:
        for o in period.offers:
            if max(o.p_up_mw, o.p_down_mw, o.q_up_mvar, o.q_down_mvar) > ACCEPTED_MW:
                accepted.add(o.offer_id)
        for r in period.requests:
            if max(r.p_mw, r.q_mvar) > ACCEPTED_MW:
                accepted.add(r.request_id)
    return accepted


def outcome_of_output(raw: bytes) -> tuple[Outcome, set[str]]:
    """The engine's output -> outcome and accepted order ids; an output that does not decode is
    a broken contract, recorded as a failed clearing rather than retried forever."""
    try:
        output = decode_output(raw)
    except msgspec.DecodeError as exc:
        log.error("undecodable fmct-clear output: %s", exc)
        return Outcome("error", "bad_output", f"the engine's output does not decode: {exc}"), set()
    result = output.result
    reason = result.message or result.condition
    return Outcome(result.status, result.condition, reason, raw), accepted_orders(output)


async def record(
    conn: AsyncConnection,
    session_id: str,
    job_id: str | None,
    outcome: Outcome,
    accepted: Collection[str],
    now: datetime,
) -> bool:
    """Store the outcome of a `closed` session; False (nothing written) if it is not closed."""
    cleared = outcome.status == "optimal"
    state = SessionState.CLEARED if cleared else SessionState.FAILED
    changed = await conn.execute(
        update(market_session)
        .where(
            market_session.c.id == session_id,
            market_session.c.state == SessionState.CLOSED.value,
        )
        .values(state=state.value)
    )
    if changed.rowcount == 0:
        return False
    zone_id = (
        await conn.execute(
            select(market_session.c.zone_id).where(market_session.c.id == session_id)
        )
    ).scalar_one()
    await conn.execute(
        insert(market_result).values(
            session_id=session_id,
            job_id=job_id,
            status=outcome.status,
            condition=outcome.condition[:200],
            message=outcome.message,
            output=outcome.output.decode() if outcome.output is not None else None,
            created_at=now,
        )
    )
    orders = (
        await conn.execute(
            select(flex_order.c.id, flex_order.c.kind).where(
                flex_order.c.session_id == session_id,
                flex_order.c.status == OrderStatus.ACTIVE.value,
            )
        )
    ).all()
    decided = {
        order_id: OrderOutcome.ACCEPTED
        if cleared and order_id in accepted
        else OrderOutcome.REJECTED
        for order_id, _ in orders
    }
    if decided:
        await conn.execute(
            insert(order_outcome),
            [
                {"order_id": o, "session_id": session_id, "outcome": v.value, "decided_at": now}
                for o, v in decided.items()
            ],
        )
        await conn.execute(
            insert(order_audit),
            [
                {
                    "order_id": o,
                    "at": now,
                    "actor_id": ACTOR,
                    "action": "cleared",
                    "from_status": OrderStatus.ACTIVE.value,
                    "to_status": v.value,
                }
                for o, v in decided.items()
            ],
        )
    offers = {order_id for order_id, kind in orders if kind == "offer"}
    event: SessionEvent
    if cleared:
        output = decode_output(outcome.output) if outcome.output is not None else None
        event = SessionCleared(
            session_id=session_id,
            zone_id=zone_id,
            at=now,
            job_id=job_id,
            status=outcome.status,
            objective_eur=output.result.objective_eur if output is not None else None,
            accepted_offers=sum(decided[o] is OrderOutcome.ACCEPTED for o in offers),
            rejected_offers=sum(decided[o] is OrderOutcome.REJECTED for o in offers),
            results_url=results_url(session_id),
        )
    else:
        event = SessionFailed(
            session_id=session_id,
            zone_id=zone_id,
            at=now,
            job_id=job_id,
            status=outcome.status,
            condition=outcome.condition,
            reason=outcome.message or outcome.condition or outcome.status,
            results_url=results_url(session_id),
        )
    await conn.execute(
        insert(outbox_table).values(
            id=f"session.{session_id}.{state.value}",
            subject=subjects.session_events(session_id),
            payload=msgspec.json.encode(event).decode(),
            created_at=now,
        )
    )
    return True
