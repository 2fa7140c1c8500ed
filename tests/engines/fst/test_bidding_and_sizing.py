"""DLFM bidding against the FMCT clearing, and sizing/siting on the 33-bus Baran-Wu feeder
(pandapower `case33bw`) with line 5 (bus 5 -> 6) rated below its base-case current."""

from __future__ import annotations

import pandapower as pp
import pandapower.networks as pn
import pytest

from engines.fmct.schema import ClearingOptions
from engines.fst.engine import BiddingEngine, SizingEngine
from engines.fst.schema import (
    BiddingInput,
    Candidate,
    PriceLevel,
    Scenario,
    SizingInput,
    StrategicOffer,
)
from engines.fst.sizing import annuity_factor
from tests.engines._fmct_cases import DOWNSTREAM_OF_LINE_5, UPSTREAM_OF_LINE_5, offer

pytestmark = pytest.mark.unit
OPTIONS = ClearingOptions(v_min_pu=0.85)


def line_5_rating(share: float) -> dict[str, float]:
    probe = pn.case33bw()
    pp.runpp(probe, numba=False)
    return {"5": float(probe.res_line.at[5, "i_ka"]) * share}


def test_best_response_beats_price_taking_and_stays_below_the_rival() -> None:
    """Line 5 is overloaded; the ESP's up offer at bus 10 (cost 30) and a rival's at bus 14
    (60) can relieve it. Price-taking at cost earns nothing at the nodal price its own offer
    sets; the best response raises the price towards the rival's loss-adjusted price (above
    the ESP's cost, below 60) and earns a margin on the same volume."""
    data = BiddingInput(
        line_max_i_ka=line_5_rating(0.9),
        competitors=[
            offer("rival@14", "14", up=2.0, pu=60.0),
            offer("down@2", "2", down=2.0, pd=10.0),
        ],
        esp_offers=[
            StrategicOffer(
                id="esp@10", seller_id="esp", bus="10", p_up_mw=1.0, cost_up_eur_per_mwh=30.0
            )
        ],
        options=OPTIONS,
        markups=[1.0],
        refine_steps=4,
        max_rounds=3,
    )
    res = BiddingEngine().run(data, lambda _f, _s: None)
    assert res.status == "optimal", res.message
    assert res.price_taking is not None
    assert res.best_response is not None
    (taking,) = res.price_taking.sellers
    (strategic,) = res.best_response.sellers
    assert taking.profit_eur == pytest.approx(0.0, abs=1e-3)  # paid its own marginal cost
    assert taking.dispatched_mwh > 0.05
    assert strategic.profit_eur > taking.profit_eur + 1.0
    assert res.strategic_gain_eur == pytest.approx(strategic.profit_eur - taking.profit_eur)
    assert 30.0 < strategic.price_up_eur_per_mwh < 60.0
    assert strategic.dispatched_mwh == pytest.approx(taking.dispatched_mwh, rel=1e-3)
    assert res.converged


def sizing_case(share: float) -> SizingInput:
    night = PriceLevel(load_scaling=0.6, upstream_price_eur_per_mwh=20.0)
    peak = PriceLevel(load_scaling=1.0, upstream_price_eur_per_mwh=60.0)
    hours = [night] * 8 + [peak] * 4 + [night] * 4 + [peak] * 8

    def storage(bus: str, capex_per_mw: float) -> Candidate:
        return Candidate(
            id=f"st@{bus}",
            bus=bus,
            technology="storage",
            max_mw=0.5,
            capex_eur_per_mw=capex_per_mw,
            capex_eur_per_mwh=50_000,
            duration_h=2,
        )

    return SizingInput(
        line_max_i_ka=line_5_rating(share),
        existing_offers=[
            offer("up@10", "10", up=2.0, pu=120.0),
            offer("up@1", "1", up=5.0, pu=45.0),
            offer("down@2", "2", down=2.0, pd=-20.0),
        ],
        clearing=OPTIONS,
        scenarios=[Scenario(name="weekday", days_per_year=365, hours=hours)],
        # The downstream site costs more to build: a network-blind plan goes upstream.
        candidates=[storage("14", 110_000), storage("24", 100_000), storage("30", 100_000)],
        max_sites=1,
        horizon_years=15,
        discount_rate=0.06,
    )


def test_with_a_binding_line_siting_prefers_the_congested_area() -> None:
    res = SizingEngine().run(sizing_case(0.9), lambda _f, _s: None)
    assert res.status == "optimal", res.message
    assert res.binding_lines["weekday"] == ["line:5"]
    assert res.nodal is not None
    assert res.uniform is not None
    (site,) = res.nodal.assets
    assert site.bus in DOWNSTREAM_OF_LINE_5
    (blind,) = res.uniform.assets
    assert blind.bus in UPSTREAM_OF_LINE_5
    assert res.network_effect_eur > 0
    # NPV and payback as defined: -CAPEX + annuity x annual cash flow; CAPEX / cash flow.
    factor = annuity_factor(15, 0.06, 0.0)
    assert res.nodal.npv_eur == pytest.approx(
        -res.nodal.capex_eur + factor * res.nodal.annual_cash_flow_eur, rel=1e-6
    )
    assert res.nodal.payback_years == pytest.approx(
        res.nodal.capex_eur / res.nodal.annual_cash_flow_eur
    )
    prices = res.nodal_prices_eur_per_mwh["weekday"]
    assert max(prices["14"]) > max(prices["24"]) + 30  # congestion rent behind line 5


def test_without_the_binding_line_the_downstream_premium_disappears() -> None:
    res = SizingEngine().run(sizing_case(3.0), lambda _f, _s: None)
    assert res.status == "optimal", res.message
    assert res.binding_lines["weekday"] == []
    prices = res.nodal_prices_eur_per_mwh["weekday"]
    assert max(prices["14"]) < max(prices["24"]) + 10  # only losses separate them
    assert res.nodal is not None
    congested = SizingEngine().run(sizing_case(0.9), lambda _f, _s: None).nodal
    assert congested is not None
    assert res.nodal.npv_eur < congested.npv_eur


def test_unknown_line_is_an_error_naming_it() -> None:
    data = sizing_case(0.9)
    import msgspec

    bad = msgspec.structs.replace(data, line_max_i_ka={"99": 0.1})
    res = SizingEngine().run(bad, lambda _f, _s: None)
    assert res.status == "error"
    assert "99" in res.message


@pytest.mark.parametrize(("years", "rate"), [(15, 0.06), (20, 0.08), (1, 0.1)])
def test_annuity_factor_is_the_textbook_present_value(years: int, rate: float) -> None:
    """(1 - (1 + r)^-N) / r, the present value of N yearly payments of 1 (Brealey, Myers &
    Allen, Principles of Corporate Finance, ch. 2); with growth g, sum (1+g)^(k-1)/(1+r)^k."""
    assert annuity_factor(years, rate, 0.0) == pytest.approx((1 - (1 + rate) ** -years) / rate)
    g = 0.02
    assert annuity_factor(years, rate, g) == pytest.approx(
        (1 - ((1 + g) / (1 + rate)) ** years) / (rate - g)
    )


def test_pv_is_sized_to_its_limit_when_its_margin_pays_and_the_npv_adds_up() -> None:
    """A PV candidate downstream of the binding line sells at the local d-LMP: its annual margin
    is days x sum_h price_h x availability_h x size (no storage, no curtailment at positive
    prices); NPV = -CAPEX + annuity x (margin - O&M)."""
    import msgspec

    base = sizing_case(0.9)
    availability = [0.0] * 7 + [0.3, 0.6, 0.8, 0.9, 1.0, 1.0, 0.9, 0.8, 0.6, 0.3] + [0.0] * 7
    pv = Candidate(
        id="pv@15",
        bus="15",
        technology="pv",
        max_mw=1.0,
        capex_eur_per_mw=300_000,
        fixed_om_eur_per_mw_year=5_000,
    )
    data = msgspec.structs.replace(
        base,
        candidates=[pv],
        scenarios=[msgspec.structs.replace(base.scenarios[0], pv_availability=availability)],
    )
    res = SizingEngine().run(data, lambda _f, _s: None)
    assert res.status == "optimal", res.message
    assert res.nodal is not None
    (site,) = res.nodal.assets
    assert site.size_mw == pytest.approx(1.0)
    prices = res.nodal_prices_eur_per_mwh["weekday"]["15"]
    margin = 365 * sum(p * a for p, a in zip(prices, availability, strict=True)) - 5_000
    assert site.annual_margin_eur == pytest.approx(margin, rel=1e-6)
    factor = annuity_factor(15, 0.06, 0.0)
    assert res.nodal.npv_eur == pytest.approx(-300_000 + factor * margin, rel=1e-6)


def test_two_strategic_sellers_settle_in_a_best_response_equilibrium() -> None:
    """Two ESPs downstream of the binding line (buses 10 and 13, costs 30 and 35) compete for
    the relief; the up offer at bus 1 is upstream and cannot help. Iterated best responses end
    in a round where neither changes its price (converged), each earning at least what it
    earned offering at cost, and the relief bought is the same volume as under price-taking."""
    data = BiddingInput(
        line_max_i_ka=line_5_rating(0.9),
        competitors=[offer("down@2", "2", down=2.0, pd=10.0), offer("up@1", "1", up=2.0, pu=5.0)],
        esp_offers=[
            StrategicOffer(
                id="a@10", seller_id="a", bus="10", p_up_mw=1.0, cost_up_eur_per_mwh=30.0
            ),
            StrategicOffer(
                id="b@13", seller_id="b", bus="13", p_up_mw=1.0, cost_up_eur_per_mwh=35.0
            ),
        ],
        options=OPTIONS,
        markups=[0.5, 1.0],
        refine_steps=2,
        max_rounds=6,
    )
    res = BiddingEngine().run(data, lambda _f, _s: None)
    assert res.status == "optimal", res.message
    assert res.converged
    assert res.price_taking is not None
    assert res.best_response is not None
    taking = {s.seller_id: s for s in res.price_taking.sellers}
    strategic = {s.seller_id: s for s in res.best_response.sellers}
    for seller in ("a", "b"):
        assert strategic[seller].profit_eur >= taking[seller].profit_eur - 1e-6
    total = sum(s.dispatched_mwh for s in strategic.values())
    assert total == pytest.approx(sum(s.dispatched_mwh for s in taking.values()), rel=0.05)
    assert res.best_response.esp_profit_eur > res.price_taking.esp_profit_eur
