"""A session's forwarding as REST shows it: candidates with the DSO check's verdict, and what the
TSO activated and paid."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db.tables import flex_order, forwarding, forwarding_candidate, offer_activation
from gateway.domain.forwarding import store
from gateway.messages.activations import (
    DirectionCheck,
    ForwardedOffer,
    Forwarding,
    ForwardingNeed,
    ForwardingState,
)
from gateway.messages.balancing import BalancingResult

_NEEDS = msgspec.json.Decoder(list[ForwardingNeed])
_CHECKS = msgspec.json.Decoder(list[DirectionCheck])
_RESULT = msgspec.json.Decoder(BalancingResult)


def restricted(
    view: Forwarding, offers: Sequence[ForwardedOffer], checks: list[DirectionCheck]
) -> Forwarding:
    """The view cut to some offers, totals recomputed over them."""
    hours = view.resolution_minutes / 60.0
    activated = [o.activation for o in offers if o.activation and o.activation.activated_mw]
    return msgspec.structs.replace(
        view,
        offers=list(offers),
        checks=checks,
        activated_mwh=sum((a.activated_mw or 0.0) * hours for a in activated if a.market == "tso"),
        tso_payments_eur=sum(a.amount_eur or 0.0 for a in activated if a.market == "tso"),
    )


async def forwarding_view(conn: AsyncConnection, session_id: str) -> Forwarding | None:
    row = (
        await conn.execute(
            select(
                forwarding.c.id,
                forwarding.c.state,
                forwarding.c.product,
                forwarding.c.needs_json,
                forwarding.c.check_job_id,
                forwarding.c.message,
                forwarding.c.created_at,
                forwarding.c.updated_at,
                forwarding.c.checks_json,
                forwarding.c.result_json,
            ).where(forwarding.c.session_id == session_id)
        )
    ).first()
    if row is None:
        return None
    plan = await store.session_plan(conn, session_id)
    rows = (
        await conn.execute(
            select(
                forwarding_candidate.c.offer_id,
                flex_order.c.submitter_id,
                flex_order.c.node_mrid,
                forwarding_candidate.c.period_index,
                forwarding_candidate.c.direction,
                forwarding_candidate.c.p_mw,
                forwarding_candidate.c.tso_price_eur_per_mwh,
                forwarding_candidate.c.dso_check,
                forwarding_candidate.c.reason,
                forwarding_candidate.c.local_mw,
                *store.ACTIVATION_COLS,
            )
            .join(flex_order, flex_order.c.id == forwarding_candidate.c.offer_id)
            .outerjoin(
                offer_activation,
                and_(
                    offer_activation.c.offer_id == forwarding_candidate.c.offer_id,
                    offer_activation.c.period_index == forwarding_candidate.c.period_index,
                ),
            )
            .where(forwarding_candidate.c.forwarding_id == row[0])
            .order_by(forwarding_candidate.c.period_index, forwarding_candidate.c.offer_id)
        )
    ).all()
    offers = [
        ForwardedOffer(
            offer_id=r[0],
            submitter_id=r[1],
            node_mrid=r[2],
            period_index=r[3],
            direction=r[4],
            p_mw=r[5],
            tso_price_eur_per_mwh=r[6],
            dso_check=r[7],
            reason=r[8],
            local_mw=r[9],
            activation=store.activation_view(r[10:], plan) if r[10] is not None else None,
        )
        for r in rows
    ]
    prices: dict[str, float] = {}
    if row[9] is not None:
        for p in _RESULT.decode(row[9]).periods:
            if p.marginal_price_eur_per_mwh is not None:
                prices[str(p.period_index)] = p.marginal_price_eur_per_mwh
    full = Forwarding(
        id=row[0],
        session_id=session_id,
        state=ForwardingState(row[1]),
        product=row[2],
        resolution_minutes=plan.resolution_minutes,
        needs=_NEEDS.decode(row[3]),
        check_job_id=row[4],
        message=row[5],
        created_at=row[6],
        updated_at=row[7],
        checks=_CHECKS.decode(row[8]) if row[8] else [],
        marginal_prices_eur_per_mwh=prices,
    )
    return restricted(full, offers, full.checks)
