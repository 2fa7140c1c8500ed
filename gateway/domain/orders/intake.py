"""Group commit for order intake: one writer task commits all waiting orders in one transaction.

Each request is answered only after the transaction holding its order commits, so durability
is that of one order per transaction, at a fraction of the round trips. The gate-closure
state, the node and the insert are checked and done inside that transaction, so an order can
never land in a session that closed before the commit. One bad row would fail its whole
batch, so a failed batch is retried row by row and only the bad order gets the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db.database import Database
from gateway.db.tables import flex_order, grid_node, market_session, order_audit, outbox
from gateway.domain.clock import Clock
from gateway.errors import Conflict, GatewayError, NotFound, ServiceUnavailable, Unprocessable
from gateway.messages.problems import FieldError
from gateway.messages.sessions import SessionState

log = logging.getLogger("flexgrid.intake")


class IdempotencyRace(Exception):
    """Another request (on another replica) stored an order with the same idempotency key."""


@dataclass(slots=True)
class PendingOrder:
    row: dict[str, Any]
    audit: dict[str, Any]
    outbox: dict[str, Any]
    future: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class OrderIntake:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        batch_max: int,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._on_commit = on_commit
        self._clock = clock
        self._batch_max = batch_max
        self._queue: asyncio.Queue[PendingOrder] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="order-intake")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._queue.empty():
            self._queue.get_nowait().fail(ServiceUnavailable("the gateway is shutting down"))

    async def submit(self, order: PendingOrder) -> None:
        if self._task is None or self._task.done():
            raise ServiceUnavailable("order intake is not running")
        await self._queue.put(order)
        await order.future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            except Exception as exc:  # keep the writer alive whatever one batch does
                log.exception("order batch failed")
                for order in batch:
                    order.fail(exc)

    async def _commit(self, batch: list[PendingOrder]) -> None:
        try:
            async with self._db.begin() as conn:
                if conn.dialect.name == "postgresql":
                    accepted = await self._check_pg(conn, batch)
                    if accepted:
                        await conn.exec_driver_sql(_PG_INSERT, _pg_columns(accepted))
                else:
                    accepted = await self._check(conn, batch)
                    if accepted:
                        await conn.execute(insert(flex_order), [o.row for o in accepted])
                        await conn.execute(insert(order_audit), [o.audit for o in accepted])
                        await conn.execute(insert(outbox), [o.outbox for o in accepted])
        except IntegrityError:
            if len(batch) == 1:
                batch[0].fail(IdempotencyRace())
                return
            for order in batch:
                if not order.future.done():
                    await self._commit([order])
            return
        except DBAPIError as exc:
            log.warning("database error in order intake: %s", exc)
            for order in batch:
                order.fail(ServiceUnavailable("the database is unavailable; retry the order"))
            return
        for order in accepted:
            order.future.set_result(None)
        if accepted and self._on_commit is not None:
            self._on_commit()

    async def _check_pg(
        self, conn: AsyncConnection, batch: list[PendingOrder]
    ) -> list[PendingOrder]:
        """`_check` as two prepared statements (no SQL compiled per batch)."""
        session_ids = list({o.row["session_id"] for o in batch})
        rows: list[Any] = list(await conn.exec_driver_sql(_PG_SESSIONS, (session_ids,)))
        sessions = {row[0]: (row[1], row[2]) for row in rows}
        pairs = list({(o.row["zone_id"], o.row["node_mrid"]) for o in batch})
        rows = list(
            await conn.exec_driver_sql(_PG_NODES, ([p[0] for p in pairs], [p[1] for p in pairs]))
        )
        known_nodes = {(row[0], row[1]) for row in rows}
        return self._refuse(batch, sessions, known_nodes)

    def _refuse(
        self,
        batch: list[PendingOrder],
        sessions: dict[str, tuple[str, Any]],
        known_nodes: set[tuple[str, str]],
    ) -> list[PendingOrder]:
        now = self._clock()
        accepted = []
        for order in batch:
            error = _refusal(order, sessions, known_nodes, now)
            if error is None:
                accepted.append(order)
            else:
                order.fail(error)
        return accepted

    async def _check(self, conn: AsyncConnection, batch: list[PendingOrder]) -> list[PendingOrder]:
        """Refuse orders whose session is not open any more or whose node is unknown."""
        session_ids = {o.row["session_id"] for o in batch}
        query = select(
            market_session.c.id, market_session.c.state, market_session.c.gate_closure_at
        ).where(market_session.c.id.in_(session_ids))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(read=True)  # a concurrent close waits for this batch
        sessions = {row[0]: (row[1], row[2]) for row in await conn.execute(query)}
        pairs = {(o.row["zone_id"], o.row["node_mrid"]) for o in batch}
        known_nodes = {
            (row[0], row[1])
            for row in await conn.execute(
                select(grid_node.c.zone_id, grid_node.c.mrid).where(
                    tuple_(grid_node.c.zone_id, grid_node.c.mrid).in_(pairs)
                )
            )
        }
        return self._refuse(batch, sessions, known_nodes)


# PostgreSQL: the three inserts of a batch as one statement over arrays (one round trip, no
# per-row SQL work in Python). Foreign keys are checked at the end of the statement, so the
# audit rows see the orders inserted beside them.
_ORDER_COLUMNS = (
    "id", "kind", "session_id", "zone_id", "submitter_id", "node_mrid", "asset_id", "status",
    "submitted_at", "updated_at", "idempotency_key", "request_sha256", "body",
)  # fmt: skip
_AUDIT_COLUMNS = ("order_id", "at", "actor_id", "action", "from_status", "to_status")
_OUTBOX_COLUMNS = ("id", "subject", "payload", "created_at")
_TIMESTAMPS = frozenset(("submitted_at", "updated_at", "at", "created_at"))


def _unnest(columns: tuple[str, ...], first: int) -> str:
    casts = ", ".join(
        f"${first + i}::{'timestamptz' if c in _TIMESTAMPS else 'text'}[]"
        for i, c in enumerate(columns)
    )
    return f"INSERT INTO {{}} ({', '.join(columns)}) SELECT * FROM unnest({casts})"  # noqa: S608 - constant names


_PG_INSERT = (
    "WITH o AS ("
    + _unnest(_ORDER_COLUMNS, 1).format("flex_order")
    + "), a AS ("
    + _unnest(_AUDIT_COLUMNS, 1 + len(_ORDER_COLUMNS)).format("order_audit")
    + ") "
    + _unnest(_OUTBOX_COLUMNS, 1 + len(_ORDER_COLUMNS) + len(_AUDIT_COLUMNS)).format("outbox")
)
# FOR SHARE: a concurrent gate closure waits for this batch.
_PG_SESSIONS = (
    "SELECT id, state, gate_closure_at FROM market_session WHERE id = ANY($1::text[]) FOR SHARE"
)
_PG_NODES = (
    "SELECT zone_id, mrid FROM grid_node WHERE (zone_id, mrid) IN "
    "(SELECT * FROM unnest($1::text[], $2::text[]))"
)


def _pg_columns(batch: list[PendingOrder]) -> tuple[list[Any], ...]:
    return (
        *([o.row[c] for o in batch] for c in _ORDER_COLUMNS),
        *([o.audit[c] for o in batch] for c in _AUDIT_COLUMNS),
        *([o.outbox[c] for o in batch] for c in _OUTBOX_COLUMNS),
    )


def _refusal(
    order: PendingOrder,
    sessions: dict[str, tuple[str, Any]],
    known_nodes: set[tuple[str, str]],
    now: Any,
) -> GatewayError | None:
    session_id = order.row["session_id"]
    if session_id not in sessions:
        return NotFound(f"market session {session_id} not found")
    state, gate_closure = sessions[session_id]
    if state != SessionState.OPEN.value or now >= gate_closure:
        return Conflict(f"market session {session_id} is closed for orders (gate closure passed)")
    if (order.row["zone_id"], order.row["node_mrid"]) not in known_nodes:
        return Unprocessable(
            f"node {order.row['node_mrid']} is not in the session's grid zone",
            errors=[FieldError(location="$.node_mrid", message="unknown node in this zone")],
        )
    return None


__all__ = ["IdempotencyRace", "OrderIntake", "PendingOrder"]
