"""Contract of the WholesaleMarket port, run against the emulator and its NATS client alike."""

from __future__ import annotations

import warnings

import pandapower as pp
import pytest

from adapters.base import WholesaleMarket
from adapters.errors import MarketInputError
from engines.markets.dcgrid import load_case
from gateway.messages.wholesale import AreaWithdrawal
from tests.adapters._orders import auction, buy, case_generators_linear, sell

pytestmark = pytest.mark.integration


async def test_satisfies_the_protocol(wholesale: WholesaleMarket) -> None:
    assert isinstance(wholesale, WholesaleMarket)


async def test_textbook_double_auction_at_one_bus(wholesale: WholesaleMarket) -> None:
    """No other load (scaling 0): sellers 10@20, 10@30, 10@40 and a buyer 15@35 meet at the second
    seller's price, 30 EUR/MWh; welfare = 15*35 - (10*20 + 5*30) = 175 EUR."""
    orders = [sell("s1", "4", 10, 20), sell("s2", "4", 10, 30), sell("s3", "4", 10, 40),
              buy("b1", "4", 15, 35)]  # fmt: skip
    result = await wholesale.clear(
        auction(orders, system_load_scaling=[0.0], coupling_buses=["4", "20"])
    )
    assert result.status == "optimal"
    (period,) = result.periods
    accepted = {a.order_id: a.accepted_mw for a in period.awards}
    assert accepted == pytest.approx({"s1": 10.0, "s2": 5.0, "s3": 0.0, "b1": 15.0}, abs=1e-6)
    assert period.coupling_prices_eur_per_mwh == pytest.approx({"4": 30.0, "20": 30.0})
    assert result.welfare_eur == pytest.approx(175.0)
    paid = {a.order_id: a.amount_eur for a in period.awards}
    assert paid["b1"] == pytest.approx(-15 * 30.0)
    assert paid["s1"] == pytest.approx(10 * 30.0)


async def test_congested_case30_prices_match_rundcopp(wholesale: WholesaleMarket) -> None:
    """case30 at 120 % load with linear costs congests a line: the auction's locational prices and
    cost equal pandapower's DC-OPF on the same data."""
    net = load_case("case30")
    net.load.p_mw *= 1.2
    net.poly_cost.cp2_eur_per_mw2 = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.rundcopp(net)
    buses = [str(b) for b in net.bus.index]
    result = await wholesale.clear(
        auction(case_generators_linear("case30"), system_load_scaling=[1.2], coupling_buses=buses)
    )
    assert result.status == "optimal"
    (period,) = result.periods
    assert period.congested_branches
    assert result.generation_cost_eur == pytest.approx(float(net.res_cost), rel=1e-6)
    for bus in buses:
        reference = float(net.res_bus.lam_p.at[int(bus)])
        assert period.coupling_prices_eur_per_mwh[bus] == pytest.approx(reference, abs=1e-3)
    assert period.max_price_eur_per_mwh > period.min_price_eur_per_mwh + 1.0
    assert result.congestion_rent_eur is not None
    assert result.congestion_rent_eur > 0


async def test_block_accepted_only_when_it_fits_every_period(wholesale: WholesaleMarket) -> None:
    """A 10 MW block over periods 0-1 at 25 beats 30 EUR/MWh steps when both periods can take it,
    and is rejected (all or nothing) when period 1 buys only 5 MW."""
    steps = [sell("s0", "4", 20, 30, [0]), sell("s1", "4", 20, 30, [1])]
    block = sell("blk", "4", 10, 25, [0, 1], block=True)
    fits = [*steps, block, buy("b0", "4", 10, 50, [0]), buy("b1", "4", 10, 50, [1])]
    result = await wholesale.clear(auction(fits, periods=2, system_load_scaling=[0.0, 0.0]))
    blk = [a for p in result.periods for a in p.awards if a.order_id == "blk"]
    assert [a.accepted_mw for a in blk] == pytest.approx([10.0, 10.0])
    assert result.welfare_eur == pytest.approx(2 * 10 * (50 - 25))

    short = [*steps, block, buy("b0", "4", 10, 50, [0]), buy("b1", "4", 5, 50, [1])]
    result = await wholesale.clear(auction(short, periods=2, system_load_scaling=[0.0, 0.0]))
    blk = [a for p in result.periods for a in p.awards if a.order_id == "blk"]
    assert [a.accepted_mw for a in blk] == pytest.approx([0.0, 0.0], abs=1e-9)
    assert result.welfare_eur == pytest.approx(10 * 20 + 5 * 20)


async def test_unservable_load_is_an_infeasible_outcome(wholesale: WholesaleMarket) -> None:
    result = await wholesale.clear(auction([sell("s1", "4", 10, 20)]))
    assert result.status == "infeasible"
    assert result.periods == []


async def test_unknown_bus_and_period_are_refused_with_locations(
    wholesale: WholesaleMarket,
) -> None:
    bad = [sell("s1", "4", 10, 20), sell("s2", "999", 10, 20), sell("s3", "4", 10, 20, [3])]
    with pytest.raises(MarketInputError) as caught:
        await wholesale.clear(auction(bad, coupling_buses=["31"]))
    locations = {e.location for e in caught.value.errors}
    assert locations == {"$.orders[1].bus", "$.orders[2].periods", "$.coupling_buses[0]"}
    assert caught.value.problem.status == 422


async def test_area_withdrawal_is_inelastic_demand_at_its_bus(wholesale: WholesaleMarket) -> None:
    """A distribution area's scheduled exchange at its coupling bus: 15 MW withdrawn (no buyer)
    takes s1 and half of s2 at 30 EUR/MWh and pays that price; 5 MW injected serves part of a
    12 MW buyer, so s1 is marginal at 20 EUR/MWh."""
    steps = [sell("s1", "4", 10, 20), sell("s2", "4", 10, 30), sell("s3", "4", 10, 40)]
    withdraws = await wholesale.clear(auction(
        steps, system_load_scaling=[0.0], coupling_buses=["4"],
        area_withdrawals=[AreaWithdrawal(bus="4", period_index=0, p_mw=15.0)],
    ))  # fmt: skip
    assert withdraws.status == "optimal"
    (period,) = withdraws.periods
    accepted = {a.order_id: a.accepted_mw for a in period.awards}
    assert accepted == pytest.approx({"s1": 10.0, "s2": 5.0, "s3": 0.0}, abs=1e-6)
    assert period.coupling_prices_eur_per_mwh == pytest.approx({"4": 30.0})
    assert withdraws.generation_cost_eur == pytest.approx(10 * 20 + 5 * 30)
    assert withdraws.congestion_rent_eur == pytest.approx(0.0, abs=1e-6)

    injects = await wholesale.clear(auction(
        [*steps, buy("b1", "4", 12, 35)], system_load_scaling=[0.0], coupling_buses=["4"],
        area_withdrawals=[AreaWithdrawal(bus="4", period_index=0, p_mw=-5.0)],
    ))  # fmt: skip
    (period,) = injects.periods
    accepted = {a.order_id: a.accepted_mw for a in period.awards}
    assert accepted == pytest.approx({"s1": 7.0, "s2": 0.0, "s3": 0.0, "b1": 12.0}, abs=1e-6)
    assert period.coupling_prices_eur_per_mwh == pytest.approx({"4": 20.0})
    assert injects.welfare_eur == pytest.approx(12 * 35 - 7 * 20)


async def test_bad_area_withdrawals_are_refused_with_locations(
    wholesale: WholesaleMarket,
) -> None:
    withdrawals = [AreaWithdrawal(bus="999", period_index=0, p_mw=1.0),
                   AreaWithdrawal(bus="4", period_index=3, p_mw=1.0),
                   AreaWithdrawal(bus="4", period_index=0, p_mw=1.0),
                   AreaWithdrawal(bus="4", period_index=0, p_mw=2.0)]  # fmt: skip
    with pytest.raises(MarketInputError) as caught:
        await wholesale.clear(auction([sell("s1", "4", 10, 20)], area_withdrawals=withdrawals))
    locations = {e.location for e in caught.value.errors}
    assert locations == {
        "$.area_withdrawals[0].bus",
        "$.area_withdrawals[1].period_index",
        "$.area_withdrawals[3]",
    }
