"""The activation ledger: an offer is activated at most once per period, locally or by the TSO.

Two guards, both in the database so they hold across gateway replicas and processes:
* the primary key (offer, period) of `offer_activation`: a second row cannot exist, and the first
  row is created by ``INSERT ... ON CONFLICT DO NOTHING`` (its row count says who won);
* every later change is ``UPDATE ... WHERE state IN (<states it may come from>)``: of two
  concurrent moves out of one state only one matches a row.
A move that loses says why: :class:`ActivationConflict` (409) with the offer's current state.

Every move that is made writes its event (`atp.v1.events.activations.<session>`) to the outbox in
the same transaction: the event exists if and only if the move was committed, and the relay
publishes it once (`Nats-Msg-Id` = the outbox row's id). Callers wake the relay after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db.tables import offer_activation, outbox
from gateway.domain.clock import new_id
from gateway.errors import Conflict
from gateway.messages import subjects
from gateway.messages.activations import (
    ActivationEvent,
    ActivationState,
    OfferActivated,
    OfferActivationChanged,
)

S = ActivationState
# Where each state may be entered from; None: no row yet (available). `released` is available
# again: what the TSO did not activate goes back to its owner and the local market.
ENTERED_FROM: dict[ActivationState, tuple[ActivationState | None, ...]] = {
    S.RESERVED_LOCAL: (None, S.RELEASED),
    S.FORWARDED: (None, S.RELEASED),
    S.ACTIVATED_LOCAL: (None, S.RELEASED, S.RESERVED_LOCAL),
    S.ACTIVATED_TSO: (S.FORWARDED,),
    S.RELEASED: (S.FORWARDED, S.RESERVED_LOCAL),
}
MARKET = {
    S.RESERVED_LOCAL: "local",
    S.ACTIVATED_LOCAL: "local",
    S.FORWARDED: "tso",
    S.ACTIVATED_TSO: "tso",
}


class ActivationConflict(Conflict):
    def __init__(self, offer_id: str, period_index: int, to: ActivationState, current: str) -> None:
        super().__init__(
            f"offer {offer_id} period {period_index} is {current}: it cannot become {to.value} "
            "(an offer is activated once per period, locally or by the TSO)"
        )
        self.offer_id, self.period_index, self.current = offer_id, period_index, current


@dataclass(frozen=True)
class Move:
    """One offer-period's transition and the values it writes."""

    offer_id: str
    period_index: int
    to: ActivationState
    session_id: str
    submitter_id: str
    direction: str
    p_mw: float
    activated_mw: float | None = None
    price_eur_per_mwh: float | None = None
    amount_eur: float | None = None
    forwarding_id: str | None = None
    # Forwarding the local clearing's dispatch (`reserved_local`) to the TSO: a move only a
    # forwarding that includes locally dispatched offers makes, never a plain forward.
    from_local_reservation: bool = False


def _insert(conn: AsyncConnection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(
        offer_activation
    )


async def current_state(conn: AsyncConnection, offer_id: str, period_index: int) -> str | None:
    row = await conn.execute(
        select(offer_activation.c.state).where(
            offer_activation.c.offer_id == offer_id,
            offer_activation.c.period_index == period_index,
        )
    )
    return row.scalar_one_or_none()


async def apply(conn: AsyncConnection, move: Move, now: datetime) -> None:
    """Make the move in the caller's transaction or raise :class:`ActivationConflict`."""
    sources = ENTERED_FROM[move.to]
    if move.from_local_reservation and move.to is S.FORWARDED:
        sources = (S.RESERVED_LOCAL,)
    values: dict[str, Any] = {
        "state": move.to.value,
        "direction": move.direction,
        "p_mw": move.p_mw,
        "activated_mw": move.activated_mw,
        "price_eur_per_mwh": move.price_eur_per_mwh,
        "amount_eur": move.amount_eur,
        "updated_at": now,
    }
    if move.to in MARKET:
        values["market"] = MARKET[move.to]
    if move.forwarding_id is not None:
        values["forwarding_id"] = move.forwarding_id
    if None in sources:
        inserted = await conn.execute(
            _insert(conn)
            .values(
                offer_id=move.offer_id,
                period_index=move.period_index,
                session_id=move.session_id,
                submitter_id=move.submitter_id,
                market=MARKET.get(move.to, "local"),
                **{k: v for k, v in values.items() if k != "market"},
            )
            .on_conflict_do_nothing(index_elements=["offer_id", "period_index"])
        )
        if inserted.rowcount == 1:
            await _announce(conn, move, MARKET.get(move.to, "local"), now)
            return
    states = [s.value for s in sources if s is not None]
    changed = await conn.execute(
        update(offer_activation)
        .where(
            offer_activation.c.offer_id == move.offer_id,
            offer_activation.c.period_index == move.period_index,
            offer_activation.c.state.in_(states),
        )
        .values(**values)
    )
    if changed.rowcount == 1:
        market = MARKET.get(move.to) or await _market(conn, move)
        await _announce(conn, move, market, now)
        return
    current = await current_state(conn, move.offer_id, move.period_index)
    raise ActivationConflict(move.offer_id, move.period_index, move.to, current or "available")


async def _market(conn: AsyncConnection, move: Move) -> str:
    """A `released` row keeps the market it was with."""
    row = await conn.execute(
        select(offer_activation.c.market).where(
            offer_activation.c.offer_id == move.offer_id,
            offer_activation.c.period_index == move.period_index,
        )
    )
    return str(row.scalar_one())


def event(move: Move, market: str, now: datetime) -> ActivationEvent:
    common: dict[str, Any] = {
        "offer_id": move.offer_id,
        "session_id": move.session_id,
        "submitter_id": move.submitter_id,
        "period_index": move.period_index,
        "direction": move.direction,
        "state": move.to,
        "market": market,
        "forwarding_id": move.forwarding_id,
        "at": now,
    }
    if move.to in (S.ACTIVATED_LOCAL, S.ACTIVATED_TSO):
        return OfferActivated(
            **common,
            activated_mw=move.activated_mw if move.activated_mw is not None else move.p_mw,
            price_eur_per_mwh=move.price_eur_per_mwh,
            amount_eur=move.amount_eur,
        )
    return OfferActivationChanged(**common, p_mw=move.p_mw)


async def _announce(conn: AsyncConnection, move: Move, market: str, now: datetime) -> None:
    # A unique id per move: an offer-period may pass through a state twice (released, then
    # reserved and released again), and each move is its own event.
    await conn.execute(
        insert(outbox).values(
            id=f"activation.{move.offer_id}.{move.period_index}.{move.to.value}.{new_id()}",
            subject=subjects.activation_events(move.session_id),
            payload=msgspec.json.encode(event(move, market, now)).decode(),
            created_at=now,
        )
    )
