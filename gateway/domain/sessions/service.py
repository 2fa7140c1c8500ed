"""Market sessions: the FMO opens one per zone and delivery window; gate closure ends intake."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.auth.caller import Caller
from gateway.auth.scopes import SESSIONS_READ, SESSIONS_WRITE
from gateway.db.database import Database
from gateway.db.tables import grid_zone, market_session
from gateway.domain.clock import Clock, new_id
from gateway.errors import Conflict, NotFound, Unprocessable
from gateway.messages.common import DeliveryWindow, Role
from gateway.messages.problems import FieldError
from gateway.messages.sessions import (
    ClearingMethod,
    MarketSession,
    MarketSessionCreate,
    PaymentRule,
    SessionState,
)

# Called in the transaction that closes sessions, with their ids: starts their clearing.
OnClose = Callable[[AsyncConnection, Sequence[str], datetime], Awaitable[object]]


async def _nothing_on_close(_conn: AsyncConnection, _ids: Sequence[str], _now: datetime) -> None:
    return None


_COLS = (
    market_session.c.id,
    market_session.c.zone_id,
    market_session.c.name,
    market_session.c.delivery_start,
    market_session.c.delivery_end,
    market_session.c.resolution_minutes,
    market_session.c.gate_closure_at,
    market_session.c.state,
    market_session.c.created_at,
    market_session.c.closed_at,
    market_session.c.payment_rule,
    market_session.c.clearing_method,
    market_session.c.upstream_price_eur_per_mwh,
    market_session.c.clearing_job_id,
)


def _session(row: Sequence[Any]) -> MarketSession:
    return MarketSession(
        id=row[0],
        zone_id=row[1],
        name=row[2],
        delivery=DeliveryWindow(start=row[3], end=row[4], resolution_minutes=row[5]),
        gate_closure_at=row[6],
        state=SessionState(row[7]),
        created_at=row[8],
        closed_at=row[9],
        payment_rule=PaymentRule(row[10]),
        clearing_method=ClearingMethod(row[11]),
        upstream_price_eur_per_mwh=row[12],
        clearing_job_id=row[13],
    )


class SessionService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        on_close: OnClose = _nothing_on_close,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._on_close = on_close
        # Wakes the outbox relay: closing may have queued a clearing job.
        self._on_commit = on_commit

    async def open(self, caller: Caller, data: MarketSessionCreate) -> MarketSession:
        caller.require(SESSIONS_WRITE)
        now = self._clock()
        if data.gate_closure_at <= now:
            raise Unprocessable(
                "gate closure must be in the future",
                errors=[FieldError(location="$.gate_closure_at", message="in the past")],
            )
        async with self._db.begin() as conn:
            zone = (
                await conn.execute(select(grid_zone.c.id).where(grid_zone.c.id == data.zone_id))
            ).first()
            if zone is None:
                raise Unprocessable(
                    f"grid zone {data.zone_id} does not exist",
                    errors=[FieldError(location="$.zone_id", message="unknown zone")],
                )
            session = MarketSession(
                id=new_id(),
                zone_id=data.zone_id,
                name=data.name,
                delivery=data.delivery,
                gate_closure_at=data.gate_closure_at,
                state=SessionState.OPEN,
                created_at=now,
                payment_rule=data.payment_rule,
                clearing_method=data.clearing_method,
                upstream_price_eur_per_mwh=data.upstream_price_eur_per_mwh,
            )
            await conn.execute(
                insert(market_session).values(
                    id=session.id,
                    zone_id=session.zone_id,
                    name=session.name,
                    delivery_start=data.delivery.start,
                    delivery_end=data.delivery.end,
                    resolution_minutes=data.delivery.resolution_minutes,
                    gate_closure_at=data.gate_closure_at,
                    state=session.state.value,
                    created_at=now,
                    payment_rule=data.payment_rule.value,
                    clearing_method=data.clearing_method.value,
                    upstream_price_eur_per_mwh=data.upstream_price_eur_per_mwh,
                )
            )
        return session

    def _visible(self, caller: Caller) -> Any:
        query = select(*_COLS)
        if caller.role is Role.DSO:
            own = select(grid_zone.c.id).where(grid_zone.c.dso_id == caller.participant_id)
            query = query.where(market_session.c.zone_id.in_(own))
        return query

    async def list_visible(
        self, caller: Caller, zone_id: str | None, state: SessionState | None
    ) -> list[MarketSession]:
        caller.require(SESSIONS_READ)
        query = self._visible(caller).order_by(
            market_session.c.gate_closure_at, market_session.c.id
        )
        if zone_id is not None:
            query = query.where(market_session.c.zone_id == zone_id)
        if state is not None:
            query = query.where(market_session.c.state == state.value)
        async with self._db.connect() as conn:
            return [_session(row) for row in await conn.execute(query)]

    async def get(self, caller: Caller, session_id: str) -> MarketSession:
        caller.require(SESSIONS_READ)
        async with self._db.connect() as conn:
            row = (
                await conn.execute(self._visible(caller).where(market_session.c.id == session_id))
            ).first()
        if row is None:
            raise NotFound(f"market session {session_id} not found")
        return _session(row)

    async def close(self, caller: Caller, session_id: str) -> MarketSession:
        """Close intake now, before the gate closure time if need be."""
        caller.require(SESSIONS_WRITE)
        await self.get(caller, session_id)
        now = self._clock()
        async with self._db.begin() as conn:
            changed = await conn.execute(
                update(market_session)
                .where(
                    market_session.c.id == session_id,
                    market_session.c.state == SessionState.OPEN.value,
                )
                .values(state=SessionState.CLOSED.value, closed_at=now)
            )
            if changed.rowcount == 0:
                raise Conflict(f"market session {session_id} is not open")
            await self._on_close(conn, [session_id], now)
        self._on_commit()
        return await self.get(caller, session_id)

    async def close_due(self) -> int:
        """Close every open session whose gate closure has passed; returns how many."""
        now = self._clock()
        due = (market_session.c.state == SessionState.OPEN.value) & (
            market_session.c.gate_closure_at <= now
        )
        async with self._db.begin() as conn:
            query = select(market_session.c.id).where(due)
            if conn.dialect.name == "postgresql":
                # Another replica's sweep skips these instead of closing them a second time.
                query = query.with_for_update(skip_locked=True)
            ids = [row[0] for row in await conn.execute(query)]
            if not ids:
                return 0
            changed = await conn.execute(
                update(market_session)
                .where(market_session.c.id.in_(ids), due)
                .values(state=SessionState.CLOSED.value, closed_at=now)
            )
            await self._on_close(conn, ids, now)
        self._on_commit()
        return int(changed.rowcount)
