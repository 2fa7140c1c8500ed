"""Reading a session's market results, cut to what the caller may see."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from gateway.auth.caller import Caller
from gateway.auth.scopes import SESSIONS_READ
from gateway.db.database import Database
from gateway.db.tables import flex_order, market_result, order_outcome
from gateway.domain.results.recording import decode_output
from gateway.domain.results.starting import NO_NETWORK, zone_network
from gateway.domain.results.views import OrderInfo, StoredResult, market_results
from gateway.domain.sessions.service import SessionService
from gateway.errors import Conflict
from gateway.messages.common import Role
from gateway.messages.results import MarketResults, OrderOutcome
from gateway.messages.sessions import SessionState


class ResultService:
    def __init__(self, db: Database, sessions: SessionService) -> None:
        self._db = db
        self._sessions = sessions

    async def get(self, caller: Caller, session_id: str) -> MarketResults:
        caller.require(SESSIONS_READ)
        # 404 for a session the caller may not see (a DSO sees its own zones' sessions only).
        session = await self._sessions.get(caller, session_id)
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        market_result.c.job_id,
                        market_result.c.status,
                        market_result.c.condition,
                        market_result.c.message,
                        market_result.c.output,
                        market_result.c.created_at,
                    ).where(market_result.c.session_id == session_id)
                )
            ).first()
            if row is None:
                why = "results come when it is cleared"
                if session.state is SessionState.CLOSED and session.clearing_job_id is None:
                    if await zone_network(conn, session.zone_id) is None:
                        why = NO_NETWORK
                elif session.clearing_job_id is not None:
                    why = f"clearing job {session.clearing_job_id} is running"
                raise Conflict(f"market session {session_id} is {session.state.value}: {why}")
            orders = (
                await conn.execute(
                    select(
                        flex_order.c.id,
                        flex_order.c.kind,
                        flex_order.c.submitter_id,
                        flex_order.c.node_mrid,
                        order_outcome.c.outcome,
                    )
                    .join(order_outcome, order_outcome.c.order_id == flex_order.c.id)
                    .where(flex_order.c.session_id == session_id)
                    .order_by(flex_order.c.seq)
                )
            ).all()
        stored = StoredResult(
            session_id=session_id,
            zone_id=session.zone_id,
            state=session.state,
            payment_rule=session.payment_rule,
            delivery_start=session.delivery.start,
            resolution=timedelta(minutes=session.delivery.resolution_minutes),
            job_id=row[0],
            status=row[1],
            condition=row[2],
            message=row[3],
            decided_at=row[5],
            output=decode_output(row[4].encode()) if row[4] is not None else None,
        )
        infos = [OrderInfo(r[0], r[1], r[2], r[3], OrderOutcome(r[4])) for r in orders]
        # Past `get` above, a DSO is the zone's own DSO.
        full = caller.is_fmo or caller.role is Role.DSO
        return market_results(stored, infos, None if full else caller.participant_id)
