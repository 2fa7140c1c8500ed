"""The reactive market's near-real-time stage on imbalances (engines.markets.nrt), known answers.

Explicit forecast errors make each case exact: no deviation changes nothing; a load 10 % above its
forecast in the evening peak overloads line 5 again, and the flexibility the day-ahead stage left
relieves it; with no local flexibility the TSO's merit order covers the whole deviation, checked by
hand on a few bids."""

from __future__ import annotations

import pytest

from engines.fmct.schema import ClearingOffer
from engines.markets.architectures import reactive_stage, run_architecture
from engines.markets.nrt import balancing_segments, merit_ladder, near_real_time
from engines.markets.outcome import PeriodOutcome
from engines.markets.realisation import day_errors, realised_pv
from engines.markets.scenario import Scenario
from engines.markets.settle import AREA, period_payments
from engines.markets.sides import DsoOutcome, DsoSide, TsoOutcome, TsoSide
from engines.markets.wholesale_port import InProcessDayAhead
from gateway.messages.balancing import BalancingBid
from gateway.messages.imbalance import ForecastErrors

pytestmark = pytest.mark.unit

EVENING = 19  # 19:00 local: line 5 is at its limit after the day-ahead stage
NIGHT = 3  # 03:00 local: no congestion, no PV


def errors(t: int, load: float = 0.0, pv: float = 0.0) -> ForecastErrors:
    loads, pvs = [0.0] * 24, [0.0] * 24
    loads[t], pvs[t] = load, pv
    return ForecastErrors(load_errors=loads, pv_errors=pvs)


def bid(id_: str, direction: str, mw: float, price: float, t: int = NIGHT) -> BalancingBid:
    return BalancingBid(id=id_, bsp_id=f"bsp-{id_}", direction=direction, period_index=t,  # type: ignore[arg-type]
                        quantity_mw=mw, price_eur_per_mwh=price, location="case30-bus-1")  # fmt: skip


class NoFlexibility(Scenario):
    """The scenario's feeder without any flexibility offer."""

    def offers(self, t: int) -> list[ClearingOffer]:
        return []


def test_the_day_s_errors_are_seeded_sized_and_replaceable() -> None:
    spec = ForecastErrors()
    load, pv = day_errors(spec)
    assert (load, pv) == day_errors(ForecastErrors())  # the same seed, the same day
    assert load != day_errors(ForecastErrors(seed=7))[0]
    assert len(load) == len(pv) == 24
    assert max(abs(e) for e in load) <= 3 * spec.load_sigma
    assert max(abs(e) for e in pv) <= 3 * spec.pv_sigma
    assert day_errors(errors(5, 0.1, -0.2)) == (
        errors(5, 0.1).load_errors,
        errors(5, 0, -0.2).pv_errors,
    )
    assert realised_pv(0.0, 0.3) == 0.0  # no PV at night whatever the error
    assert realised_pv(0.9, 0.3) == 1.0  # never above the installed capacity
    assert realised_pv(0.2, -0.3) == 0.0
    sc = Scenario(forecast_errors=errors(EVENING, 0.1))
    assert sc.realised_schedule(EVENING).load_scaling == pytest.approx(
        1.1 * sc.schedule(EVENING).load_scaling
    )
    assert sc.realised_schedule(EVENING - 1) == sc.schedule(EVENING - 1)


def test_the_merit_order_enters_the_local_clearing_toward_the_schedule_only() -> None:
    bids = [bid("a", "up", 0.05, 40.0), bid("b", "up", 0.5, 45.0), bid("d", "down", 0.5, 30.0)]
    assert merit_ladder(bids) == [(-0.5, 0.0, 30.0), (0.0, 0.05, 40.0), (0.05, 0.55, 45.0)]
    # Short by 0.2 MW: importing less spares b's 0.15 MW, then a's 0.05 MW, nothing beyond.
    segments = balancing_segments(merit_ladder(bids), 0.2, (0.0, 0.2), NIGHT)
    spared = sorted((s.p_down_mw, s.price_p_down_eur_per_mwh) for s in segments)
    assert spared == [(pytest.approx(0.05), -40.0), (pytest.approx(0.15), -45.0)]
    assert all(s.p_up_mw == 0.0 and s.bus == "0" for s in segments)
    # When the grid needs it, the exchange may move either way: from 0.2 MW short, 0.1 MW more
    # import costs b's next 0.1 MW at 45; 0.1 MW less spares 0.1 MW of b.
    both = balancing_segments(merit_ladder(bids), 0.2, (0.1, 0.3), NIGHT)
    assert sorted((s.p_up_mw, s.p_down_mw, s.price_p_up_eur_per_mwh, s.price_p_down_eur_per_mwh)
                  for s in both) == [(0.0, pytest.approx(0.1), 0.0, -45.0),
                                     (pytest.approx(0.1), 0.0, 45.0, 0.0)]  # fmt: skip


def test_no_deviation_changes_nothing_and_costs_nothing() -> None:
    sc = Scenario(steps=60, forecast_errors=errors(EVENING))
    reactive = run_architecture("reactive", sc, [EVENING])
    nrt = run_architecture("reactive-nrt", sc, [EVENING])
    assert nrt.status == "optimal", nrt.message
    (period,) = nrt.periods
    stage = period.imbalance
    assert stage is not None
    assert (stage.imbalance_mw, stage.residual_mw, stage.resolved_locally_mw) == (0.0, 0.0, 0.0)
    assert stage.dispatch == []
    assert stage.activations == []
    assert stage.imbalance_price_eur_per_mwh is None
    assert stage.nrt_flex_cost_eur == pytest.approx(0.0, abs=1e-4)
    assert stage.balancing_cost_eur == stage.area_imbalance_paid_eur == 0.0
    assert stage.before.within_limits
    assert stage.after.within_limits
    assert nrt.welfare_eur == pytest.approx(reactive.welfare_eur, abs=1e-4)
    assert nrt.flex_cost_eur == pytest.approx(reactive.flex_cost_eur, abs=1e-4)
    assert nrt.payments_eur == pytest.approx(reactive.payments_eur, abs=1e-4)
    assert nrt.imbalance is not None
    assert reactive.imbalance is None
    assert nrt.imbalance.imbalance_mwh == nrt.imbalance.tso_balancing_mwh == 0.0


def test_a_deviation_that_overloads_a_line_is_resolved_locally() -> None:
    sc = Scenario(steps=60, forecast_errors=errors(EVENING, load=0.10))
    result = run_architecture("reactive-nrt", sc, [EVENING])
    assert result.status == "optimal", result.message
    (period,) = result.periods
    stage = period.imbalance
    assert stage is not None
    assert not stage.before.within_limits
    assert stage.before.violation.startswith("line:5 would be loaded")
    assert stage.after.within_limits, stage.after.violation
    assert stage.after.max_loading_percent <= 100.1
    # Only load reduction below line 5 (buses 6..17: the aggregators at 9 and 14) relieves it.
    below = {d.offer_id: d.p_up_mw for d in stage.dispatch if d.offer_id in ("agg-9-t19",
                                                                              "agg-14-t19")}  # fmt: skip
    assert sum(below.values()) > 0.05
    assert stage.imbalance_mw > 0.3  # the area is short: 10 % of 4 MW and the losses
    assert stage.resolved_locally_mw > 0.0
    assert stage.nrt_flex_cost_eur > 0.0
    assert result.payments_eur["aggregator-9"] > 0.0
    assert result.welfare_eur == pytest.approx(-(result.generation_cost_eur + result.flex_cost_eur))


def _day_ahead(sc: Scenario, t: int) -> tuple[PeriodOutcome, TsoOutcome, DsoOutcome]:
    tso, dso = TsoSide(sc, InProcessDayAhead()), DsoSide(sc)
    da, local = reactive_stage(tso, dso, t)
    period = PeriodOutcome(
        period_index=t, coupling_mw=local.import_mw, tlmp_eur_per_mwh=da.tlmp,
        generation_cost_eur=da.cost_eur, flex_cost_eur=local.flex_cost_eur,
        curtailed_res_mwh=local.curtailed_mwh, payments_eur=period_payments(da, local),
    )  # fmt: skip
    return period, da, local


@pytest.mark.parametrize(
    ("load_error", "expected"),
    [
        # short: a (0.05 MW at 40) in full, then b at 45 sets the price; c and d stay idle
        (0.05, {"price": 45.0, "taken": [("a", 0.05, 40.0), ("b", None, 45.0)]}),
        # long: e (0.02 MW at 35, the highest down price) in full, then d at 30 sets the price
        (-0.05, {"price": 30.0, "taken": [("e", 0.02, 35.0), ("d", None, 30.0)]}),
    ],
)
def test_without_local_flexibility_the_tso_covers_it_at_the_merit_order_price(
    load_error: float, expected: dict[str, object]
) -> None:
    sc = NoFlexibility(steps=4, forecast_errors=errors(NIGHT, load=load_error))
    bids = [bid("a", "up", 0.05, 40.0), bid("b", "up", 0.5, 45.0), bid("c", "up", 1.0, 70.0),
            bid("e", "down", 0.02, 35.0), bid("d", "down", 0.5, 30.0)]  # fmt: skip
    day_ahead, da, local = _day_ahead(sc, NIGHT)
    out = near_real_time(sc, NIGHT, day_ahead, da, local, bids)
    stage = out.imbalance
    assert stage is not None
    deviation = stage.imbalance_mw
    # by hand: the feeder's load change, plus a little more loss when short (less when long)
    load_change = load_error * sc.schedule(NIGHT).load_scaling * float(sc.feeder.load.p_mw.sum())
    assert abs(load_change) < abs(deviation) < 1.1 * abs(load_change)
    assert deviation * load_error > 0
    assert stage.residual_mw == deviation
    assert stage.resolved_locally_mw == 0.0
    assert stage.dispatch == []
    assert stage.nrt_flex_cost_eur == 0.0
    price = expected["price"]
    assert stage.imbalance_price_eur_per_mwh == price
    taken = expected["taken"]
    assert isinstance(taken, list)
    (first, first_mw, first_price), (second, _, second_price) = taken
    volumes = {a.bid_id: a.activated_mw for a in stage.activations}
    assert volumes == {
        first: pytest.approx(first_mw),
        second: pytest.approx(abs(deviation) - first_mw),
    }
    sign = 1.0 if deviation > 0 else -1.0
    own_cost = sign * (first_price * first_mw + second_price * (abs(deviation) - first_mw))
    assert stage.balancing_cost_eur == pytest.approx(own_cost)
    assert stage.area_imbalance_paid_eur == pytest.approx(price * deviation)  # type: ignore[operator]
    assert out.generation_cost_eur == pytest.approx(day_ahead.generation_cost_eur + own_cost)
    # every activated bid at the marginal price; the area settles what they get (or pay)
    assert out.payments_eur[f"bsp-{first}"] == pytest.approx(sign * price * first_mw)  # type: ignore[operator]
    assert out.payments_eur[AREA] == pytest.approx(
        day_ahead.payments_eur[AREA] - price * deviation  # type: ignore[operator]
    )
    balancing = [v for k, v in out.payments_eur.items() if k.startswith("bsp-")]
    assert sum(balancing) - price * deviation == pytest.approx(0.0, abs=1e-9)  # type: ignore[operator]
