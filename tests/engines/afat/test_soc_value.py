"""The batteries' exact SoC value functions (`engines.afat.soc_value`) against an LP of each
battery solved by HiGHS through scipy: values at points of the domain, the backtracked schedules
(feasible, same cost), and the best response over a whole horizon, negative prices included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from engines.afat.soc_value import (
    BatteryArrays,
    WindowedResponse,
    after_window,
    backtrack_after,
    backtrack_before,
    before_window,
    best_response,
)

pytestmark = pytest.mark.unit

DT = 0.25
SLOTS = 24


@pytest.fixture(scope="module")
def case() -> tuple[BatteryArrays, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 12
    cap = rng.choice([5.0, 10.0, 13.5], n)
    batteries = BatteryArrays(
        soc_initial=cap * rng.uniform(0.2, 0.8, n),
        soc_min=cap * 0.1,
        soc_max=cap.copy(),
        soc_final=cap * rng.uniform(0.1, 0.9, n),
        p_charge=cap / 2,
        p_discharge=cap / 3,
        eta_charge=rng.uniform(0.85, 0.98, n),
        eta_discharge=rng.uniform(0.85, 0.98, n),
        wear_eur_per_kwh=rng.uniform(0.0, 0.06, n),
    )
    # EUR per kWh, with negative prices (where charging and discharging at once pays).
    return batteries, rng.uniform(-0.03, 0.2, SLOTS)


def lp_cost(
    b: BatteryArrays,
    i: int,
    price: np.ndarray,
    start: float,
    *,
    end: float | None = None,
    final: float | None = None,
) -> float:
    """The battery's cheapest cost over `price`'s slots from SoC `start`, ending at `end` or
    at least at `final`: charge, discharge and SoC per slot as one LP."""
    k = len(price)
    cost = np.concatenate([price * DT, (b.wear_eur_per_kwh[i] - price) * DT, np.zeros(k)])
    a = np.zeros((k, 3 * k))
    for j in range(k):
        a[j, 2 * k + j] = 1.0
        if j:
            a[j, 2 * k + j - 1] = -1.0
        a[j, j] = -b.eta_charge[i] * DT
        a[j, k + j] = DT / b.eta_discharge[i]
    rhs = np.zeros(k)
    rhs[0] = start
    lower = [0.0] * (2 * k) + [float(b.soc_min[i])] * k
    upper = [float(b.p_charge[i])] * k + [float(b.p_discharge[i])] * k + [float(b.soc_max[i])] * k
    if end is not None:
        lower[-1] = upper[-1] = end
    if final is not None:
        lower[-1] = max(lower[-1], final)
    res = linprog(cost, A_eq=a, b_eq=rhs, bounds=list(zip(lower, upper, strict=True)))
    assert res.status == 0, res.message
    return float(res.fun)


def schedule_cost(b: BatteryArrays, charge: np.ndarray, discharge: np.ndarray, price: np.ndarray):
    return (charge * price * DT).sum(axis=1) + (
        discharge * (b.wear_eur_per_kwh[:, None] - price) * DT
    ).sum(axis=1)


def assert_feasible(b: BatteryArrays, start: np.ndarray, charge, discharge, soc) -> None:
    before = np.hstack([start[:, None], soc[:, :-1]])
    change = b.eta_charge[:, None] * DT * charge - DT / b.eta_discharge[:, None] * discharge
    assert soc - before == pytest.approx(change, abs=1e-9)
    assert (soc >= b.soc_min[:, None] - 1e-9).all()
    assert (soc <= b.soc_max[:, None] + 1e-9).all()
    assert (charge >= -1e-12).all()
    assert (charge <= b.p_charge[:, None] + 1e-9).all()
    assert (discharge >= -1e-12).all()
    assert (discharge <= b.p_discharge[:, None] + 1e-9).all()


def test_value_before_the_window_is_the_lp_optimum(case: tuple[BatteryArrays, np.ndarray]) -> None:
    b, price = case
    first = 16
    v = before_window(b, price, DT, first)
    f = v.function
    for fraction in (0.0, 0.3, 0.77, 1.0):
        s = f.x0 + fraction * (f.x1 - f.x0)
        values = f.value(s)
        for i in range(len(b)):
            ref = lp_cost(b, i, price[:first], float(b.soc_initial[i]), end=float(s[i]))
            assert values[i] == pytest.approx(ref, abs=1e-9)
        schedule = backtrack_before(v, b, DT, s)
        assert_feasible(
            b, b.soc_initial, schedule.charge_kw, schedule.discharge_kw, schedule.soc_kwh
        )
        assert schedule.soc_kwh[:, -1] == pytest.approx(s)
        assert schedule_cost(
            b, schedule.charge_kw, schedule.discharge_kw, price[:first]
        ) == pytest.approx(values, abs=1e-9)


def test_value_after_the_window_is_the_lp_optimum(case: tuple[BatteryArrays, np.ndarray]) -> None:
    b, price = case
    last = 17
    v = after_window(b, price, DT, last, SLOTS)
    f = v.function
    for fraction in (0.0, 0.45, 1.0):
        s = f.x0 + fraction * (f.x1 - f.x0)
        values = f.value(s)
        for i in range(len(b)):
            ref = lp_cost(b, i, price[last + 1 :], float(s[i]), final=float(b.soc_final[i]))
            assert values[i] == pytest.approx(ref, abs=1e-9)
        schedule = backtrack_after(v, b, DT, s)
        assert_feasible(b, s, schedule.charge_kw, schedule.discharge_kw, schedule.soc_kwh)
        assert (schedule.soc_kwh[:, -1] >= np.maximum(b.soc_min, b.soc_final) - 1e-9).all()
        assert schedule_cost(
            b, schedule.charge_kw, schedule.discharge_kw, price[last + 1 :]
        ) == pytest.approx(values, abs=1e-9)


def test_best_response_is_the_lp_optimum(case: tuple[BatteryArrays, np.ndarray]) -> None:
    b, price = case
    schedule, cost = best_response(b, price, DT)
    assert_feasible(b, b.soc_initial, schedule.charge_kw, schedule.discharge_kw, schedule.soc_kwh)
    assert (schedule.soc_kwh[:, -1] >= np.maximum(b.soc_min, b.soc_final) - 1e-9).all()
    for i in range(len(b)):
        ref = lp_cost(b, i, price, float(b.soc_initial[i]), final=float(b.soc_final[i]))
        assert cost[i] == pytest.approx(ref, abs=1e-9)
    assert schedule_cost(b, schedule.charge_kw, schedule.discharge_kw, price) == pytest.approx(
        cost, abs=1e-9
    )


@pytest.mark.parametrize(("first", "last"), [(9, 14), (0, 5), (18, SLOTS - 1), (0, SLOTS - 1)])
def test_windowed_response_equals_the_whole_horizon_one(
    case: tuple[BatteryArrays, np.ndarray], first: int, last: int
) -> None:
    """Only the window's prices change between calls: its answers cost what the whole-horizon
    dynamic programme's do (schedules may differ where costs tie) and keep every bound."""
    b, price = case
    windowed = WindowedResponse.of(b, price, DT, first, last)
    rng = np.random.default_rng(first * 100 + last)
    for _ in range(3):
        window = price[first : last + 1] + rng.uniform(-0.05, 0.3, last - first + 1)
        full = price.copy()
        full[first : last + 1] = window
        schedule = windowed.respond(window)
        _, cost = best_response(b, full, DT)
        assert_feasible(
            b, b.soc_initial, schedule.charge_kw, schedule.discharge_kw, schedule.soc_kwh
        )
        assert (schedule.soc_kwh[:, -1] >= np.maximum(b.soc_min, b.soc_final) - 1e-9).all()
        assert schedule_cost(b, schedule.charge_kw, schedule.discharge_kw, full) == pytest.approx(
            cost, abs=1e-9
        )
