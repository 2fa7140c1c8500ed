"""Sends checked forwardings to the TSO balancing adapter and settles what it activates.

Any gateway replica may run it: a forwarding is claimed by a guarded UPDATE (checked -> sending),
so one replica sends it; a claim older than `claim_timeout_s` (a replica died mid-way) is taken
over. The emulated adapter is stateless, so sending an auction again gives the same result, and
recording is guarded by the states it moves from: a second recording changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import msgspec
from nats.errors import Error as NatsError
from sqlalchemy import ColumnElement, and_, or_, select, true, update

from adapters.base import BalancingMarket
from adapters.errors import MarketError, MarketInputError
from gateway.db.database import Database
from gateway.db.tables import flex_order, forwarding, forwarding_candidate, offer_activation
from gateway.domain.clock import Clock
from gateway.domain.forwarding import ledger, store
from gateway.messages.activations import ActivationState, ForwardingNeed, ForwardingState
from gateway.messages.balancing import (
    BalancingAuction,
    BalancingBid,
    BalancingResult,
    ImbalanceNeed,
)
from gateway.messages.orders import FlexOffer

log = logging.getLogger("flexgrid.forwarding")
_NEEDS = msgspec.json.Decoder(list[ForwardingNeed])
_OFFER = msgspec.json.Decoder(FlexOffer)


def bid_id(offer_id: str, period_index: int) -> str:
    return f"{offer_id}:p{period_index}"


def _candidate_of(fid: str) -> ColumnElement[bool]:
    """Joins a forwarded ledger row to its candidate row of forwarding ``fid``."""
    return and_(
        forwarding_candidate.c.forwarding_id == fid,
        forwarding_candidate.c.offer_id == offer_activation.c.offer_id,
        forwarding_candidate.c.period_index == offer_activation.c.period_index,
    )


class Forwarder:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        market: BalancingMarket,
        wake: asyncio.Event,
        poll_s: float = 1.0,
        claim_timeout_s: float = 120.0,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._db, self._clock, self._market, self._wake = db, clock, market, wake
        self._on_commit = on_commit  # settling writes activation events to the outbox
        self._poll_s, self._claim_timeout = poll_s, timedelta(seconds=claim_timeout_s)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="tso-forwarder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)
            self._wake.clear()
            try:
                while await self.run_once():
                    pass
            except Exception:  # the database or NATS away for a moment: next round
                log.exception("forwarding to the TSO failed; retrying")

    async def _claim(self) -> str | None:
        now = self._clock()
        stale = now - self._claim_timeout
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    select(forwarding.c.id, forwarding.c.state)
                    .where(
                        or_(
                            forwarding.c.state == ForwardingState.CHECKED.value,
                            (forwarding.c.state == ForwardingState.SENDING.value)
                            & (forwarding.c.updated_at < stale),
                        )
                    )
                    .order_by(forwarding.c.created_at)
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        # A transaction that starts with its write (SQLite waits for the lock, see ledger).
        async with self._db.begin() as conn:
            claimed = await conn.execute(
                update(forwarding)
                .where(
                    forwarding.c.id == row[0],
                    forwarding.c.state == row[1],
                    forwarding.c.updated_at < stale if row[1] == "sending" else true(),
                )
                .values(state=ForwardingState.SENDING.value, updated_at=now)
            )
        return str(row[0]) if claimed.rowcount == 1 else ""

    async def run_once(self) -> bool:
        """Send and settle one forwarding; False when none is waiting."""
        fid = await self._claim()
        if fid is None:
            return False
        if not fid:
            return True  # another replica claimed it first
        auction = await self._auction(fid)
        try:
            result = await self._market.activate(auction)
        except MarketInputError as exc:
            await self._settle(fid, None, f"the TSO refused the auction: {exc}")
            return True
        except (MarketError, NatsError, TimeoutError) as exc:
            async with self._db.begin() as conn:  # back in line; the next round tries again
                await conn.execute(
                    update(forwarding)
                    .where(
                        forwarding.c.id == fid,
                        forwarding.c.state == ForwardingState.SENDING.value,
                    )
                    .values(
                        state=ForwardingState.CHECKED.value,
                        message=f"TSO adapter unavailable ({exc!r}); retrying",
                    )
                )
            return False
        await self._settle(fid, result, "")
        return True

    async def _auction(self, fid: str) -> BalancingAuction:
        async with self._db.connect() as conn:
            frow = (
                await conn.execute(
                    select(
                        forwarding.c.session_id, forwarding.c.product, forwarding.c.needs_json
                    ).where(forwarding.c.id == fid)
                )
            ).one()
            plan = await store.session_plan(conn, frow[0])
            held = (
                await conn.execute(
                    select(
                        offer_activation.c.offer_id,
                        offer_activation.c.period_index,
                        offer_activation.c.direction,
                        offer_activation.c.p_mw,
                        flex_order.c.body,
                        forwarding_candidate.c.tso_price_eur_per_mwh,
                        forwarding_candidate.c.local_mw,
                    )
                    .join(flex_order, flex_order.c.id == offer_activation.c.offer_id)
                    .join(forwarding_candidate, _candidate_of(fid))
                    .where(
                        offer_activation.c.forwarding_id == fid,
                        offer_activation.c.state == ActivationState.FORWARDED.value,
                    )
                    .order_by(offer_activation.c.period_index, offer_activation.c.offer_id)
                )
            ).all()
        bids = []
        for offer_id, t, direction, p_mw, body, price, local_mw in held:
            offer = _OFFER.decode(body)
            # The candidate's price (for a locally dispatched one no lower than the local market
            # pays), and never below its local volume: the TSO replaces the local dispatch.
            minimum = p_mw if offer.block else max(min(offer.min_activation_mw, p_mw), local_mw)
            bids.append(
                BalancingBid(
                    id=bid_id(offer_id, t),
                    bsp_id=offer.submitter_id,
                    direction=direction,
                    period_index=t,
                    quantity_mw=p_mw,
                    min_quantity_mw=min(minimum, p_mw),
                    price_eur_per_mwh=price,
                    location=offer.node_mrid,
                )
            )
        return BalancingAuction(
            auction_id=fid,
            product=frow[1],
            delivery_start=plan.delivery_start,
            resolution_minutes=plan.resolution_minutes,
            needs=[
                ImbalanceNeed(period_index=n.period_index, need_mw=n.need_mw)
                for n in _NEEDS.decode(frow[2])
            ],
            bids=bids,
        )

    async def _settle(self, fid: str, result: BalancingResult | None, message: str) -> None:
        """Activated bids -> activated_tso at the pay-as-cleared price; the rest released."""
        now = self._clock()
        async with self._db.begin() as conn:
            # First the write that ends this replica's claim: if another replica settled the
            # forwarding meanwhile, nothing is recorded twice.
            closed = await conn.execute(
                update(forwarding)
                .where(forwarding.c.id == fid, forwarding.c.state == ForwardingState.SENDING.value)
                .values(
                    state=(ForwardingState.SETTLED if result else ForwardingState.FAILED).value,
                    message=message,
                    result_json=msgspec.json.encode(result).decode() if result else None,
                    updated_at=now,
                )
            )
            if closed.rowcount == 0:
                return
            held = (
                await conn.execute(
                    select(
                        offer_activation.c.offer_id,
                        offer_activation.c.period_index,
                        offer_activation.c.session_id,
                        offer_activation.c.submitter_id,
                        offer_activation.c.direction,
                        offer_activation.c.p_mw,
                        forwarding_candidate.c.local_mw,
                    )
                    .join(forwarding_candidate, _candidate_of(fid))
                    .where(
                        offer_activation.c.forwarding_id == fid,
                        offer_activation.c.state == ActivationState.FORWARDED.value,
                    )
                )
            ).all()
            activated = {a.bid_id: a for a in (result.activations if result else [])}
            for offer_id, t, session_id, owner, direction, p_mw, local_mw in held:
                act = activated.get(bid_id(offer_id, t))
                move = ledger.Move(
                    offer_id=offer_id,
                    period_index=t,
                    session_id=session_id,
                    submitter_id=owner,
                    direction=direction,
                    p_mw=p_mw,
                    forwarding_id=fid,
                    to=ActivationState.ACTIVATED_TSO if act else ActivationState.RELEASED,
                    activated_mw=act.activated_mw if act else None,
                    price_eur_per_mwh=act.price_eur_per_mwh if act else None,
                    amount_eur=act.amount_eur if act else None,
                )
                try:
                    await ledger.apply(conn, move, now)
                    if act is None and local_mw > 0.0:
                        # Not taken by the TSO: its local dispatch stands, held for the local
                        # market again.
                        back = replace(
                            move,
                            to=ActivationState.RESERVED_LOCAL,
                            p_mw=local_mw,
                            forwarding_id=None,
                        )
                        await ledger.apply(conn, back, now)
                except ledger.ActivationConflict as exc:
                    log.error("forwarding %s: %s", fid, exc)
        self._on_commit()
