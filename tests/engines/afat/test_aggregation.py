"""Centralised AFAT aggregation: hand-solved optima, every prosumer's constraints in the
result, the offer curve, and the welfare accounts (seed Annex 7.1 outputs)."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from engines.afat.aggregation import aggregate_centralised
from engines.afat.offers import flex_offers
from engines.afat.portfolio import Battery, CurtailableLoad, Prosumer
from engines.afat.schema import AggregationInput, AggregationResult
from gateway.messages.orders import FlexOfferSubmit
from tests.engines.afat._cases import START, evening_request, hourly

pytestmark = pytest.mark.unit


def quiet(fraction: float, stage: str) -> None:
    pass


def run(data: AggregationInput) -> AggregationResult:
    result = aggregate_centralised(data, quiet)
    assert result.status == "optimal", result.message
    return result


def battery_case(volume_mw: float = 0.003) -> AggregationInput:
    battery = Battery(
        capacity_kwh=10,
        soc_initial_kwh=5,
        p_charge_max_kw=5,
        p_discharge_max_kw=5,
        efficiency_charge=0.9,
        efficiency_discharge=0.9,
        degradation_eur_per_mwh=20,
    )
    return hourly(
        [Prosumer(id="a", inflexible_kw=[1, 1, 4, 1], battery=battery)],
        energy=[50, 50, 50, 50],
        volume_mw=[0, 0, volume_mw, 0],
        price=[0, 0, 100, 0],
        offer_steps=4,
    )


def test_battery_known_optimum() -> None:
    """By hand: discharge 3 kW in slot 2 (SoC falls by 3 / 0.9), recharge 3 / 0.81 kWh in
    the last slot to end at the initial SoC. Revenue 3 kWh x 100 EUR/MWh, extra energy
    (3 / 0.81 - 3) kWh x 50 EUR/MWh, wear 3 kWh x 20 EUR/MWh."""
    result = run(battery_case())
    extra = 3 / 0.81 - 3
    assert result.flexibility_revenue_eur == pytest.approx(0.3)
    assert result.energy_cost_change_eur == pytest.approx(extra * 0.05)
    assert result.discomfort_eur == pytest.approx(0.06)
    assert result.social_welfare_eur == pytest.approx(0.3 - extra * 0.05 - 0.06)
    (schedule,) = result.optimal_prosumption_schedules
    # The energy price is flat, so recharging before or after the event is a tie (solvers
    # break it apart); the event slot and the final SoC are not.
    soc = schedule.battery_soc_kwh
    assert soc[2] - soc[1] == pytest.approx(-3 / 0.9, abs=1e-4)
    assert soc[3] == pytest.approx(5, abs=1e-4)
    # One step at the exact marginal cost per MWh: extra energy and wear per MWh sold.
    (step,) = result.offer_steps
    assert step.p_mw == pytest.approx(0.003)
    assert step.price_eur_per_mwh == pytest.approx(50 / 0.81 - 50 + 20, abs=1e-4)


def curtailable_case(volume_mw: float) -> AggregationInput:
    load = CurtailableLoad(
        demand_kw=[4, 0], max_curtail_fraction=1.0, discomfort_eur_per_mwh=[35, 85]
    )
    return hourly(
        [Prosumer(id="hp", inflexible_kw=[0.5, 0.5], curtailable=load)],
        energy=[0, 0],
        volume_mw=[volume_mw, 0],
        price=[100, 0],
        offer_steps=10,
    )


def test_curtailable_offer_steps_are_its_discomfort_segments() -> None:
    """Two 2 kW segments at 35 and 85 EUR/MWh, buyer's price 100: the curve is those
    segments at those prices, and all 4 kW are sold."""
    result = run(curtailable_case(volume_mw=0.010))
    assert [(s.p_mw, s.price_eur_per_mwh) for s in result.offer_steps] == [
        pytest.approx((0.002, 35.0)),
        pytest.approx((0.002, 85.0)),
    ]
    assert result.social_welfare_eur == pytest.approx(0.4 - 0.07 - 0.17)


def test_binding_volume_prices_flexibility_at_the_marginal_segment() -> None:
    """3 kW asked: the marginal kW comes from the 85 EUR/MWh segment, so prosumers are paid
    85 per MWh and the aggregator keeps (100 - 85) per MWh: 0.045 EUR."""
    result = run(curtailable_case(volume_mw=0.003))
    assert result.flexibility_mw[0] == pytest.approx(0.003)
    assert result.internal_price_eur_per_mwh[0] == pytest.approx(85.0)
    assert result.aggregator_profit_eur == pytest.approx(0.045)
    assert result.aggregated_users_welfare_eur == pytest.approx(0.255 - 0.155)
    assert result.social_welfare_eur == pytest.approx(0.3 - 0.155)


@pytest.fixture(scope="module")
def portfolio_result() -> tuple[AggregationInput, AggregationResult]:
    data = evening_request(40, seed=7, volume_mw=0.02, offer_steps=5, offer_markup_fraction=0.1)
    return data, run(data)


def test_every_prosumer_constraint_holds(
    portfolio_result: tuple[AggregationInput, AggregationResult],
) -> None:
    data, result = portfolio_result
    dt, tol = data.slot_hours, 1e-6
    by_id = {s.id: s for s in result.optimal_prosumption_schedules}
    assert len(by_id) == len(data.prosumers)
    checked = {"battery": 0, "ev": 0, "shiftable": 0, "curtailable": 0, "pv": 0}
    for p in data.prosumers:
        s = by_id[p.id]
        rebuilt = list(p.inflexible_kw)
        if p.battery is not None:
            b, checked["battery"] = p.battery, checked["battery"] + 1
            soc = [b.soc_initial_kwh, *s.battery_soc_kwh]
            for t, power in enumerate(s.battery_kw):
                assert b.soc_min_kwh - 1e-3 <= soc[t + 1] <= b.soc_upper_kwh + 1e-3
                assert -b.p_discharge_max_kw - tol <= power <= b.p_charge_max_kw + tol
                step = (
                    power * dt * b.efficiency_charge
                    if power > 0
                    else power * dt / b.efficiency_discharge
                )
                assert soc[t + 1] - soc[t] == pytest.approx(step, abs=1e-3)
                rebuilt[t] += power
            assert soc[-1] >= b.soc_final_kwh - 1e-3
        if p.ev is not None:
            ev, checked["ev"] = p.ev, checked["ev"] + 1
            for t, power in enumerate(s.ev_kw):
                inside = ev.arrival_slot <= t < ev.departure_slot
                assert -tol <= power <= (ev.p_max_kw if inside else 0) + tol
                rebuilt[t] += power
            assert sum(s.ev_kw) * dt * ev.efficiency == pytest.approx(ev.energy_need_kwh, abs=1e-3)
        for load in p.shiftable:
            checked["shiftable"] += 1
            for t, power in enumerate(s.shiftable_kw):
                inside = load.earliest_slot <= t < load.latest_end_slot
                assert -tol <= power <= (load.p_max_kw if inside else 0) + tol
                rebuilt[t] += power
            assert sum(s.shiftable_kw) == pytest.approx(sum(load.profile_kw), abs=1e-3)
        if p.curtailable is not None:
            c, checked["curtailable"] = p.curtailable, checked["curtailable"] + 1
            for t, cut in enumerate(s.curtailed_kw):
                assert -tol <= cut <= c.max_curtail_fraction * c.demand_kw[t] + 1e-3
                rebuilt[t] += c.demand_kw[t] - cut
        if p.pv is not None:
            checked["pv"] += 1
            for t, spill in enumerate(s.pv_curtailed_kw):
                assert -tol <= spill <= p.pv.forecast_kw[t] + 1e-3
                rebuilt[t] += spill - p.pv.forecast_kw[t]
        assert s.prosumption_kw == pytest.approx(rebuilt, abs=1e-3)
    assert all(checked.values()), checked  # the sample exercises every asset type
    volume = data.request.volume_mw
    for t, flex in enumerate(result.flexibility_mw):
        if volume[t] > 0:
            assert -1e-9 <= flex <= volume[t] + 1e-9


def test_offer_curve_is_monotone_and_ends_at_the_response(
    portfolio_result: tuple[AggregationInput, AggregationResult],
) -> None:
    data, result = portfolio_result
    assert result.offer_steps
    slots = sorted({s.slot for s in result.offer_steps})
    for slot in slots:
        steps = [s for s in result.offer_steps if s.slot == slot]
        prices = [s.price_eur_per_mwh for s in steps]
        cumulative = [s.cumulative_mw for s in steps]
        assert prices == sorted(prices)
        assert len(set(prices)) == len(prices)
        assert cumulative == sorted(cumulative)
        assert all(s.p_mw > 0 for s in steps)
        assert sum(s.p_mw for s in steps) == pytest.approx(cumulative[-1], abs=1e-9)
        assert cumulative[-1] == pytest.approx(result.flexibility_mw[slot], abs=1e-6)
        assert prices[-1] <= 1.1 * data.request.price_eur_per_mwh[slot] + 1e-6
    # Incremental-cost pricing: paying every step as bid returns the portfolio's cost of the
    # response (extra energy, discomfort and wear) times (1 + markup).
    paid = sum(s.price_eur_per_mwh * s.p_mw * data.slot_hours for s in result.offer_steps)
    cost = result.energy_cost_change_eur + result.discomfort_eur
    assert paid == pytest.approx(1.1 * cost, rel=1e-4)


def test_welfare_accounts_add_up_and_no_prosumer_loses(
    portfolio_result: tuple[AggregationInput, AggregationResult],
) -> None:
    _, r = portfolio_result
    assert r.social_welfare_eur > 0
    assert r.social_welfare_eur == pytest.approx(
        r.aggregated_users_welfare_eur + r.aggregator_profit_eur
    )
    assert r.social_welfare_eur == pytest.approx(
        r.flexibility_revenue_eur - r.energy_cost_change_eur - r.discomfort_eur
    )
    assert r.aggregated_users_welfare_eur == pytest.approx(
        sum(u.welfare_eur for u in r.users_welfare)
    )
    assert r.aggregator_profit_eur == pytest.approx(
        r.flexibility_revenue_eur - sum(u.payment_eur for u in r.users_welfare)
    )
    # Prosumers are paid the portfolio's marginal value: each is at least as well off as in
    # its baseline (individual rationality of the internal prices).
    assert min(u.welfare_eur for u in r.users_welfare) >= -1e-6


def test_down_request_raises_consumption() -> None:
    base = battery_case()
    data = msgspec.structs.replace(
        base, request=msgspec.structs.replace(base.request, direction="down")
    )
    result = run(data)
    assert result.flexibility_mw[2] == pytest.approx(0.003)
    assert result.prosumption_mw[2] == pytest.approx(result.baseline_mw[2] + 0.003)


def test_offers_become_flex_offer_submissions(
    portfolio_result: tuple[AggregationInput, AggregationResult],
) -> None:
    _, result = portfolio_result
    offers = flex_offers(result, "session-1", valid_until=START + timedelta(hours=12))
    assert len(offers) == len(result.offer_steps)
    for offer, step in zip(offers, result.offer_steps, strict=True):
        # Round-trips through the gateway's own decoder (its validation included).
        again = msgspec.json.decode(msgspec.json.encode(offer), type=FlexOfferSubmit)
        assert again.node_mrid == "node-1"
        assert again.p_up_mw == pytest.approx(step.p_mw, abs=1e-6)
        assert again.price_p_up_eur_per_mwh == pytest.approx(step.price_eur_per_mwh, abs=1e-4)
        (window,) = again.delivery_windows
        assert window.start == step.start
        assert window.periods == 1


def test_bad_portfolio_is_rejected_with_where() -> None:
    data = msgspec.to_builtins(battery_case())
    data["prosumers"][0]["inflexible_kw"] = [1, 1]
    with pytest.raises(
        msgspec.ValidationError, match=r"prosumers\[0\] \(a\)\.inflexible_kw: 2 values for 4 slots"
    ):
        msgspec.convert(data, AggregationInput)


def test_decomposition_matches_the_single_lp(
    portfolio_result: tuple[AggregationInput, AggregationResult],
) -> None:
    """Dantzig-Wolfe over chunks of 7 prosumers and one LP of all 40: the same optimum."""
    data, single = portfolio_result
    options = msgspec.structs.replace(
        data.options, centralised_solver="decomposed", chunk_prosumers=7
    )
    split = run(msgspec.structs.replace(data, options=options))
    assert "pricing rounds" in split.condition
    assert split.social_welfare_eur == pytest.approx(single.social_welfare_eur, rel=1e-6)
    # Requested slots only: where the rebound lands is a tie the two solvers may break apart.
    asked = [t for t, v in enumerate(data.request.volume_mw) if v > 0]
    assert [split.flexibility_mw[t] for t in asked] == pytest.approx(
        [single.flexibility_mw[t] for t in asked], abs=1e-8
    )
    assert [s.cumulative_mw for s in split.offer_steps] == pytest.approx(
        [s.cumulative_mw for s in single.offer_steps], abs=1e-6
    )
    assert min(u.welfare_eur for u in split.users_welfare) >= -1e-6
    assert split.social_welfare_eur == pytest.approx(
        split.aggregated_users_welfare_eur + split.aggregator_profit_eur
    )
