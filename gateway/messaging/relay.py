"""The outbox relay: publishes committed outbox rows to JetStream, then marks them sent.

Every row is published with `Nats-Msg-Id` = its id, so a row published before a crash and
published again after it is stored once by JetStream (duplicate window, see `streams`).
Replicas claim rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL so they do not fight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from nats.js import JetStreamContext
from sqlalchemy import select, update

from gateway.db.database import Database
from gateway.db.tables import outbox
from gateway.domain.clock import Clock

log = logging.getLogger("flexgrid.relay")


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        js: JetStreamContext,
        clock: Clock,
        wake: asyncio.Event,
        *,
        batch: int = 100,
        publish_timeout_s: float = 2.0,
        failpoint: str | None = None,
    ) -> None:
        self._db = db
        self._js = js
        self._clock = clock
        self._batch = batch
        # Short: an ack that does not come within it means no stream leader (an election
        # after a node loss); the rows are retried, so a long wait only delays the retry.
        self._publish_timeout_s = publish_timeout_s
        self._failpoint = failpoint
        # Set by whoever commits outbox rows, so they go out now rather than at the next poll.
        self._wake = wake
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                sent = await self.relay_once()
                backoff = 0.1
            except Exception:  # NATS or the database away: keep the rows, try again later
                log.warning("outbox relay failed; retrying in %.1f s", backoff, exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if sent < self._batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                self._wake.clear()

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were published."""
        async with self._db.begin() as conn:
            query = (
                select(outbox.c.id, outbox.c.subject, outbox.c.payload)
                .where(outbox.c.sent_at.is_(None))
                .order_by(outbox.c.seq)
                .limit(self._batch)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await conn.execute(query)).all()
            if not rows:
                return 0
            # All of the batch in flight at once, acks collected after: one round trip per
            # batch, and publish_async spares the per-message request machinery.
            acks = [
                await self._js.publish_async(
                    subject, payload.encode(), headers={"Nats-Msg-Id": row_id}
                )
                for row_id, subject, payload in rows
            ]
            try:
                async with asyncio.timeout(self._publish_timeout_s):
                    outcomes = await asyncio.gather(*acks, return_exceptions=True)
                failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
                if failed is not None:
                    raise failed
            finally:
                for ack in acks:
                    ack.cancel()  # no-op for the acknowledged; frees the slots of the others
            if self._failpoint == "relay.after_publish":
                os.kill(os.getpid(), signal.SIGKILL)  # crash tests: published, not yet marked
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([row[0] for row in rows]))
                .values(sent_at=self._clock())
            )
        self.published += len(rows)
        return len(rows)
