"""Job hooks of the activation flow (run in the transaction that records a job's end):

* `fmct-clear` finished: the session's locally dispatched offer-periods become `reserved_local`
  in the ledger (held by the local market: the DSO activates them near real time, a plain
  forwarding leaves them alone, one that includes locally dispatched offers may offer them to the
  TSO);
* `dso-forward-check` finished: the candidates that passed are `forwarded` (held for the TSO),
  the others keep the check's reason; the forwarder is woken.

Both are idempotent (a redelivered event finds its moves made and changes nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db.tables import flex_order, forwarding, forwarding_candidate, market_session
from gateway.domain.forwarding import ledger, store
from gateway.domain.forwarding.candidates import DISPATCHED_MW
from gateway.messages.activations import ActivationState, ForwardCheckOutput, ForwardingState
from gateway.messages.events import JobCancelled, JobCompleted, JobEvent, JobFailed

log = logging.getLogger("flexgrid.forwarding")
_CHECK = msgspec.json.Decoder(ForwardCheckOutput)
Hook = Callable[[AsyncConnection, str, JobEvent], Awaitable[None]]


async def on_clearing_activations(conn: AsyncConnection, job_id: str, event: JobEvent) -> None:
    if not isinstance(event, JobCompleted):
        return
    session_id = (
        await conn.execute(
            select(market_session.c.id).where(
                market_session.c.clearing_job_id == job_id,
                market_session.c.state == "cleared",
            )
        )
    ).scalar_one_or_none()
    if session_id is None:
        return  # failed (infeasible) or not a session's clearing: nothing was activated
    output = await store.clearing_output(conn, session_id)
    if output is None or output.result.status != "optimal":
        return
    owners = dict(
        (
            await conn.execute(
                select(flex_order.c.id, flex_order.c.submitter_id).where(
                    flex_order.c.session_id == session_id, flex_order.c.kind == "offer"
                )
            )
        ).all()
    )
    for period in output.result.periods:
        for d in period.offers:
            if d.offer_id not in owners or max(d.p_up_mw, d.p_down_mw) <= DISPATCHED_MW:
                continue
            current = await ledger.current_state(conn, d.offer_id, period.period_index)
            if current == ActivationState.RESERVED_LOCAL.value:
                continue  # a redelivered completion
            up = d.p_up_mw >= d.p_down_mw
            mw = d.p_up_mw if up else d.p_down_mw
            try:
                await ledger.apply(
                    conn,
                    ledger.Move(
                        offer_id=d.offer_id,
                        period_index=period.period_index,
                        to=ActivationState.RESERVED_LOCAL,
                        session_id=session_id,
                        submitter_id=owners[d.offer_id],
                        direction="up" if up else "down",
                        p_mw=mw,
                    ),
                    event.at,
                )
            except ledger.ActivationConflict as exc:
                # The clearing's dispatch cannot be taken back here; the ledger keeps the first
                # activation and the conflict is reported for the operator.
                log.warning("local clearing of session %s: %s", session_id, exc)


def check_hook(wake: Callable[[], None]) -> Hook:
    async def on_check_finished(conn: AsyncConnection, job_id: str, event: JobEvent) -> None:
        row = (
            await conn.execute(
                select(forwarding.c.id, forwarding.c.session_id).where(
                    forwarding.c.check_job_id == job_id,
                    forwarding.c.state == ForwardingState.CHECKING.value,
                )
            )
        ).first()
        if row is None:
            return
        fid, session_id = row
        match event:
            case JobCompleted(output=raw):
                try:
                    output = _CHECK.decode(bytes(raw))
                except msgspec.DecodeError as exc:
                    await _fail(conn, fid, f"the check's output does not decode: {exc}", event.at)
                    return
            case JobFailed(problem=problem):
                await _fail(conn, fid, f"the DSO check failed: {problem.detail}", event.at)
                return
            case JobCancelled():
                await _fail(conn, fid, "the DSO check was cancelled", event.at)
                return
            case _:
                return
        if output.status != "optimal":
            await _fail(conn, fid, f"the DSO check failed: {output.message}", event.at)
            return
        await _forward(conn, fid, session_id, output, event.at)
        wake()

    return on_check_finished


async def _fail(conn: AsyncConnection, fid: str, message: str, now: datetime) -> None:
    await conn.execute(
        update(forwarding)
        .where(forwarding.c.id == fid, forwarding.c.state == ForwardingState.CHECKING.value)
        .values(state=ForwardingState.FAILED.value, message=message, updated_at=now)
    )


async def _forward(
    conn: AsyncConnection, fid: str, session_id: str, output: ForwardCheckOutput, now: datetime
) -> None:
    verdicts = {(v.offer_id, v.period_index): v for v in output.verdicts}
    rows = (
        await conn.execute(
            select(
                forwarding_candidate.c.offer_id,
                forwarding_candidate.c.period_index,
                forwarding_candidate.c.direction,
                forwarding_candidate.c.p_mw,
                flex_order.c.submitter_id,
                forwarding_candidate.c.local_mw,
            )
            .join(flex_order, flex_order.c.id == forwarding_candidate.c.offer_id)
            .where(forwarding_candidate.c.forwarding_id == fid)
        )
    ).all()
    passed = 0
    for offer_id, t, direction, p_mw, owner, local_mw in rows:
        verdict = verdicts.get((offer_id, t))
        allowed = verdict is not None and verdict.allowed
        reason = "" if verdict is None or allowed else verdict.reason
        if verdict is None:
            reason = "the check gave no verdict"
        if verdict is None and local_mw >= p_mw - DISPATCHED_MW:
            # Its TSO activation only replaces its local dispatch at the same node (the grid
            # does not change), so it was not sent to the check.
            allowed, reason = True, ""
        if allowed:
            try:
                await ledger.apply(
                    conn,
                    ledger.Move(
                        offer_id=offer_id,
                        period_index=t,
                        to=ActivationState.FORWARDED,
                        session_id=session_id,
                        submitter_id=owner,
                        direction=direction,
                        p_mw=p_mw,
                        forwarding_id=fid,
                        from_local_reservation=local_mw > 0.0,
                    ),
                    now,
                )
                passed += 1
            except ledger.ActivationConflict as exc:
                allowed, reason = False, f"not forwarded: {exc.current} meanwhile"
        await conn.execute(
            update(forwarding_candidate)
            .where(
                forwarding_candidate.c.forwarding_id == fid,
                forwarding_candidate.c.offer_id == offer_id,
                forwarding_candidate.c.period_index == t,
            )
            .values(dso_check="passed" if allowed else "refused", reason=reason)
        )
    await conn.execute(
        update(forwarding)
        .where(forwarding.c.id == fid, forwarding.c.state == ForwardingState.CHECKING.value)
        .values(
            state=(ForwardingState.CHECKED if passed else ForwardingState.SETTLED).value,
            message="" if passed else "the DSO check passed no offer",
            checks_json=msgspec.json.encode(output.checks).decode(),
            updated_at=now,
        )
    )
