"""Reading a session's orders, clearing output and activations for the forwarding flow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from cim.model import GridModel
from engines.fmct.clearing_job import BundledNetwork, ClearingJobOutput
from gateway.db.tables import flex_order, job, market_result, market_session, offer_activation
from gateway.domain.results.job_input import SessionPlan
from gateway.messages.activations import ActivationState, OfferActivation
from gateway.messages.orders import FlexOffer, OrderStatus
from gateway.messages.sessions import ClearingMethod, PaymentRule

_OFFER = msgspec.json.Decoder(FlexOffer)
_OUTPUT = msgspec.json.Decoder(ClearingJobOutput)


class _Network(msgspec.Struct):
    network: GridModel | BundledNetwork


_NETWORK = msgspec.json.Decoder(_Network)  # the network field of a ClearingJobInput only
ACTIVATION_COLS = (
    offer_activation.c.offer_id,
    offer_activation.c.session_id,
    offer_activation.c.submitter_id,
    offer_activation.c.period_index,
    offer_activation.c.direction,
    offer_activation.c.state,
    offer_activation.c.market,
    offer_activation.c.p_mw,
    offer_activation.c.activated_mw,
    offer_activation.c.price_eur_per_mwh,
    offer_activation.c.amount_eur,
    offer_activation.c.updated_at,
)


async def session_plan(conn: AsyncConnection, session_id: str) -> SessionPlan:
    row = (
        await conn.execute(
            select(
                market_session.c.delivery_start,
                market_session.c.delivery_end,
                market_session.c.resolution_minutes,
                market_session.c.payment_rule,
                market_session.c.clearing_method,
                market_session.c.upstream_price_eur_per_mwh,
            ).where(market_session.c.id == session_id)
        )
    ).one()
    return SessionPlan(
        session_id=session_id,
        delivery_start=row[0],
        delivery_end=row[1],
        resolution_minutes=row[2],
        payment_rule=PaymentRule(row[3]),
        clearing_method=ClearingMethod(row[4]),
        upstream_price_eur_per_mwh=row[5],
    )


async def active_offers(conn: AsyncConnection, session_id: str) -> list[FlexOffer]:
    rows = await conn.execute(
        select(flex_order.c.body)
        .where(
            flex_order.c.session_id == session_id,
            flex_order.c.kind == "offer",
            flex_order.c.status == OrderStatus.ACTIVE.value,
        )
        .order_by(flex_order.c.seq)
    )
    return [_OFFER.decode(body) for (body,) in rows]


async def offer(conn: AsyncConnection, offer_id: str) -> FlexOffer | None:
    body = (
        await conn.execute(
            select(flex_order.c.body).where(
                flex_order.c.id == offer_id, flex_order.c.kind == "offer"
            )
        )
    ).scalar_one_or_none()
    return _OFFER.decode(body) if body is not None else None


async def clearing_output(conn: AsyncConnection, session_id: str) -> ClearingJobOutput | None:
    raw = (
        await conn.execute(
            select(market_result.c.output).where(market_result.c.session_id == session_id)
        )
    ).scalar_one_or_none()
    return _OUTPUT.decode(raw.encode()) if raw is not None else None


async def cleared_network(
    conn: AsyncConnection, session_id: str
) -> GridModel | BundledNetwork | None:
    """The network the session was cleared on (its clearing job's), so the DSO check sees the
    grid the local dispatch was computed for, even if a newer model was uploaded since."""
    raw = (
        await conn.execute(
            select(job.c.input)
            .join(market_session, market_session.c.clearing_job_id == job.c.id)
            .where(market_session.c.id == session_id)
        )
    ).scalar_one_or_none()
    return _NETWORK.decode(raw).network if raw is not None else None


async def held(conn: AsyncConnection, session_id: str) -> set[tuple[str, int]]:
    """Offer-periods the ledger holds (every state but `released`)."""
    rows = await conn.execute(
        select(offer_activation.c.offer_id, offer_activation.c.period_index).where(
            offer_activation.c.session_id == session_id,
            offer_activation.c.state != ActivationState.RELEASED.value,
        )
    )
    return {(r[0], r[1]) for r in rows}


async def reserved(conn: AsyncConnection, session_id: str) -> set[tuple[str, int]]:
    """Offer-periods reserved for the local market and not activated (`reserved_local`)."""
    rows = await conn.execute(
        select(offer_activation.c.offer_id, offer_activation.c.period_index).where(
            offer_activation.c.session_id == session_id,
            offer_activation.c.state == ActivationState.RESERVED_LOCAL.value,
        )
    )
    return {(r[0], r[1]) for r in rows}


def activation_view(row: Sequence[Any], plan: SessionPlan) -> OfferActivation:
    return OfferActivation(
        offer_id=row[0],
        session_id=row[1],
        submitter_id=row[2],
        period_index=row[3],
        start=plan.delivery_start + row[3] * plan.resolution,
        direction=row[4],
        state=ActivationState(row[5]),
        market=row[6],
        p_mw=row[7],
        activated_mw=row[8],
        price_eur_per_mwh=row[9],
        amount_eur=row[10],
        updated_at=row[11],
    )
