"""Contract of the BalancingMarket port (emulator and NATS client): merit order, pay-as-cleared.

Expected activations are worked out by hand from the rules of the MARI/PICASSO implementation
frameworks (ACER decisions 03/2020 and 02/2020: merit order, marginal "pay-as-cleared" price)."""

from __future__ import annotations

import pytest

from adapters.base import BalancingMarket
from adapters.errors import MarketInputError
from gateway.messages.balancing import BalancingAuction, BalancingBid, ImbalanceNeed
from tests.adapters._orders import START

pytestmark = pytest.mark.integration


def bid(bid_id: str, direction: str, mw: float, price: float, min_mw: float = 0.0,
        period: int = 0) -> BalancingBid:  # fmt: skip
    return BalancingBid(
        id=bid_id, bsp_id=f"bsp-{bid_id}", direction=direction,  # type: ignore[arg-type]
        period_index=period, quantity_mw=mw, min_quantity_mw=min_mw, price_eur_per_mwh=price,
        location="DSO-north:bus-12",
    )  # fmt: skip


def auction(needs: dict[int, float], bids: list[BalancingBid]) -> BalancingAuction:
    return BalancingAuction(
        auction_id="bal-1",
        product="mFRR",
        delivery_start=START,
        needs=[ImbalanceNeed(period_index=p, need_mw=n) for p, n in needs.items()],
        bids=bids,
    )


UP = [bid("A", "up", 20, 50), bid("B", "up", 30, 60), bid("C", "up", 20, 55, min_mw=20),
      bid("D", "up", 10, 45), bid("E", "down", 50, 10)]  # fmt: skip


async def test_satisfies_the_protocol(balancing: BalancingMarket) -> None:
    assert isinstance(balancing, BalancingMarket)


async def test_up_need_in_merit_order_at_marginal_price(balancing: BalancingMarket) -> None:
    result = await balancing.activate(auction({0: 50.0}, UP))
    assert result.status == "optimal"
    got = {a.bid_id: a.activated_mw for a in result.activations}
    assert got == {"D": 10.0, "A": 20.0, "C": 20.0}
    assert {a.price_eur_per_mwh for a in result.activations} == {55.0}
    # 15-minute periods: energy = MW / 4, everybody paid the marginal 55 EUR/MWh
    assert {a.bid_id: a.amount_eur for a in result.activations} == pytest.approx(
        {"D": 10 * 55 / 4, "A": 20 * 55 / 4, "C": 20 * 55 / 4}
    )


async def test_indivisible_bid_that_does_not_fit_is_passed_over(balancing: BalancingMarket) -> None:
    result = await balancing.activate(auction({0: 35.0}, UP))
    got = {a.bid_id: a.activated_mw for a in result.activations}
    assert got == {"D": 10.0, "A": 20.0, "B": 5.0}
    (period,) = result.periods
    assert period.skipped_bids == ["C"]
    assert period.marginal_price_eur_per_mwh == 60.0


async def test_down_need_highest_price_first_and_bsps_pay(balancing: BalancingMarket) -> None:
    bids = [bid("E", "down", 20, 10), bid("F", "down", 20, 5), bid("G", "down", 20, -3)]
    result = await balancing.activate(auction({0: -30.0}, bids))
    got = {a.bid_id: a.activated_mw for a in result.activations}
    assert got == {"E": 20.0, "F": 10.0}
    assert {a.bid_id: a.amount_eur for a in result.activations} == pytest.approx(
        {"E": -20 * 5 / 4, "F": -10 * 5 / 4}
    )


async def test_short_market_reports_unsatisfied_need(balancing: BalancingMarket) -> None:
    result = await balancing.activate(auction({0: 100.0, 1: 0.0}, UP))
    assert result.status == "infeasible"
    first, second = result.periods
    assert first.activated_mw == 80.0
    assert first.unsatisfied_mw == pytest.approx(20.0)
    assert second.activated_mw == 0.0
    assert second.marginal_price_eur_per_mwh is None


async def test_bid_without_need_is_refused(balancing: BalancingMarket) -> None:
    bids = [bid("A", "up", 20, 50, period=3), bid("A", "up", 5, 50, min_mw=9)]
    with pytest.raises(MarketInputError) as caught:
        await balancing.activate(auction({0: 10.0}, bids))
    assert {e.location for e in caught.value.errors} == {
        "$.bids[0].period_index", "$.bids[1].id", "$.bids[1].min_quantity_mw"
    }  # fmt: skip
