"""Order book: submission with idempotency, reads with object-level visibility, withdrawal."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

import msgspec
from sqlalchemy import insert, select, update

from gateway.auth.caller import Caller
from gateway.auth.scopes import OFFERS_READ, OFFERS_WRITE, REQUESTS_READ, REQUESTS_WRITE
from gateway.db.database import Database
from gateway.db.tables import (
    flex_asset,
    flex_order,
    grid_zone,
    market_session,
    order_audit,
    outbox,
)
from gateway.domain.clock import Clock, new_id
from gateway.domain.orders.intake import IdempotencyRace, OrderIntake, PendingOrder
from gateway.domain.paging import decode_int_cursor, encode_cursor
from gateway.errors import Conflict, Forbidden, NotFound, Unprocessable
from gateway.messages import subjects
from gateway.messages.common import DeliveryWindow, Role
from gateway.messages.events import FlexOfferStored, FlexRequestStored, OrderStatusChanged
from gateway.messages.orders import (
    FlexOffer,
    FlexOfferSubmit,
    FlexRequest,
    FlexRequestSubmit,
    OrderStatus,
)
from gateway.messages.participants import Prequalification
from gateway.messages.problems import FieldError
from gateway.messages.sessions import SessionState

Kind = Literal["request", "offer"]
Order = FlexRequest | FlexOffer
OrderT = TypeVar("OrderT", FlexRequest, FlexOffer)
_SCOPES: dict[Kind, tuple[str, str]] = {
    "request": (REQUESTS_READ, REQUESTS_WRITE),
    "offer": (OFFERS_READ, OFFERS_WRITE),
}


class SessionInfo(msgspec.Struct, frozen=True):
    """The parts of a session that never change once it is opened (safe to cache)."""

    zone_id: str
    dso_id: str
    window: DeliveryWindow
    gate_closure_at: datetime


def request_digest(kind: Kind, body: msgspec.Struct) -> str:
    """Hash of the decoded body: whitespace or key order do not make another request."""
    return hashlib.sha256(kind.encode() + msgspec.json.encode(body)).hexdigest()


class OrderService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        intake: OrderIntake,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._on_commit = on_commit
        self._clock = clock
        self._intake = intake
        self._sessions: dict[str, SessionInfo] = {}
        self._in_flight: set[tuple[str, str]] = set()

    # --- submission -------------------------------------------------------------------------

    async def submit_request(
        self, caller: Caller, data: FlexRequestSubmit, idempotency_key: str | None
    ) -> tuple[FlexRequest, bool]:
        caller.require(REQUESTS_WRITE)
        session = await self._session_for_order(caller, data.session_id, buyer=True)
        _within(session.window, data.delivery, "$.delivery")

        def build(order_id: str, now: datetime) -> FlexRequest:
            return FlexRequest(
                id=order_id,
                session_id=data.session_id,
                zone_id=session.zone_id,
                submitter_id=caller.participant_id,
                submitted_at=now,
                status=OrderStatus.ACTIVE,
                node_mrid=data.node_mrid,
                direction=data.direction,
                p_mw=data.p_mw,
                q_mvar=data.q_mvar,
                price_p_eur_per_mwh=data.price_p_eur_per_mwh,
                price_q_eur_per_mvarh=data.price_q_eur_per_mvarh,
                delivery=data.delivery,
            )

        return await self._submit(caller, "request", FlexRequest, data, idempotency_key, build)

    async def submit_offer(
        self, caller: Caller, data: FlexOfferSubmit, idempotency_key: str | None
    ) -> tuple[FlexOffer, bool]:
        caller.require(OFFERS_WRITE)
        session = await self._session_for_order(caller, data.session_id, buyer=False)
        for index, window in enumerate(data.delivery_windows):
            _within(session.window, window, f"$.delivery_windows[{index}]")
        if data.valid_until <= self._clock():
            raise Unprocessable(
                "the offer expired before submission",
                errors=[FieldError(location="$.valid_until", message="in the past")],
            )
        node_mrid = data.node_mrid or await self._asset_node(caller, data, session)

        def build(order_id: str, now: datetime) -> FlexOffer:
            return FlexOffer(
                id=order_id,
                session_id=data.session_id,
                zone_id=session.zone_id,
                submitter_id=caller.participant_id,
                submitted_at=now,
                status=OrderStatus.ACTIVE,
                node_mrid=node_mrid,
                asset_id=data.asset_id,
                p_up_mw=data.p_up_mw,
                p_down_mw=data.p_down_mw,
                q_up_mvar=data.q_up_mvar,
                q_down_mvar=data.q_down_mvar,
                price_p_up_eur_per_mwh=data.price_p_up_eur_per_mwh,
                price_p_down_eur_per_mwh=data.price_p_down_eur_per_mwh,
                price_q_eur_per_mvarh=data.price_q_eur_per_mvarh,
                block=data.block,
                min_activation_mw=data.min_activation_mw,
                delivery_windows=data.delivery_windows,
                valid_until=data.valid_until,
            )

        return await self._submit(caller, "offer", FlexOffer, data, idempotency_key, build)

    async def _submit(
        self,
        caller: Caller,
        kind: Kind,
        order_type: type[OrderT],
        data: msgspec.Struct,
        idempotency_key: str | None,
        build: Callable[[str, datetime], OrderT],
    ) -> tuple[OrderT, bool]:
        digest = request_digest(kind, data) if idempotency_key else None
        claim = (caller.participant_id, idempotency_key) if idempotency_key else None
        if claim is not None:
            stored = await self._replay(caller, kind, order_type, claim[1], digest)
            if stored is not None:
                return stored, True
            if claim in self._in_flight:
                raise Conflict("a request with this Idempotency-Key is still being processed")
            self._in_flight.add(claim)
        try:
            now = self._clock()
            order = build(new_id(), now)
            pending = PendingOrder(
                row={
                    "id": order.id,
                    "kind": kind,
                    "session_id": order.session_id,
                    "zone_id": order.zone_id,
                    "submitter_id": order.submitter_id,
                    "node_mrid": order.node_mrid,
                    "asset_id": getattr(order, "asset_id", None),
                    "status": OrderStatus.ACTIVE.value,
                    "submitted_at": now,
                    "updated_at": now,
                    "idempotency_key": idempotency_key,
                    "request_sha256": digest,
                    "body": msgspec.json.encode(order).decode(),
                },
                audit={
                    "order_id": order.id,
                    "at": now,
                    "actor_id": caller.participant_id,
                    "action": "submitted",
                    "from_status": None,
                    "to_status": OrderStatus.ACTIVE.value,
                },
                outbox={
                    "id": f"order.{order.id}.stored",
                    "subject": subjects.order_events(order.zone_id),
                    "payload": msgspec.json.encode(_stored_event(order)).decode(),
                    "created_at": now,
                },
            )
            try:
                await self._intake.submit(pending)
            except IdempotencyRace:
                if claim is None:
                    raise Conflict("the order conflicts with a stored one") from None
                stored = await self._replay(caller, kind, order_type, claim[1], digest)
                if stored is None:
                    raise Conflict("the order conflicts with a stored one") from None
                return stored, True
            return order, False
        finally:
            if claim is not None:
                self._in_flight.discard(claim)

    async def _replay(
        self, caller: Caller, kind: Kind, order_type: type[OrderT], key: str, digest: str | None
    ) -> OrderT | None:
        query = select(
            flex_order.c.kind, flex_order.c.request_sha256, flex_order.c.body, flex_order.c.status
        ).where(
            flex_order.c.submitter_id == caller.participant_id,
            flex_order.c.idempotency_key == key,
        )
        async with self._db.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        if row[0] != kind or row[1] != digest:
            raise Unprocessable(
                "this Idempotency-Key was used with another request body",
                errors=[FieldError(location="header:Idempotency-Key", message="reused key")],
            )
        return _decode(order_type, row[2], row[3])

    async def _session_for_order(
        self, caller: Caller, session_id: str, *, buyer: bool
    ) -> SessionInfo:
        info = self._sessions.get(session_id) or await self._load_session(session_id)
        # A DSO buys flexibility in its own zones only; a session elsewhere does not exist for it.
        if info is None or (
            buyer and caller.role is Role.DSO and info.dso_id != caller.participant_id
        ):
            raise NotFound(f"market session {session_id} not found")
        if self._clock() >= info.gate_closure_at:
            raise Conflict(f"market session {session_id} is past its gate closure")
        return info

    async def _load_session(self, session_id: str) -> SessionInfo | None:
        query = (
            select(
                market_session.c.zone_id,
                grid_zone.c.dso_id,
                market_session.c.delivery_start,
                market_session.c.delivery_end,
                market_session.c.resolution_minutes,
                market_session.c.gate_closure_at,
            )
            .join(grid_zone, grid_zone.c.id == market_session.c.zone_id)
            .where(market_session.c.id == session_id)
        )
        async with self._db.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        if len(self._sessions) > 10_000:
            self._sessions.clear()
        info = SessionInfo(
            zone_id=row[0],
            dso_id=row[1],
            window=DeliveryWindow(start=row[2], end=row[3], resolution_minutes=row[4]),
            gate_closure_at=row[5],
        )
        self._sessions[session_id] = info
        return info

    async def _asset_node(self, caller: Caller, data: FlexOfferSubmit, session: SessionInfo) -> str:
        query = select(
            flex_asset.c.owner_id,
            flex_asset.c.zone_id,
            flex_asset.c.node_mrid,
            flex_asset.c.prequalification,
            flex_asset.c.p_max_mw,
            flex_asset.c.q_max_mvar,
        ).where(flex_asset.c.id == data.asset_id)
        async with self._db.connect() as conn:
            row = (await conn.execute(query)).first()

        def refuse(message: str) -> Unprocessable:
            return Unprocessable(
                f"asset {data.asset_id}: {message}",
                errors=[FieldError(location="$.asset_id", message=message)],
            )

        if row is None or row[0] != caller.participant_id:
            raise refuse("no such asset of yours")
        if row[3] != Prequalification.CONFIRMED.value:
            raise refuse(f"not prequalified (status {row[3]})")
        if row[1] != session.zone_id:
            raise refuse("the asset is in another grid zone than the session")
        if (
            max(data.p_up_mw, data.p_down_mw) > row[4]
            or max(data.q_up_mvar, data.q_down_mvar) > row[5]
        ):
            raise refuse("the offered volume exceeds the asset's capability")
        return str(row[2])

    # --- reads -------------------------------------------------------------------------------

    def _visible(self, caller: Caller, kind: Kind) -> Any:
        caller.require(_SCOPES[kind][0])
        query = select(
            flex_order.c.seq, flex_order.c.body, flex_order.c.status, flex_order.c.submitter_id
        ).where(flex_order.c.kind == kind)
        if caller.role is Role.DSO:
            own = select(grid_zone.c.id).where(grid_zone.c.dso_id == caller.participant_id)
            query = query.where(flex_order.c.zone_id.in_(own))
        elif not caller.is_fmo:
            query = query.where(flex_order.c.submitter_id == caller.participant_id)
        return query

    async def get(self, caller: Caller, kind: Kind, order_id: str) -> Order:
        query = self._visible(caller, kind).where(flex_order.c.id == order_id)
        async with self._db.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"flex {kind} {order_id} not found")
        return _decode_kind(kind, row[1], row[2])

    async def list_visible(
        self,
        caller: Caller,
        kind: Kind,
        *,
        session_id: str | None,
        status: OrderStatus | None,
        node_mrid: str | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Order], str | None]:
        query = self._visible(caller, kind).order_by(flex_order.c.seq).limit(limit + 1)
        after = decode_int_cursor(cursor)
        if after is not None:
            query = query.where(flex_order.c.seq > after)
        if session_id is not None:
            query = query.where(flex_order.c.session_id == session_id)
        if status is not None:
            query = query.where(flex_order.c.status == status.value)
        if node_mrid is not None:
            query = query.where(flex_order.c.node_mrid == node_mrid)
        async with self._db.connect() as conn:
            rows = (await conn.execute(query)).all()
        items: list[Order] = [_decode_kind(kind, row[1], row[2]) for row in rows[:limit]]
        next_cursor = encode_cursor(str(rows[limit - 1][0])) if len(rows) > limit else None
        return items, next_cursor

    # --- withdrawal --------------------------------------------------------------------------

    async def withdraw(self, caller: Caller, kind: Kind, order_id: str) -> Order:
        """The submitter withdraws an active order of an open session before gate closure."""
        current = await self.get(caller, kind, order_id)
        if current.submitter_id != caller.participant_id:
            raise Forbidden(f"only the submitter withdraws flex {kind} {order_id}")
        now = self._clock()
        async with self._db.begin() as conn:
            query = select(market_session.c.state, market_session.c.gate_closure_at).where(
                market_session.c.id == current.session_id
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(read=True)
            state, gate_closure = (await conn.execute(query)).one()
            if state != SessionState.OPEN.value or now >= gate_closure:
                raise Conflict(f"market session {current.session_id} is past its gate closure")
            changed = await conn.execute(
                update(flex_order)
                .where(flex_order.c.id == order_id, flex_order.c.status == OrderStatus.ACTIVE.value)
                .values(status=OrderStatus.WITHDRAWN.value, updated_at=now)
            )
            if changed.rowcount == 0:
                raise Conflict(f"flex {kind} {order_id} is not active")
            await conn.execute(
                insert(order_audit).values(
                    order_id=order_id,
                    at=now,
                    actor_id=caller.participant_id,
                    action="withdrawn",
                    from_status=OrderStatus.ACTIVE.value,
                    to_status=OrderStatus.WITHDRAWN.value,
                )
            )
            event = OrderStatusChanged(
                order_id=order_id,
                kind=kind,
                session_id=current.session_id,
                at=now,
                from_status=OrderStatus.ACTIVE,
                to_status=OrderStatus.WITHDRAWN,
            )
            await conn.execute(
                insert(outbox).values(
                    id=f"order.{order_id}.withdrawn",
                    subject=subjects.order_events(current.zone_id),
                    payload=msgspec.json.encode(event).decode(),
                    created_at=now,
                )
            )
        if self._on_commit is not None:
            self._on_commit()
        return msgspec.structs.replace(current, status=OrderStatus.WITHDRAWN)


def _stored_event(order: Order) -> FlexRequestStored | FlexOfferStored:
    if isinstance(order, FlexRequest):
        return FlexRequestStored(order=order)
    return FlexOfferStored(order=order)


def _decode(order_type: type[OrderT], body: str, status: str) -> OrderT:
    order = msgspec.json.decode(body, type=order_type)
    return msgspec.structs.replace(order, status=OrderStatus(status))


def _decode_kind(kind: Kind, body: str, status: str) -> Order:
    if kind == "request":
        return _decode(FlexRequest, body, status)
    return _decode(FlexOffer, body, status)


def _within(session: DeliveryWindow, window: DeliveryWindow, location: str) -> None:
    if window.resolution_minutes != session.resolution_minutes:
        raise Unprocessable(
            f"the session trades {session.resolution_minutes}-minute periods",
            errors=[FieldError(location=f"{location}.resolution_minutes", message="mismatch")],
        )
    if not session.contains(window):
        raise Unprocessable(
            f"delivery must lie within the session's window {session.start.isoformat()} to "
            f"{session.end.isoformat()}",
            errors=[FieldError(location=location, message="outside the session's window")],
        )
    offset = window.start - session.start
    if offset % timedelta(minutes=session.resolution_minutes):
        raise Unprocessable(
            "delivery must start on a period boundary of the session",
            errors=[FieldError(location=f"{location}.start", message="not on a period boundary")],
        )
