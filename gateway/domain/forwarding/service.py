"""Forwarding a cleared session's unneeded offers to the TSO, and local activations (REST side).

Starting a forwarding stores its candidates and queues the DSO's power flow check
(`dso-forward-check`) in one transaction; the check's completion forwards the offers that passed
(`completion.py`), the forwarder sends them to the TSO adapter and settles what it activates
(`forwarder.py`).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from gateway.auth.caller import Caller
from gateway.auth.scopes import SESSIONS_READ
from gateway.db.database import Database
from gateway.db.tables import (
    flex_order,
    forwarding,
    forwarding_candidate,
    grid_zone,
    offer_activation,
)
from gateway.domain.clock import Clock, new_id
from gateway.domain.forwarding import ledger, store
from gateway.domain.forwarding.candidates import (
    Dispatched,
    candidates,
    dispatched,
    local_dispatch,
)
from gateway.domain.forwarding.views import forwarding_view, restricted
from gateway.domain.jobs.service import insert_job
from gateway.domain.results.profile import base_schedule
from gateway.domain.results.starting import zone_network
from gateway.domain.sessions.service import SessionService
from gateway.errors import Conflict, Forbidden, NotFound, Unprocessable
from gateway.messages.activations import (
    CHECK_KIND,
    ActivationState,
    ForwardCheckInput,
    Forwarding,
    ForwardingState,
    ForwardingSubmit,
    LocalActivationSubmit,
    OfferActivation,
)
from gateway.messages.common import Role
from gateway.messages.orders import OrderStatus
from gateway.messages.problems import FieldError
from gateway.messages.sessions import MarketSession, SessionState


def _need_errors(data: ForwardingSubmit, period_count: int) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[int] = set()
    for i, need in enumerate(data.needs):
        where = f"$.needs[{i}].period_index"
        if need.period_index >= period_count:
            errors.append(
                FieldError(location=where, message=f"the session has periods 0..{period_count - 1}")
            )
        if need.period_index in seen:
            errors.append(FieldError(location=where, message="repeated period"))
        seen.add(need.period_index)
    return errors


def _require_cleared(session: MarketSession) -> None:
    """Local activation uses the session's cleared point: before the clearing ends, the local
    market has not decided which offers it dispatches, so nothing can be activated yet."""
    match session.state:
        case SessionState.OPEN:
            when = (
                f"after its gate closure at {session.gate_closure_at.isoformat()}, once the "
                "clearing that starts then has finished"
            )
        case SessionState.CLOSED:
            job = f" (job {session.clearing_job_id})" if session.clearing_job_id else ""
            when = f"once its clearing{job} has finished"
        case _:
            return
    raise Conflict(
        f"market session {session.id} is {session.state.value}: its offers can be activated "
        f"locally only once it is cleared, {when}"
    )


class ForwardingService:
    def __init__(
        self, db: Database, clock: Clock, sessions: SessionService, on_commit: Callable[[], None]
    ) -> None:
        self._db = db
        self._clock = clock
        self._sessions = sessions
        self._on_commit = on_commit

    async def _operated(self, caller: Caller, session_id: str) -> MarketSession:
        """The session, if the caller operates it: the market operator or the zone's DSO."""
        caller.require(SESSIONS_READ)
        session = await self._sessions.get(caller, session_id)  # 404 for another DSO's zone
        if caller.role not in (Role.FMO, Role.DSO):
            raise Forbidden(f"the {caller.role.value} role may not forward or activate offers")
        return session

    async def start(self, caller: Caller, session_id: str, data: ForwardingSubmit) -> Forwarding:
        session = await self._operated(caller, session_id)
        if session.state is not SessionState.CLEARED:
            raise Conflict(
                f"market session {session_id} is {session.state.value}; "
                "only a cleared session's offers can be forwarded"
            )
        if session.delivery.resolution_minutes > 60:
            raise Unprocessable(
                "the balancing market takes periods of at most 60 minutes",
                errors=[
                    FieldError(
                        location="$",
                        message=f"session resolution {session.delivery.resolution_minutes} min",
                    )
                ],
            )
        now = self._clock()
        fid = new_id()
        # Reads first, on their own connection; the write transaction then starts with its
        # first insert (SQLite waits for the write lock rather than failing to upgrade a read).
        # The ledger re-checks every offer-period when the check's verdicts are applied.
        async with self._db.connect() as conn:
            plan = await store.session_plan(conn, session_id)
            errors = _need_errors(data, plan.period_count)
            if errors:
                raise Unprocessable("the needs do not fit the session", errors=errors)
            if (
                await conn.execute(
                    select(forwarding.c.id).where(forwarding.c.session_id == session_id)
                )
            ).first() is not None:
                raise Conflict(f"market session {session_id} was forwarded already")
            offers = await store.active_offers(conn, session_id)
            output = await store.clearing_output(conn, session_id)
            injections, used = local_dispatch(output, offers)
            reclaimable: dict[tuple[str, int], Dispatched] = {}
            if data.include_locally_dispatched:  # the clearing's dispatch nobody activated yet
                reserved = await store.reserved(conn, session_id)
                reclaimable = {k: d for k, d in dispatched(output, offers).items() if k in reserved}
            taken = used | await store.held(conn, session_id)
            chosen = candidates(plan, offers, data.needs, taken, reclaimable)
            cleared_on = await store.cleared_network(conn, session_id)
            zone_net = await zone_network(conn, session.zone_id) if cleared_on is None else None
            network = cleared_on if cleared_on is not None else (zone_net[0] if zone_net else None)
            dso_id = (
                await conn.execute(
                    select(grid_zone.c.dso_id).where(grid_zone.c.id == session.zone_id)
                )
            ).scalar_one()
        state = ForwardingState.CHECKING if chosen and network else ForwardingState.SETTLED
        message = "" if chosen else "no offer left to forward in the periods of the needs"
        if chosen and network is None:
            message = "the zone has no network to check the forwarding against"
        job_id = new_id() if state is ForwardingState.CHECKING else None
        try:
            async with self._db.begin() as conn:
                await conn.execute(
                    insert(forwarding).values(
                        id=fid,
                        session_id=session_id,
                        requested_by=caller.participant_id,
                        state=state.value,
                        product=data.product,
                        needs_json=msgspec.json.encode(data.needs).decode(),
                        check_job_id=job_id,
                        message=message,
                        created_at=now,
                        updated_at=now,
                    )
                )
                if chosen:
                    await conn.execute(
                        insert(forwarding_candidate),
                        [
                            {
                                "forwarding_id": fid,
                                "offer_id": c.wire.offer_id,
                                "period_index": c.wire.period_index,
                                "direction": c.wire.direction,
                                "p_mw": c.wire.p_mw,
                                "tso_price_eur_per_mwh": c.wire.tso_price_eur_per_mwh,
                                "dso_check": "pending",
                                "reason": "",
                                "local_mw": c.local_mw,
                            }
                            for c in chosen
                        ],
                    )
                if job_id is not None and network is not None:
                    periods = sorted({c.wire.period_index for c in chosen})
                    job_input = ForwardCheckInput(
                        forwarding_id=fid,
                        network=network,
                        schedules=[
                            base_schedule(
                                t, plan.delivery_start + t * plan.resolution, plan.resolution
                            )
                            for t in periods
                        ],
                        local=[i for i in injections if i.period_index in periods],
                        candidates=[w for c in chosen if (w := c.for_check()) is not None],
                    )
                    payload = msgspec.json.encode(job_input)
                    await insert_job(conn, job_id, CHECK_KIND, dso_id, payload, now)
        except IntegrityError:  # a concurrent forwarding of the same session won
            raise Conflict(f"market session {session_id} was forwarded already") from None
        self._on_commit()
        return await self.get(caller, session_id)

    async def get(self, caller: Caller, session_id: str) -> Forwarding:
        caller.require(SESSIONS_READ)
        session = await self._sessions.get(caller, session_id)
        async with self._db.connect() as conn:
            view = await forwarding_view(conn, session_id)
        if view is None:
            raise NotFound(f"market session {session_id} has not been forwarded")
        if caller.role in (Role.FMO, Role.DSO):
            return view
        if caller.role is Role.TSO:  # the TSO sees what was forwarded to it
            offers = [o for o in view.offers if o.dso_check == "passed"]
        else:
            offers = [o for o in view.offers if o.submitter_id == caller.participant_id]
        del session
        return restricted(view, offers, view.checks if caller.role is Role.TSO else [])

    async def activate_local(
        self, caller: Caller, offer_id: str, data: LocalActivationSubmit
    ) -> OfferActivation:
        """Near-real-time local activation (or reservation) of an offer by the DSO; 409 when
        the offer-period is forwarded to or activated by the TSO, or activated already."""
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        flex_order.c.session_id, flex_order.c.submitter_id, flex_order.c.status
                    ).where(flex_order.c.id == offer_id, flex_order.c.kind == "offer")
                )
            ).first()
        if row is None:
            raise NotFound(f"offer {offer_id} not found")
        session = await self._operated(caller, row[0])
        _require_cleared(session)
        if row[2] != OrderStatus.ACTIVE.value:
            # A withdrawn offer is no longer the seller's commitment: nothing to activate.
            raise Conflict(f"offer {offer_id} is {row[2]}; only an active offer can be activated")
        now = self._clock()
        async with self._db.connect() as conn:  # orders never change: read before the write
            plan = await store.session_plan(conn, session.id)
            found = await store.offer(conn, offer_id)
        if found is None:
            raise NotFound(f"offer {offer_id} not found")
        # The transaction's first statement is the ledger's write: SQLite then waits for the
        # write lock (busy timeout) instead of failing to upgrade a read snapshot.
        async with self._db.begin() as conn:
            periods = {i for w in found.delivery_windows for i in plan.periods(w)}
            volume = found.p_up_mw if data.direction == "up" else found.p_down_mw
            errors: list[FieldError] = []
            if data.period_index not in periods:
                errors.append(
                    FieldError(
                        location="$.period_index",
                        message=f"the offer delivers in periods {sorted(periods)}",
                    )
                )
            if data.p_mw > volume + 1e-9:
                errors.append(
                    FieldError(
                        location="$.p_mw", message=f"the offer has {volume} MW {data.direction}"
                    )
                )
            if errors:
                raise Unprocessable("the activation does not fit the offer", errors=errors)
            to = (
                ActivationState.RESERVED_LOCAL
                if data.reserve_only
                else ActivationState.ACTIVATED_LOCAL
            )
            await ledger.apply(
                conn,
                ledger.Move(
                    offer_id=offer_id,
                    period_index=data.period_index,
                    to=to,
                    session_id=session.id,
                    submitter_id=row[1],
                    direction=data.direction,
                    p_mw=data.p_mw,
                    activated_mw=None if data.reserve_only else data.p_mw,
                ),
                now,
            )
            stored = (
                await conn.execute(
                    select(*store.ACTIVATION_COLS).where(
                        offer_activation.c.offer_id == offer_id,
                        offer_activation.c.period_index == data.period_index,
                    )
                )
            ).one()
        self._on_commit()  # the activation's event is in the outbox
        return store.activation_view(stored, plan)

    async def activations(self, caller: Caller, session_id: str) -> list[OfferActivation]:
        """The session's activations the caller may see: all (operator, DSO), those with the TSO
        (TSO), its own (a seller)."""
        caller.require(SESSIONS_READ)
        await self._sessions.get(caller, session_id)
        query = select(*store.ACTIVATION_COLS).where(offer_activation.c.session_id == session_id)
        if caller.role is Role.TSO:
            query = query.where(offer_activation.c.market == "tso")
        elif caller.role not in (Role.FMO, Role.DSO):
            query = query.where(offer_activation.c.submitter_id == caller.participant_id)
        async with self._db.connect() as conn:
            plan = await store.session_plan(conn, session_id)
            rows = (
                await conn.execute(
                    query.order_by(offer_activation.c.offer_id, offer_activation.c.period_index)
                )
            ).all()
        return [store.activation_view(r, plan) for r in rows]
