"""Economic sanity of the AC-OPF clearing: loss factors, congestion, complementary slackness."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pytest

from engines.fmct.clearing import clear
from engines.fmct.schema import ClearingOptions, PeriodResult
from tests.engines._fmct_cases import (
    DOWNSTREAM_OF_LINE_5,
    UPSTREAM_OF_LINE_5,
    congested_feeder,
    feeder,
    offer,
    request,
)

pytestmark = pytest.mark.unit
WIDE = ClearingOptions(v_min_pu=0.5, v_max_pu=1.5)


def _ext_sensitivity(net: object, period: PeriodResult, bus: int, eps: float = 1e-3) -> float:
    """d P_ext / d P_injection(bus) by central differences of pandapower's own power flow at the
    cleared operating point (independent of the engine's model)."""
    base = copy.deepcopy(net)
    for o in period.offers:
        pp.create_sgen(base, int(o.offer_id.split("@")[1]), p_mw=o.p_up_mw - o.p_down_mw)
    for r in period.requests:
        pp.create_load(base, int(r.request_id.split("@")[1]), p_mw=r.p_mw)
    values = []
    for sign in (1.0, -1.0):
        work = copy.deepcopy(base)
        pp.create_sgen(work, bus, p_mw=sign * eps)
        pp.runpp(work, numba=False, tolerance_mva=1e-11)
        values.append(float(work.res_ext_grid.p_mw.sum()))
    return (values[0] - values[1]) / (2 * eps)


def test_uncongested_prices_are_marginal_offer_times_loss_factors() -> None:
    """Textbook result (e.g. Kirschen & Strbac, Power System Economics, ch. 6; Papavasiliou, DLMPs,
    2018): without binding network limits the price at bus b is the marginal offer's price times the
    ratio of the loss sensitivities of b and of the marginal offer's bus."""
    net = feeder()
    offers = [offer("cheap@5", "5", up=1.0, pu=20.0), offer("dear@20", "20", up=1.0, pu=90.0)]
    requests = [request("need@17", "17", p=0.1, price=1000.0)]
    res = clear(net, [], requests, offers, WIDE)
    assert res.status == "optimal"
    period = res.periods[0]
    cheap = next(o for o in period.offers if o.offer_id == "cheap@5")
    assert 0.0 < cheap.p_up_mw < 1.0  # the cheap offer is marginal
    s5 = _ext_sensitivity(net, period, 5)
    for b in (0, 3, 10, 17, 24, 32):
        expected = 20.0 * _ext_sensitivity(net, period, b) / s5 if b else 20.0 * -1.0 / s5
        assert period.dlmp_p_eur_per_mwh[str(b)] == pytest.approx(expected, rel=2e-3)
    assert period.binding_branches == []


def test_binding_line_separates_prices_downstream() -> None:
    """Congestion pricing (Schweppe et al., Spot Pricing of Electricity, 1988): a binding line splits
    the prices; it is reported binding; the buses behind it are priced by the local offer."""
    net = congested_feeder(0.9)
    offers = [
        offer("up@10", "10", up=2.0, pu=60.0),
        offer("down@2", "2", down=2.0, pd=10.0),
        offer("up@1", "1", up=2.0, pu=5.0),
    ]
    res = clear(net, [], [], offers, ClearingOptions(v_min_pu=0.85))
    assert res.status == "optimal"
    period = res.periods[0]
    assert "line:5" in period.binding_branches
    assert period.branch_loading_percent["line:5"] == pytest.approx(100.0, abs=1e-3)
    lam = period.dlmp_p_eur_per_mwh
    assert (
        min(lam[b] for b in DOWNSTREAM_OF_LINE_5) > max(lam[b] for b in UPSTREAM_OF_LINE_5) + 10.0
    )
    assert lam["10"] == pytest.approx(60.0, rel=1e-4)  # the local up offer is marginal


def test_complementary_slackness_of_offers_and_lines() -> None:
    """KKT of the AC-OPF: an accepted offer strictly between its bounds is priced at its bid, a
    rejected one bids above the price it would get, a fully accepted one at or below it."""
    net = congested_feeder(0.9)
    offers = [
        offer(f"o{b}", str(b), up=0.4, pu=30.0 + b, down=0.4, pd=2.0 + b / 4)
        for b in range(1, 33, 3)
    ]
    res = clear(net, [], [], offers, ClearingOptions(v_min_pu=0.85))
    assert res.status == "optimal"
    period = res.periods[0]
    lam = period.dlmp_p_eur_per_mwh
    tol = 1e-3
    for o, d in zip(offers, period.offers, strict=True):
        for vol, cap, price, sign in (
            (d.p_up_mw, o.p_up_mw, o.price_p_up_eur_per_mwh, 1.0),
            (d.p_down_mw, o.p_down_mw, o.price_p_down_eur_per_mwh, -1.0),
        ):
            value = sign * lam[o.bus]
            if 1e-5 < vol < cap - 1e-5:
                assert price == pytest.approx(value, abs=tol * 10)
            elif vol <= 1e-5:
                assert price >= value - tol
            else:
                assert price <= value + tol
    assert res.all_offers_paid_at_least_price
    assert all(p.uplift_eur == pytest.approx(0.0, abs=1e-6) for p in res.payments)
    loading = np.array(list(period.branch_loading_percent.values()))
    assert loading.max() <= 100.0 + 1e-4


def test_infeasible_market_is_a_value() -> None:
    """An overloaded line and no offer that can relieve it: status infeasible, nothing raised."""
    res = clear(
        congested_feeder(0.5),
        [],
        [],
        [offer("tiny", "10", up=0.01, pu=1.0)],
        ClearingOptions(time_limit_s=30),
    )
    assert res.status == "infeasible"
    assert res.periods == []


def test_infeasible_multi_period_milp_is_a_value() -> None:
    """The benchmark's 33-bus day with only 10 offers a period cannot relieve line 5 at peak. HiGHS'
    dual simplex ends undecided ("unknown") on this infeasible LP with its free voltage-state
    columns; it must still come back as infeasible, not as an error."""
    from bench.fmct_clearing import _feeder33, scenario

    net = _feeder33()
    schedules, requests, offers = scenario(net, 10, 24)
    res = clear(net, schedules, requests, offers, ClearingOptions(method="milp", v_min_pu=0.85))
    assert res.status == "infeasible"
    assert res.periods == []


def test_acopf_rejects_block_offers_as_a_value() -> None:
    res = clear(
        feeder(),
        [],
        [],
        [offer("b", "3", up=0.1, pu=1.0, block=True)],
        ClearingOptions(method="acopf"),
    )
    assert (res.status, res.condition) == ("error", "unsupported")


def test_unknown_bus_is_reported() -> None:
    res = clear(feeder(), [], [], [offer("x", "no-such-bus", up=0.1)])
    assert res.status == "error"
    assert res.findings[0].code == "unknown_bus"


def test_caller_net_is_not_mutated() -> None:
    net = feeder()
    before = net.load.copy()
    clear(net, [], [request("r", "17", 0.1, 100.0)], [offer("o", "5", up=1.0, pu=10.0)])
    assert net.load.equals(before)
    assert "res_bus" not in net or net.res_bus.empty
