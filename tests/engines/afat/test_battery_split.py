"""The solvers that treat batteries apart from the single LP (`battery_split`: batteries priced
by column generation; `storage_window`: batteries reduced to the request's window with exact SoC
value functions; `prosumer_columns`: every prosumer block priced by column generation, batteries
by the SoC dynamic programme): the single LP's optimum, battery schedules that keep their
constraints, and the hand-solved battery case."""

from __future__ import annotations

import msgspec
import pytest

from engines.afat.aggregation import aggregate_centralised
from engines.afat.schema import AggregationInput, AggregationResult
from tests.engines.afat._cases import evening_request
from tests.engines.afat.test_aggregation import battery_case

pytestmark = pytest.mark.unit


def quiet(fraction: float, stage: str) -> None:
    pass


def run(data: AggregationInput, solver: str) -> AggregationResult:
    options = msgspec.structs.replace(data.options, centralised_solver=solver, chunk_prosumers=16)
    result = aggregate_centralised(msgspec.structs.replace(data, options=options), quiet)
    assert result.status == "optimal", result.message
    return result


SOLVERS = {
    "battery_split": "battery pricing rounds",
    "storage_window": "optimal",
    "prosumer_columns": "pricing rounds",
}


@pytest.fixture(scope="module", params=sorted(SOLVERS))
def both(
    request: pytest.FixtureRequest,
) -> tuple[AggregationInput, AggregationResult, AggregationResult]:
    data = evening_request(300, seed=11, volume_mw=0.12, offer_steps=5)
    # The sample's sinusoidal price repeats values (hours t and 12 - t), so the baseline has
    # ties (a battery may charge in either hour) and welfare, measured against the baseline,
    # would depend on how a solver breaks them. A small ramp makes the baseline unique.
    energy = [p + 0.37 * t for t, p in enumerate(data.energy_price_eur_per_mwh)]
    data = msgspec.structs.replace(data, energy_price_eur_per_mwh=energy)
    return data, run(data, "single_lp"), run(data, request.param)


def test_same_optimum_as_the_single_lp(
    both: tuple[AggregationInput, AggregationResult, AggregationResult],
    request: pytest.FixtureRequest,
) -> None:
    data, single, split = both
    assert SOLVERS[request.node.callspec.params["both"]] in split.condition
    assert split.baseline_mw == pytest.approx(single.baseline_mw, abs=1e-9)
    assert split.social_welfare_eur == pytest.approx(single.social_welfare_eur, rel=1e-6)
    asked = [t for t, v in enumerate(data.request.volume_mw) if v > 0]
    # The volume binds in some slot, so the coupling matters (not a trivial split).
    assert any(single.flexibility_mw[t] == pytest.approx(0.12) for t in asked)
    assert [split.flexibility_mw[t] for t in asked] == pytest.approx(
        [single.flexibility_mw[t] for t in asked], abs=1e-8
    )
    assert [s.cumulative_mw for s in split.offer_steps] == pytest.approx(
        [s.cumulative_mw for s in single.offer_steps], abs=1e-6
    )
    assert [s.price_eur_per_mwh for s in split.offer_steps] == pytest.approx(
        [s.price_eur_per_mwh for s in single.offer_steps], rel=1e-6
    )
    assert split.social_welfare_eur == pytest.approx(
        split.aggregated_users_welfare_eur + split.aggregator_profit_eur
    )
    assert min(u.welfare_eur for u in split.users_welfare) >= -1e-6


def test_recovered_battery_schedules_keep_their_constraints(
    both: tuple[AggregationInput, AggregationResult, AggregationResult],
) -> None:
    """Battery schedules are convex combinations of proposals: SoC chain, bounds and power
    limits must still hold, and prosumption must be rebuilt from the devices."""
    data, _, split = both
    dt = data.slot_hours
    by_id = {s.id: s for s in split.optimal_prosumption_schedules}
    batteries = 0
    for p in data.prosumers:
        s = by_id[p.id]
        if p.battery is None:
            continue
        b, batteries = p.battery, batteries + 1
        soc = [b.soc_initial_kwh, *s.battery_soc_kwh]
        rebuilt = list(p.inflexible_kw)
        for t, power in enumerate(s.battery_kw):
            assert b.soc_min_kwh - 1e-3 <= soc[t + 1] <= b.soc_upper_kwh + 1e-3
            assert -b.p_discharge_max_kw - 1e-6 <= power <= b.p_charge_max_kw + 1e-6
            # Losses only take energy away: a convex combination of proposals may charge and
            # discharge in one slot, so the net power bounds the SoC change from above.
            assert soc[t + 1] - soc[t] <= power * dt + 1e-3
            rebuilt[t] += power
        for t, power in enumerate(s.ev_kw):
            rebuilt[t] += power
        for t, power in enumerate(s.shiftable_kw):
            rebuilt[t] += power
        if p.curtailable is not None:
            for t, cut in enumerate(s.curtailed_kw):
                rebuilt[t] += p.curtailable.demand_kw[t] - cut
        if p.pv is not None:
            for t, spill in enumerate(s.pv_curtailed_kw):
                rebuilt[t] += spill - p.pv.forecast_kw[t]
        assert s.prosumption_kw == pytest.approx(rebuilt, abs=1e-3)
        assert soc[-1] >= b.soc_final_kwh - 1e-3
    assert batteries > 20


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_battery_known_optimum_by_each_solver(solver: str) -> None:
    """The hand-solved case of `test_aggregation.test_battery_known_optimum`: discharge 3 kW
    in slot 2, recharge 3 / 0.81 kWh in the last slot."""
    result = run(battery_case(), solver)
    extra = 3 / 0.81 - 3
    assert result.flexibility_revenue_eur == pytest.approx(0.3)
    assert result.energy_cost_change_eur == pytest.approx(extra * 0.05)
    assert result.discomfort_eur == pytest.approx(0.06)
    (schedule,) = result.optimal_prosumption_schedules
    # The energy price is flat, so recharging before or after the event is a tie; the event
    # slot and the final SoC are not.
    soc = schedule.battery_soc_kwh
    assert soc[2] - soc[1] == pytest.approx(-3 / 0.9, abs=1e-4)
    assert soc[3] == pytest.approx(5, abs=1e-4)
    (step,) = result.offer_steps
    assert step.price_eur_per_mwh == pytest.approx(50 / 0.81 - 50 + 20, abs=1e-4)


def test_prosumer_columns_answers_a_down_request_as_the_single_lp() -> None:
    """A `down` request prices P_t the other way: the box around the duals and the side the
    next solve starts on flip with it."""
    data = evening_request(200, seed=5, volume_mw=0.08, offer_steps=4)
    energy = [p + 0.37 * t for t, p in enumerate(data.energy_price_eur_per_mwh)]
    down = msgspec.structs.replace(data.request, direction="down")
    data = msgspec.structs.replace(data, request=down, energy_price_eur_per_mwh=energy)
    single, columns = run(data, "single_lp"), run(data, "prosumer_columns")
    assert "pricing rounds" in columns.condition
    assert columns.social_welfare_eur == pytest.approx(single.social_welfare_eur, rel=1e-6)
    assert single.social_welfare_eur > 1.0  # the request is worth answering
    assert columns.flexibility_mw == pytest.approx(single.flexibility_mw, abs=1e-8)
    assert [s.cumulative_mw for s in columns.offer_steps] == pytest.approx(
        [s.cumulative_mw for s in single.offer_steps], abs=1e-6
    )
