"""FlexAsset sizing and siting (HLUC_02_UCS_02): storage and PV at candidate buses of a
distribution network, chosen to maximise NPV over a multi-year horizon.

1. Prices with the network in them: every distinct scenario hour (load level, upstream price)
   is cleared by the FMCT engine with the existing flexibility offers; the d-LMPs per bus are
   the prices a new asset there would see (a price-taker: small against the market).
2. Investment MILP (HiGHS): a binary per site, a size per candidate, the assets' hourly
   operation per scenario day linked to the size (power, and energy = duration x power for
   storage; cyclic state of charge per day), NPV = -CAPEX + annuity x (annual margin - O&M).
3. The network effect: the same MILP with every bus at the upstream price (a network-blind
   plan), valued at the nodal prices, against the nodal plan.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import msgspec
import numpy as np

from engines.fmct.clearing import clear
from engines.fmct.schema import PeriodSchedule
from engines.fst.lp import Floats, LpBuilder
from engines.fst.network import priced_network
from engines.fst.schema import (
    Candidate,
    SitedAsset,
    SizingInput,
    SizingPlan,
    SizingResult,
)

# scenario name -> bus -> price per hour
PriceMap = dict[str, dict[str, list[float]]]
MIDNIGHT = datetime(2025, 1, 1, tzinfo=UTC)


class SizingError(ValueError):
    pass


def annuity_factor(years: int, rate: float, growth: float) -> float:
    """Present value of one unit of year-1 cash flow growing by ``growth`` a year."""
    return float(sum((1 + growth) ** (k - 1) / (1 + rate) ** k for k in range(1, years + 1)))


def nodal_prices(data: SizingInput) -> tuple[PriceMap, dict[str, list[str]], str]:
    """d-LMPs per scenario, bus and hour from the FMCT clearing (one clearing per distinct
    hour), the binding lines per scenario, and an error message ('' when all cleared)."""
    net = priced_network(data.network, data.line_max_i_ka)
    cache: dict[tuple[float, float, float], tuple[dict[str, float], list[str]]] = {}
    prices: PriceMap = {}
    binding: dict[str, list[str]] = {}
    buses = sorted({c.bus for c in data.candidates})
    for sc in data.scenarios:
        per_bus: dict[str, list[float]] = {b: [] for b in buses}
        seen: set[str] = set()
        for level in sc.hours:
            key = (level.load_scaling, level.sgen_scaling, level.upstream_price_eur_per_mwh)
            if key not in cache:
                res = clear(
                    net,
                    [
                        PeriodSchedule(
                            period_index=0, start=MIDNIGHT, load_scaling=key[0], sgen_scaling=key[1]
                        )
                    ],
                    [],
                    [msgspec.structs.replace(o, periods=[0]) for o in data.existing_offers],
                    msgspec.structs.replace(data.clearing, upstream_price_eur_per_mwh=key[2]),
                )
                if res.status != "optimal":
                    return {}, {}, f"scenario {sc.name}: clearing {res.status}: {res.message}"
                period = res.periods[0]
                cache[key] = (period.dlmp_p_eur_per_mwh, period.binding_branches)
            lam, lines = cache[key]
            for b in buses:
                if b not in lam:
                    return {}, {}, f"candidate bus {b} is not in {data.network}"
                per_bus[b].append(lam[b])
            seen.update(lines)
        prices[sc.name] = per_bus
        binding[sc.name] = sorted(seen)
    return prices, binding, ""


def _uniform(data: SizingInput) -> PriceMap:
    buses = {c.bus for c in data.candidates}
    return {
        sc.name: {b: [h.upstream_price_eur_per_mwh for h in sc.hours] for b in buses}
        for sc in data.scenarios
    }


def _capex_per_mw(c: Candidate) -> float:
    return c.capex_eur_per_mw + (
        c.capex_eur_per_mwh * c.duration_h if c.technology == "storage" else 0.0
    )


def _plan(
    data: SizingInput, prices: PriceMap, fixed: dict[str, float] | None = None
) -> tuple[SizingPlan | None, str]:
    """The NPV-maximising plan under ``prices`` (or the operation of the ``fixed`` sizes)."""
    lp = LpBuilder()
    factor = annuity_factor(data.horizon_years, data.discount_rate, data.price_growth_per_year)
    sizes, builds, margins = [], [], []
    for c in data.candidates:
        # Minimisation: CAPEX and discounted O&M are costs, the operating margin a revenue.
        per_mw = _capex_per_mw(c) + factor * c.fixed_om_eur_per_mw_year
        if fixed is None:
            size = lp.variables(1, 0.0, c.max_mw, per_mw)
            build = lp.variables(1, 0.0, 1.0, c.fixed_capex_eur, integer=True)
        else:
            given = fixed.get(c.id, 0.0)
            size = lp.variables(1, given, given, per_mw)
            built = 1.0 if given > 0 else 0.0
            build = lp.variables(1, built, built, c.fixed_capex_eur, integer=True)
        lp.rows([(size, 1.0), (build, -c.max_mw)], hi=0.0)
        parts: list[tuple[Any, Floats]] = []
        for sc in data.scenarios:
            lam = np.asarray(prices[sc.name][c.bus], dtype=np.float64)
            n = len(lam)
            w = factor * sc.days_per_year
            if c.technology == "storage":
                ch = lp.variables(n, 0.0, cost=w * lam)
                dis = lp.variables(n, 0.0, cost=-w * lam)
                soc = lp.variables(n, 0.0)
                prev = np.concatenate([soc[-1:], soc[:-1]])  # cyclic: the day repeats
                lp.rows([(soc, 1.0), (prev, -1.0), (ch, -c.eta_round_trip), (dis, 1.0)], 0.0, 0.0)
                rep = np.repeat(size, n)
                lp.rows([(ch, 1.0), (rep, -1.0)], hi=0.0)
                lp.rows([(dis, 1.0), (rep, -1.0)], hi=0.0)
                lp.rows([(soc, 1.0), (rep, -c.duration_h)], hi=0.0)
                parts += [(dis, sc.days_per_year * lam), (ch, -sc.days_per_year * lam)]
            else:
                avail = np.asarray(sc.pv_availability or [0.0] * n, dtype=np.float64)
                if len(avail) != n:
                    return (
                        None,
                        f"scenario {sc.name}: pv_availability has {len(avail)} values for {n} hours",
                    )
                g = lp.variables(n, 0.0, cost=-w * lam)
                lp.rows([(g, 1.0), (np.repeat(size, n), -avail)], hi=0.0)
                parts.append((g, sc.days_per_year * lam))
        sizes.append(size[0])
        builds.append(build[0])
        margins.append(parts)
    if data.budget_eur is not None and fixed is None:
        lp.sum_row(
            np.array(sizes + builds),
            np.array(
                [_capex_per_mw(c) for c in data.candidates]
                + [c.fixed_capex_eur for c in data.candidates]
            ),
            -np.inf,
            data.budget_eur,
        )
    if data.max_sites is not None and fixed is None:
        lp.sum_row(np.array(builds), 1.0, -np.inf, float(data.max_sites))
    solved = lp.solve()
    if solved.status != "optimal":
        return None, f"investment model {solved.status}: {solved.condition}"
    x = solved.x
    assets = []
    for c, s_col, b_col, parts in zip(data.candidates, sizes, builds, margins, strict=True):
        mw = float(x[s_col])
        if mw < 1e-6:
            continue
        margin = float(sum(np.dot(x[cols], coef) for cols, coef in parts))
        assets.append(
            SitedAsset(
                candidate_id=c.id,
                bus=c.bus,
                technology=c.technology,
                size_mw=mw,
                energy_mwh=mw * c.duration_h if c.technology == "storage" else 0.0,
                capex_eur=mw * _capex_per_mw(c) + c.fixed_capex_eur * round(float(x[b_col])),
                annual_margin_eur=margin - mw * c.fixed_om_eur_per_mw_year,
            )
        )
    capex = sum(a.capex_eur for a in assets)
    cash = sum(a.annual_margin_eur for a in assets)
    return (
        SizingPlan(
            assets=assets,
            capex_eur=capex,
            annual_cash_flow_eur=cash,
            npv_eur=-solved.objective,
            payback_years=capex / cash if cash > 0 and capex > 0 else None,
        ),
        "",
    )


def size_and_site(data: SizingInput) -> SizingResult:
    started = time.perf_counter()
    for sc in data.scenarios:
        if sc.pv_availability and len(sc.pv_availability) != len(sc.hours):
            return SizingResult(
                status="error",
                message=f"scenario {sc.name}: pv_availability has {len(sc.pv_availability)} values for {len(sc.hours)} hours",
            )
    prices, binding, problem = nodal_prices(data)
    if problem:
        return SizingResult(status="error", message=problem)
    nodal, problem = _plan(data, prices)
    if nodal is None:
        return SizingResult(status="error", message=problem)
    blind, problem = _plan(data, _uniform(data))
    uniform = None
    if blind is not None:
        uniform, problem = _plan(
            data, prices, fixed={a.candidate_id: a.size_mw for a in blind.assets}
        )
    if uniform is None:
        return SizingResult(status="error", message=f"network-blind plan: {problem}")
    return SizingResult(
        status="optimal",
        nodal=nodal,
        uniform=uniform,
        network_effect_eur=nodal.npv_eur - uniform.npv_eur,
        nodal_prices_eur_per_mwh=prices,
        binding_lines=binding,
        solve_time_s=time.perf_counter() - started,
    )
