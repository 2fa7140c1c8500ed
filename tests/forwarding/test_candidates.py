"""Which offer-periods a forwarding offers the TSO, and at what price (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain.forwarding.candidates import Dispatched, candidates
from gateway.domain.results.job_input import SessionPlan
from gateway.messages.activations import ForwardingNeed
from gateway.messages.common import DeliveryWindow
from gateway.messages.orders import FlexOffer, OrderStatus
from gateway.messages.sessions import ClearingMethod, PaymentRule

pytestmark = pytest.mark.unit
DAY = datetime(2026, 3, 2, tzinfo=UTC)
PLAN = SessionPlan(
    session_id="s-1",
    delivery_start=DAY,
    delivery_end=DAY + timedelta(days=1),
    resolution_minutes=60,
    payment_rule=PaymentRule.NODAL,
    clearing_method=ClearingMethod.AUTO,
    upstream_price_eur_per_mwh=None,
)


def _offer(offer_id: str, **over: object) -> FlexOffer:
    fields: dict[str, object] = {
        "id": offer_id, "session_id": "s-1", "zone_id": "z-1", "submitter_id": "agg-1",
        "submitted_at": DAY - timedelta(days=1), "status": OrderStatus.ACTIVE,
        "node_mrid": "bus-5", "asset_id": None, "p_up_mw": 2.0, "p_down_mw": 1.0,
        "q_up_mvar": 0.0, "q_down_mvar": 0.0, "price_p_up_eur_per_mwh": 95.0,
        "price_p_down_eur_per_mwh": 20.0, "price_q_eur_per_mvarh": 0.0, "block": False,
        "min_activation_mw": 0.2,
        "delivery_windows": [DeliveryWindow(start=DAY + timedelta(hours=17),
                                            end=DAY + timedelta(hours=21))],
        "valid_until": DAY,
    }  # fmt: skip
    return FlexOffer(**{**fields, **over})


NEEDS = [
    ForwardingNeed(period_index=18, need_mw=1.0),
    ForwardingNeed(period_index=19, need_mw=-1.0),
]


def test_a_plain_forwarding_leaves_the_local_dispatch_alone() -> None:
    offer = _offer("o-1")
    chosen = candidates(PLAN, [offer], NEEDS, taken={("o-1", 18)})
    assert [(c.wire.period_index, c.wire.direction) for c in chosen] == [(19, "down")]
    (down,) = chosen
    assert down.wire.tso_price_eur_per_mwh == -20.0  # what a down provider pays: minus its ask
    assert down.local_mw == 0.0
    assert down.min_quantity_mw == pytest.approx(0.2)
    assert down.for_check() == down.wire


@pytest.mark.parametrize(
    ("node_price", "bid"),
    [(130.0, 130.0), (60.0, 95.0), (None, 95.0)],
    ids=["node-price-above-ask", "ask-above-node-price", "no-node-price"],
)
def test_a_locally_dispatched_up_bid_asks_what_the_local_market_pays(
    node_price: float | None, bid: float
) -> None:
    offer = _offer("o-1")
    local = {("o-1", 18): Dispatched(direction="up", mw=0.5, node_price_eur_per_mwh=node_price)}
    (up, _) = candidates(PLAN, [offer], NEEDS, taken={("o-1", 18)}, reclaimable=local)
    assert (up.wire.period_index, up.wire.direction, up.wire.p_mw) == (18, "up", 2.0)
    assert up.wire.tso_price_eur_per_mwh == bid
    assert up.local_mw == 0.5
    assert up.min_quantity_mw == 0.5  # never activated below its local dispatch
    # The check adds what the TSO's activation adds to the local dispatch at the same node.
    extra = up.for_check()
    assert extra is not None
    assert extra.p_mw == pytest.approx(1.5)


def test_a_locally_dispatched_down_bid_pays_the_tso_at_most_the_node_price() -> None:
    offer = _offer("o-1")
    local = {("o-1", 19): Dispatched(direction="down", mw=1.0, node_price_eur_per_mwh=-40.0)}
    chosen = candidates(PLAN, [offer], NEEDS, taken={("o-1", 19)}, reclaimable=local)
    down = next(c for c in chosen if c.wire.period_index == 19)
    assert down.wire.tso_price_eur_per_mwh == -40.0  # min(-20 ask, -40 node price)
    assert down.for_check() is None  # its whole down volume is its local dispatch: no change


def test_a_dispatch_the_other_way_or_a_block_stays_local() -> None:
    local = {("o-1", 18): Dispatched(direction="down", mw=0.5, node_price_eur_per_mwh=50.0)}
    chosen = candidates(PLAN, [_offer("o-1")], NEEDS, taken={("o-1", 18)}, reclaimable=local)
    assert [c.wire.period_index for c in chosen] == [19]  # the up need does not take it
    block = _offer("o-2", block=True)
    up = {("o-2", 18): Dispatched(direction="up", mw=2.0, node_price_eur_per_mwh=50.0)}
    (b18, _) = candidates(PLAN, [block], NEEDS, taken={("o-2", 18)}, reclaimable=up)
    assert b18.min_quantity_mw == 2.0
    assert b18.for_check() is None
