"""Reading a session's market results, cut to what the caller may see."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.auth.caller import Caller
from gateway.auth.scopes import SESSIONS_READ
from gateway.db.database import Database
from gateway.db.tables import flex_order, market_result, offer_activation, order_outcome
from gateway.domain.results.moved import OfferPeriodKey, OfferPrices, TsoTake
from gateway.domain.results.recording import decode_output
from gateway.domain.results.starting import NO_NETWORK, zone_network
from gateway.domain.results.views import OrderInfo, StoredResult, market_results
from gateway.domain.sessions.service import SessionService
from gateway.errors import Conflict
from gateway.messages.activations import ActivationState
from gateway.messages.common import Role
from gateway.messages.orders import FlexOffer
from gateway.messages.results import MarketResults, OrderOutcome
from gateway.messages.sessions import SessionState

_OFFER = msgspec.json.Decoder(FlexOffer)


async def taken_by_tso(
    conn: AsyncConnection, session_id: str
) -> tuple[dict[OfferPeriodKey, TsoTake], dict[str, OfferPrices]]:
    """The session's offer-periods the TSO activated, and the prices of their offers."""
    rows = (
        await conn.execute(
            select(
                offer_activation.c.offer_id,
                offer_activation.c.period_index,
                offer_activation.c.forwarding_id,
                offer_activation.c.activated_mw,
                offer_activation.c.price_eur_per_mwh,
                offer_activation.c.amount_eur,
            ).where(
                offer_activation.c.session_id == session_id,
                offer_activation.c.state == ActivationState.ACTIVATED_TSO.value,
            )
        )
    ).all()
    taken = {(r[0], r[1]): TsoTake(r[2], r[3], r[4], r[5] or 0.0) for r in rows}
    if not taken:
        return taken, {}
    bodies = (
        await conn.execute(
            select(flex_order.c.body).where(flex_order.c.id.in_({r[0] for r in rows}))
        )
    ).scalars()
    prices = {}
    for body in bodies:
        o = _OFFER.decode(body)
        prices[o.id] = OfferPrices(
            seller_id=o.submitter_id,
            node_mrid=o.node_mrid,
            price_p_up_eur_per_mwh=o.price_p_up_eur_per_mwh,
            price_p_down_eur_per_mwh=o.price_p_down_eur_per_mwh,
            price_q_eur_per_mvarh=o.price_q_eur_per_mvarh,
        )
    return taken, prices


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
            taken, prices = await taken_by_tso(conn, session_id)
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
        return market_results(
            stored,
            infos,
            None if full else caller.participant_id,
            taken=taken,
            offer_prices=prices,
        )
