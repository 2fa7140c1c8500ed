"""Gate closure starts the clearing: in the transaction that closes a session, its clearing job
(`fmct-clear`) is inserted with its outbox rows, so a closed session always has its job on the
way to the engines (or, with no orders, its empty result recorded at once).

The job carries everything the engine needs: the zone's latest grid model (or the bundled
network named on the zone), base schedules, the active orders, and the session's options. A zone
with neither model nor bundled network cannot be cleared: its sessions stay `closed`, and the
results endpoint says why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cim.model import GridModel
from cim.model import from_json as model_from_json
from engines.fmct.clearing_job import KIND, BundledNetwork
from gateway.db.tables import flex_order, grid_zone, market_session
from gateway.domain.clock import new_id
from gateway.domain.grid_models.store import latest_model_json
from gateway.domain.jobs.service import insert_job
from gateway.domain.results.job_input import BUNDLED, SessionPlan, clearing_input
from gateway.domain.results.recording import Outcome, record
from gateway.messages.orders import FlexOffer, FlexRequest, OrderStatus
from gateway.messages.sessions import ClearingMethod, PaymentRule

log = logging.getLogger("flexgrid.clearing")
NO_NETWORK = (
    "the zone has no grid model and names no bundled network: upload a CGMES model for it "
    "(or create the zone with `bundled_network`) to clear its sessions"
)
_REQUEST = msgspec.json.Decoder(FlexRequest)
_OFFER = msgspec.json.Decoder(FlexOffer)


async def zone_network(
    conn: AsyncConnection, zone_id: str
) -> tuple[GridModel | BundledNetwork, int | None] | None:
    """The network a zone's sessions clear on: its latest model, else its bundled network."""
    latest = await latest_model_json(conn, zone_id)
    if latest is not None:
        version, raw = latest
        return model_from_json(raw), version
    bundled = (
        await conn.execute(select(grid_zone.c.bundled_network).where(grid_zone.c.id == zone_id))
    ).scalar_one_or_none()
    return (BUNDLED[bundled], None) if bundled in BUNDLED else None


async def start_clearing(conn: AsyncConnection, session_ids: Sequence[str], now: datetime) -> int:
    """Queue the clearing of sessions just closed in this transaction; returns jobs queued."""
    if not session_ids:
        return 0
    rows = (
        await conn.execute(
            select(
                market_session.c.id,
                market_session.c.zone_id,
                market_session.c.delivery_start,
                market_session.c.delivery_end,
                market_session.c.resolution_minutes,
                market_session.c.payment_rule,
                market_session.c.clearing_method,
                market_session.c.upstream_price_eur_per_mwh,
                grid_zone.c.dso_id,
                market_session.c.gate_closure_at,
            )
            .join(grid_zone, grid_zone.c.id == market_session.c.zone_id)
            .where(market_session.c.id.in_(list(session_ids)))
        )
    ).all()
    queued = 0
    for row in rows:
        plan = SessionPlan(
            session_id=row[0],
            delivery_start=row[2],
            delivery_end=row[3],
            resolution_minutes=row[4],
            payment_rule=PaymentRule(row[5]),
            clearing_method=ClearingMethod(row[6]),
            upstream_price_eur_per_mwh=row[7],
        )
        network = await zone_network(conn, row[1])
        if network is None:
            log.warning("session %s stays closed: %s", plan.session_id, NO_NETWORK)
            continue
        requests, offers = await _active_orders(conn, plan.session_id)
        # Offers must be valid at the gate: its time, or the earlier moment of a manual close.
        gate = min(now, row[9])
        data = clearing_input(plan, network[0], network[1], requests, offers, gate)
        if not data.schedules:
            await record(
                conn,
                plan.session_id,
                None,
                Outcome("optimal", "no_orders", "no active orders at gate closure"),
                (),
                now,
            )
            continue
        job_id = new_id()
        # The zone's DSO owns the job: it follows it over /v1/jobs (the FMO sees every job).
        await insert_job(conn, job_id, KIND, row[8], msgspec.json.encode(data), now)
        await conn.execute(
            update(market_session)
            .where(market_session.c.id == plan.session_id)
            .values(clearing_job_id=job_id)
        )
        queued += 1
    return queued


async def _active_orders(
    conn: AsyncConnection, session_id: str
) -> tuple[list[FlexRequest], list[FlexOffer]]:
    rows = (
        await conn.execute(
            select(flex_order.c.kind, flex_order.c.body, flex_order.c.status)
            .where(
                flex_order.c.session_id == session_id,
                flex_order.c.status == OrderStatus.ACTIVE.value,
            )
            .order_by(flex_order.c.seq)
        )
    ).all()
    requests = [_REQUEST.decode(body) for kind, body, _ in rows if kind == "request"]
    offers = [_OFFER.decode(body) for kind, body, _ in rows if kind == "offer"]
    return requests, offers
