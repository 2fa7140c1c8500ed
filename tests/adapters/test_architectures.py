"""The market architectures on the 33-bus feeder under case30 (engines.markets.scenario).

The central optimum is the joint transmission + distribution OPF (the wholesale LP enters exactly as
its piecewise linear cost of the coupling withdrawal); the iterative TSO-DSO market must reach it
(welfare within 0.1 %, same coupling flow), and no architecture may beat it."""

from __future__ import annotations

import pytest

from engines.markets.architectures import run_architecture, transmission_curve
from engines.markets.scenario import Scenario

pytestmark = pytest.mark.unit

# Fine generator steps make the TLMP move with the area's import, so the price iteration has work:
# period 19 converges by price adjustment; in period 21 the bracket closes on an offer's price.
PERIODS = [19, 21]


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    scenario = Scenario(steps=60)
    return {name: run_architecture(name, scenario, PERIODS)
            for name in ("central", "iterative", "reactive", "proactive")}  # fmt: skip


def test_iterative_reaches_the_central_optimum(results: dict[str, object]) -> None:
    central, iterative = results["central"], results["iterative"]
    assert central.status == iterative.status == "optimal"  # type: ignore[attr-defined]
    gap = abs(iterative.welfare_eur - central.welfare_eur)  # type: ignore[attr-defined]
    assert gap <= 1e-3 * abs(central.welfare_eur)  # type: ignore[attr-defined]
    for c, i in zip(central.periods, iterative.periods, strict=True):  # type: ignore[attr-defined]
        assert i.converged
        assert i.coupling_mw == pytest.approx(c.coupling_mw, abs=1e-3)
        # both dispatches agree: the TLMP the DSO last priced is the TSO's price of its import
        last = i.trace[-1]
        assert last.dso_import_mw == pytest.approx(i.coupling_mw, abs=1e-3) or i.recovered
    assert sum(len(p.trace) for p in iterative.periods) > len(PERIODS)  # type: ignore[attr-defined]


def test_no_architecture_beats_the_central_optimum(results: dict[str, object]) -> None:
    best = results["central"].welfare_eur  # type: ignore[attr-defined]
    for name in ("reactive", "proactive", "iterative"):
        assert results[name].welfare_eur <= best + 1e-6 * abs(best)  # type: ignore[attr-defined]
    # the reactive market leaves the wholesale side at the scheduled exchange: strictly worse here
    assert results["reactive"].welfare_eur < best - 1.0  # type: ignore[attr-defined]


def test_wholesale_money_balances(results: dict[str, object]) -> None:
    """Generators' receipts = loads' and area's payments + congestion rent (every period)."""
    for p in results["iterative"].periods:  # type: ignore[attr-defined]
        tso = {k: v for k, v in p.payments_eur.items() if k.startswith(("gen-", "transmission-",
               "distribution-area", "tso-"))}  # fmt: skip
        assert sum(tso.values()) == pytest.approx(0.0, abs=1e-6)


def test_curve_recovery_is_exact_on_a_known_function() -> None:
    """max of three lines: kinks at 1 and 3 (slopes 1, 2, 4)."""

    def f(p: float) -> tuple[float, float]:
        lines = [(1.0, 0.0), (2.0, -1.0), (4.0, -7.0)]
        value, slope = max((a * p + b, a) for a, b in lines)
        return value, slope

    points = transmission_curve(f, 0.0, 5.0)
    kinks = [p for p, _ in points]
    assert kinks[0] == 0.0
    assert kinks[-1] == 5.0
    assert any(abs(k - 1.0) < 1e-9 for k in kinks)
    assert any(abs(k - 3.0) < 1e-9 for k in kinks)
    for p, value in points:
        assert value == pytest.approx(f(p)[0])
