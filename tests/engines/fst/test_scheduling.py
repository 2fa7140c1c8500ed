"""FST scheduling: known answers of storage arbitrage, market stacking, bids and the outcomes
of bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engines.fst.engine import ScheduleEngine
from engines.fst.schema import (
    FlexibleLoad,
    InflexibleLoad,
    Portfolio,
    PriceForecast,
    Renewable,
    ScheduleInput,
    ScheduleOptions,
    ScheduleResult,
    Storage,
)

pytestmark = pytest.mark.unit


def run(data: ScheduleInput) -> ScheduleResult:
    return ScheduleEngine().run(data, lambda _f, _s: None)


@pytest.mark.parametrize(
    ("power", "energy", "eta_c", "eta_d", "n_low", "n_high"),
    [(1.0, 2.0, 0.9, 0.9, 4, 4), (1.0, 10.0, 0.95, 0.9, 3, 5), (2.0, 3.0, 1.0, 1.0, 2, 1)],
)
def test_two_price_arbitrage_has_the_closed_form_optimum(
    power: float, energy: float, eta_c: float, eta_d: float, n_low: int, n_high: int
) -> None:
    """Low price pL for n_low hours, then pH for n_high hours, storage empty at start. With
    pH * eta_c * eta_d > pL the optimum buys e = min(E / eta_c, P * n_low, P * n_high /
    (eta_c * eta_d)) MWh and sells eta_c * eta_d * e: profit = (pH * eta_c * eta_d - pL) * e."""
    p_low, p_high = 20.0, 80.0
    e = min(energy / eta_c, power * n_low, power * n_high / (eta_c * eta_d))
    expected = (p_high * eta_c * eta_d - p_low) * e
    st = Storage(
        id="b", bus="1", power_mw=power, energy_mwh=energy, eta_charge=eta_c, eta_discharge=eta_d
    )
    prices = PriceForecast(day_ahead_eur_per_mwh=[p_low] * n_low + [p_high] * n_high)
    res = run(
        ScheduleInput(
            portfolio=Portfolio(storages=[st]),
            prices=prices,
            options=ScheduleOptions(markets=["day_ahead"]),
        )
    )
    assert res.status == "optimal"
    assert res.profit_eur == pytest.approx(expected, rel=1e-7)
    bought = -sum(v for v in res.day_ahead_mw if v < 0)
    assert bought == pytest.approx(e, rel=1e-7)
    soc = res.assets[0].soc_mwh
    assert max(soc) <= energy + 1e-9
    assert min(soc) >= -1e-9


def test_negative_prices_do_not_charge_and_discharge_at_once() -> None:
    """At a negative price an LP relaxation would charge and discharge together to burn energy
    in the losses; the binaries forbid it."""
    st = Storage(
        id="b",
        bus="1",
        power_mw=1.0,
        energy_mwh=4.0,
        soc_initial_mwh=2.0,
        eta_charge=0.8,
        eta_discharge=0.8,
    )
    res = run(
        ScheduleInput(
            portfolio=Portfolio(storages=[st]),
            prices=PriceForecast(day_ahead_eur_per_mwh=[-50.0] * 3),
            options=ScheduleOptions(markets=["day_ahead"]),
        )
    )
    assert res.status == "optimal"
    p = np.array(res.assets[0].p_mw)
    soc = np.array([2.0, *res.assets[0].soc_mwh])
    # |net injection| plus the SoC change: with one of charge/discharge zero, the SoC moves by
    # exactly eta_c * charge or discharge / eta_d.
    for k in range(3):
        moved = soc[k + 1] - soc[k]
        assert moved == pytest.approx(-p[k] * 0.8 if p[k] <= 0 else -p[k] / 0.8)


def stacking_case() -> ScheduleInput:
    day = [30.0] * 6 + [60.0] * 6 + [35.0] * 6 + [70.0] * 6
    prices = PriceForecast(
        day_ahead_eur_per_mwh=day,
        reserve_up_eur_per_mw_h=[8.0] * 24,
        reserve_down_eur_per_mw_h=[4.0] * 24,
        dlfm_p_eur_per_mwh={
            "10": [p + (40.0 if 17 <= h <= 20 else 0.0) for h, p in enumerate(day)]
        },
        dlfm_q_eur_per_mvarh={"10": [3.0] * 24},
        dlfm_limit_mw=0.5,
    )
    portfolio = Portfolio(
        storages=[
            Storage(
                id="bat", bus="10", power_mw=1.0, energy_mwh=2.0, soc_initial_mwh=1.0, s_max_mva=1.2
            )
        ],
        flexible_loads=[
            FlexibleLoad(id="hp", bus="12", p_min_mw=0.1, p_max_mw=0.6, energy_mwh=6.0)
        ],
        inflexible_loads=[InflexibleLoad(id="base", bus="12", p_mw=[0.3] * 24)],
        renewables=[
            Renewable(
                id="pv",
                bus="10",
                available_mw=[max(0.0, 0.8 - abs(h - 12) * 0.15) for h in range(24)],
            )
        ],
    )
    return ScheduleInput(
        portfolio=portfolio, prices=prices, options=ScheduleOptions(compare_markets=True)
    )


def test_co_optimised_profit_at_least_every_single_market_and_the_gain_is_reported() -> None:
    res = run(stacking_case())
    assert res.status == "optimal"
    st = res.stacking
    assert st is not None
    alone = {m: v for m, v in st.profit_by_market_alone_eur.items() if v is not None}
    # Reserve alone cannot serve the loads (no energy bought): infeasible, reported as None.
    assert st.profit_by_market_alone_eur["reserve"] is None
    assert alone.keys() == {"day_ahead", "dlfm"}
    assert res.profit_eur is not None
    assert res.revenue is not None
    assert st.co_optimised_profit_eur >= max(alone.values()) - 1e-6
    assert st.best_single_market == max(alone, key=lambda m: alone[m])
    assert st.stacking_gain_eur == pytest.approx(st.co_optimised_profit_eur - max(alone.values()))
    assert st.stacking_gain_eur > 1.0  # reserve, DLFM P and Q add revenue here
    assert res.revenue.reserve_eur > 0
    assert res.revenue.dlfm_q_eur > 0
    # The d-LMP premium of 40 EUR/MWh at bus 10 in hours 17-20 fills the DLFM limit there.
    assert res.dlfm_p_mw["10"][17:21] == pytest.approx([0.5] * 4)
    assert res.profit_eur == pytest.approx(
        res.revenue.day_ahead_eur
        + res.revenue.reserve_eur
        + res.revenue.dlfm_p_eur
        + res.revenue.dlfm_q_eur
        - res.revenue.asset_cost_eur
    )


def test_storage_alone_in_each_market_and_stacked() -> None:
    """A storage-only portfolio can trade in each market alone: co-optimised >= the best."""
    base = stacking_case()
    data = ScheduleInput(
        portfolio=Portfolio(storages=base.portfolio.storages),
        prices=base.prices,
        options=base.options,
    )
    res = run(data)
    st = res.stacking
    assert st is not None
    assert all(v is not None for v in st.profit_by_market_alone_eur.values())
    best = max(v for v in st.profit_by_market_alone_eur.values() if v is not None)
    assert st.co_optimised_profit_eur >= best - 1e-6
    assert st.stacking_gain_eur > 0


def test_schedule_respects_limits_and_energy() -> None:
    data = stacking_case()
    res = run(data)
    by = {a.asset_id: a for a in res.assets}
    hp = -np.array(by["hp"].p_mw)
    assert hp.sum() == pytest.approx(6.0)
    assert hp.min() >= 0.1 - 1e-9
    assert hp.max() <= 0.6 + 1e-9
    bat = by["bat"]
    assert min(bat.soc_mwh) >= -1e-9
    assert max(bat.soc_mwh) <= 2.0 + 1e-9
    assert bat.soc_mwh[-1] >= 1.0 - 1e-9  # ends at least where it started
    for p, q in zip(bat.p_mw, bat.q_mvar, strict=True):
        assert np.hypot(p, q) <= 1.2 + 1e-6
    assert all(abs(v) <= 0.5 + 1e-9 for v in res.dlfm_p_mw["10"])
    # Energy balance each period: physical injections = day-ahead + DLFM deviations.
    for k in range(24):
        injected = sum(a.p_mw[k] for a in res.assets)
        assert injected == pytest.approx(res.day_ahead_mw[k] + res.dlfm_p_mw["10"][k], abs=1e-7)


def test_day_ahead_bid_curves_are_monotone_and_match_the_schedule() -> None:
    """Net supply of a curve at price p: positive steps priced <= p plus negative steps priced
    >= p. It never falls as the price rises; at the forecast price it is the scheduled position
    of the storage (prices strictly away from the water-value thresholds)."""
    st = Storage(id="b", bus="1", power_mw=1.0, energy_mwh=2.0, eta_charge=0.9, eta_discharge=0.9)
    prices = [20.0] * 4 + [80.0] * 4
    res = run(
        ScheduleInput(
            portfolio=Portfolio(storages=[st]),
            prices=PriceForecast(day_ahead_eur_per_mwh=prices),
            options=ScheduleOptions(markets=["day_ahead"]),
        )
    )
    bids = [b for b in res.bids if b.market == "day_ahead"]
    assert len(bids) == 8
    for b in bids:

        def supply(p: float, b=b) -> float:
            return sum(
                s.quantity
                for s in b.steps
                if (s.quantity > 0 and s.price <= p) or (s.quantity < 0 and s.price >= p)
            )

        grid = np.linspace(-100, 200, 61)
        values = [supply(p) for p in grid]
        assert all(a <= c + 1e-12 for a, c in itertools.pairwise(values))
    w = res.water_value_eur_per_mwh["b"]
    assert 20.0 / 0.9 - 1e-6 <= min(w)
    assert max(w) <= 80.0 * 0.9 + 1e-6


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reserve_up_eur_per_mw_h": [1.0] * 5}, "prices.reserve_up_eur_per_mw_h"),
        ({"dlfm_p_eur_per_mwh": {"10": [1.0]}}, "prices.dlfm_p_eur_per_mwh[10]"),
    ],
)
def test_lengths_that_disagree_are_an_error_naming_the_field(
    change: dict[str, object], field: str
) -> None:
    base = stacking_case()
    prices = PriceForecast(
        **{**{f: getattr(base.prices, f) for f in base.prices.__struct_fields__}, **change}
    )  # type: ignore[arg-type]
    res = run(ScheduleInput(portfolio=base.portfolio, prices=prices))
    assert res.status == "error"
    assert field in res.message
    assert not res.assets
    assert res.profit_eur is None


def test_an_impossible_energy_need_is_infeasible_not_an_exception() -> None:
    """A grid limit below the inflexible load: no schedule exists; the outcome says so."""
    data = ScheduleInput(
        portfolio=Portfolio(
            inflexible_loads=[InflexibleLoad(id="l", bus="1", p_mw=[2.0, 2.0])], grid_limit_mw=1.0
        ),
        prices=PriceForecast(day_ahead_eur_per_mwh=[40.0, 40.0]),
    )
    res = run(data)
    assert res.status == "infeasible"


def test_dlfm_bids_become_offers_the_fmct_clearing_accepts() -> None:
    """The schedule's DLFM P bids as FMCT offers on case33bw: valid input, and the up offers
    in the evening are priced at the storage's marginal value of energy (below the d-LMP that
    made them worth scheduling)."""
    import pandapower.networks as pn

    from engines.fmct.clearing import clear
    from engines.fmct.schema import ClearingOptions
    from engines.fst.offers import dlfm_offers, strategic_offers

    data = stacking_case()
    res = run(data)
    offers = dlfm_offers(res, "esp-1")
    evening = [o for o in offers if o.periods[0] in (17, 18, 19, 20)]
    assert len(evening) == 4
    for o in evening:
        assert o.p_up_mw == pytest.approx(0.5)
        assert o.price_p_up_eur_per_mwh < data.prices.dlfm_p_eur_per_mwh["10"][o.periods[0]]
    cleared = clear(
        pn.case33bw(),
        [],
        [],
        [o for o in offers if o.periods == [17]],
        ClearingOptions(v_min_pu=0.85),
    )
    assert cleared.status == "optimal", cleared.message
    assert [s.p_up_mw for s in strategic_offers(evening)] == pytest.approx([0.5] * 4)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lazy_integrality_reaches_the_full_milp_optimum(seed: int) -> None:
    """Cross-check of the two solution paths on prices that swing negative: the lazy scheme
    (LP first, binaries only where a storage both charges and discharges) and HiGHS on the
    full MILP give the same optimum."""
    from engines.fst.scheduling import _build

    rng = np.random.default_rng(seed)
    prices = [float(v) for v in rng.normal(20.0, 40.0, 48)]
    data = ScheduleInput(
        portfolio=Portfolio(
            storages=[
                Storage(
                    id="a",
                    bus="1",
                    power_mw=1.0,
                    energy_mwh=3.0,
                    soc_initial_mwh=1.5,
                    eta_charge=0.85,
                    eta_discharge=0.85,
                ),
                Storage(id="b", bus="2", power_mw=0.5, energy_mwh=1.0, soc_initial_mwh=0.5),
            ]
        ),
        prices=PriceForecast(
            day_ahead_eur_per_mwh=prices,
            reserve_up_eur_per_mw_h=[5.0] * 48,
            reserve_down_eur_per_mw_h=[2.0] * 48,
        ),
    )
    lazy = run(data)
    full = _build(data, 48).lp.solve()
    assert lazy.status == full.status == "optimal"
    assert lazy.profit_eur == pytest.approx(-full.objective, rel=1e-6, abs=1e-6)
