"""ESP OPEX minimisation (HLUC_02_UCS_01): schedule a portfolio of storage, flexible and
inflexible loads and renewables against forecast prices, co-optimising day-ahead energy,
up/down reserve capacity and the DLFM (P and Q), as a MILP solved with HiGHS.

Model (per period t of length dt; all assets price-takers):
* storage: ``soc_t = soc_{t-1} + eta_c*dt*ch_t - dt/eta_d*dis_t``; a binary forbids charging and
  discharging at once (negative prices would otherwise reward burning energy in the losses);
  reserve needs power headroom around the net injection and energy to sustain it for
  ``reserve_duration_h``; reactive power within an octagon inscribed in the apparent-power circle.
* flexible load: energy over the horizon within power bounds; reserve from its headroom.
* DLFM: the deviation ``f_b`` of bus b's injection from its day-ahead schedule is paid at b's
  d-LMP; the day-ahead schedule itself must stay physically feasible for b's assets.
* balance: sum of physical injections = day-ahead position + sum of DLFM deviations.

The bids follow from the water values (the marginal value of stored energy: the duals of the
SoC balance of the LP with the binaries fixed): discharge pays above ``w/eta_d``, charging
below ``w*eta_c`` (Bertsekas-style marginal-value bidding of a storage unit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec
import numpy as np

from engines.fst.lp import INF, Floats, Ints, LpBuilder, Solved
from engines.fst.schema import (
    AssetSchedule,
    Bid,
    BidStep,
    Market,
    MarketRevenue,
    ScheduleInput,
    ScheduleOptions,
    ScheduleResult,
    StackingReport,
)

PRICE_CAP_EUR_PER_MWH = 4000.0  # SDAC harmonised maximum clearing price: a must-buy step
PRICE_FLOOR_EUR_PER_MWH = -500.0  # SDAC harmonised minimum: a must-sell step
OCTAGON = [(math.cos(k * math.pi / 4), math.sin(k * math.pi / 4)) for k in range(8)]


class ScheduleError(ValueError):
    """Input that cannot be scheduled; the message names the field."""


@dataclass
class _StorageVars:
    ch: Ints
    dis: Ints
    soc: Ints
    soc_rows: Ints
    rup: Ints | None
    rdn: Ints | None
    q: Ints | None


@dataclass
class _Model:
    lp: LpBuilder
    e_da: Ints
    storages: list[_StorageVars]
    loads: list[tuple[Ints, Ints | None, Ints | None, int]]  # p, rup, rdn, energy row
    res: list[Ints]
    f: dict[str, Ints]
    binaries: Ints


def _check(data: ScheduleInput) -> int:
    p = data.prices
    t = len(p.day_ahead_eur_per_mwh)
    if t == 0:
        raise ScheduleError("prices.day_ahead_eur_per_mwh: at least one period is needed")
    if data.options.start is not None and data.options.start.utcoffset() is None:
        raise ScheduleError("options.start: a timezone-aware (UTC) time is needed")
    named = {
        "prices.reserve_up_eur_per_mw_h": p.reserve_up_eur_per_mw_h,
        "prices.reserve_down_eur_per_mw_h": p.reserve_down_eur_per_mw_h,
        **{f"prices.dlfm_p_eur_per_mwh[{b}]": v for b, v in p.dlfm_p_eur_per_mwh.items()},
        **{f"prices.dlfm_q_eur_per_mvarh[{b}]": v for b, v in p.dlfm_q_eur_per_mvarh.items()},
        **{f"inflexible_loads[{a.id}].p_mw": a.p_mw for a in data.portfolio.inflexible_loads},
        **{f"renewables[{a.id}].available_mw": a.available_mw for a in data.portfolio.renewables},
    }
    for name, values in named.items():
        if values and len(values) != t:
            raise ScheduleError(f"{name}: {len(values)} values for {t} periods")
    for s in data.portfolio.storages:
        for what, value in (("soc_initial_mwh", s.soc_initial_mwh), ("soc_min_mwh", s.soc_min_mwh)):
            if value > s.energy_mwh:
                raise ScheduleError(f"storages[{s.id}].{what} exceeds energy_mwh")
    for fl in data.portfolio.flexible_loads:
        hours = t * data.options.period_hours
        if not fl.p_min_mw * hours - 1e-9 <= fl.energy_mwh <= fl.p_max_mw * hours + 1e-9:
            raise ScheduleError(
                f"flexible_loads[{fl.id}].energy_mwh cannot be met within its power bounds"
            )
    return t


def _build(data: ScheduleInput, t: int) -> _Model:
    pf, pr, opt = data.portfolio, data.prices, data.options
    dt, tau = opt.period_hours, opt.reserve_duration_h
    markets = set(opt.markets)
    da = np.asarray(pr.day_ahead_eur_per_mwh, dtype=np.float64)
    up = np.asarray(pr.reserve_up_eur_per_mw_h or [0.0] * t, dtype=np.float64)
    dn = np.asarray(pr.reserve_down_eur_per_mw_h or [0.0] * t, dtype=np.float64)
    reserve = "reserve" in markets
    dlfm = "dlfm" in markets
    lp = LpBuilder()
    limit = pf.grid_limit_mw if pf.grid_limit_mw is not None else INF
    e_da = (
        lp.variables(t, -limit, limit, -dt * da)
        if "day_ahead" in markets
        else lp.variables(t, 0.0, 0.0)
    )
    phys: list[tuple[Ints, float]] = []  # (columns per period, sign) of physical injections
    by_bus: dict[str, list[tuple[Ints, float]]] = {}
    bounds: dict[str, tuple[Floats, Floats]] = {}

    def at_bus(bus: str, cols: Ints, sign: float, lo: Floats, hi: Floats) -> None:
        phys.append((cols, sign))
        by_bus.setdefault(bus, []).append((cols, sign))
        old = bounds.get(bus, (np.zeros(t), np.zeros(t)))
        bounds[bus] = (old[0] + lo, old[1] + hi)

    storages: list[_StorageVars] = []
    binaries: list[Ints] = []
    for s in pf.storages:
        ch = lp.variables(t, 0.0, s.power_mw)
        dis = lp.variables(t, 0.0, s.power_mw, dt * s.cycle_cost_eur_per_mwh)
        soc = lp.variables(t, s.soc_min_mwh, s.energy_mwh)
        prev = np.concatenate([[-1], soc[:-1]])
        rhs = np.zeros(t)
        rhs[0] = s.soc_initial_mwh
        soc_rows = lp.rows(
            [(soc, 1.0), (prev, -1.0), (ch, -s.eta_charge * dt), (dis, dt / s.eta_discharge)],
            rhs,
            rhs,
        )
        final = s.soc_initial_mwh if s.soc_final_min_mwh is None else s.soc_final_min_mwh
        lp.rows([(soc[-1:], 1.0)], lo=min(final, s.energy_mwh))
        if opt.exclusive_charging:
            u = lp.variables(t, 0.0, 1.0, integer=True)
            binaries.append(u)
            lp.rows([(ch, 1.0), (u, -s.power_mw)], hi=0.0)
            lp.rows([(dis, 1.0), (u, s.power_mw)], hi=s.power_mw)
        rup = rdn = q = None
        if reserve:
            rup = lp.variables(t, 0.0, s.power_mw, -dt * up)
            rdn = lp.variables(t, 0.0, s.power_mw, -dt * dn)
            lp.rows([(dis, 1.0), (ch, -1.0), (rup, 1.0)], hi=s.power_mw)
            lp.rows([(dis, 1.0), (ch, -1.0), (rdn, -1.0)], lo=-s.power_mw)
            lp.rows([(soc, 1.0), (rup, -tau / s.eta_discharge)], lo=s.soc_min_mwh)
            lp.rows([(soc, 1.0), (rdn, tau * s.eta_charge)], hi=s.energy_mwh)
        q_price = pr.dlfm_q_eur_per_mvarh.get(s.bus)
        if dlfm and q_price is not None:
            s_max = s.s_max_mva if s.s_max_mva is not None else s.power_mw
            q = lp.variables(t, -s_max, s_max, -dt * np.asarray(q_price, dtype=np.float64))
            # Faces at s_max*cos(pi/8): the octagon's corners lie on the circle, so every
            # (p, q) it allows is within the apparent-power rating.
            for c, sn in OCTAGON:
                lp.rows([(dis, c), (ch, -c), (q, sn)], hi=s_max * math.cos(math.pi / 8))
        at_bus(s.bus, dis, 1.0, np.full(t, -s.power_mw), np.full(t, s.power_mw))
        phys.append((ch, -1.0))
        by_bus[s.bus].append((ch, -1.0))
        storages.append(_StorageVars(ch, dis, soc, soc_rows, rup, rdn, q))
    loads = []
    for fl in pf.flexible_loads:
        p = lp.variables(t, fl.p_min_mw, fl.p_max_mw)
        energy_row = lp.sum_row(p, dt, fl.energy_mwh, fl.energy_mwh)
        lrup = lrdn = None
        if reserve:
            lrup = lp.variables(t, 0.0, INF, -dt * up)
            lrdn = lp.variables(t, 0.0, INF, -dt * dn)
            lp.rows([(lrup, 1.0), (p, -1.0)], hi=-fl.p_min_mw)
            lp.rows([(lrdn, 1.0), (p, 1.0)], hi=fl.p_max_mw)
        at_bus(fl.bus, p, -1.0, np.full(t, -fl.p_max_mw), np.full(t, -fl.p_min_mw))
        loads.append((p, lrup, lrdn, energy_row))
    fixed = np.zeros(t)
    for il in pf.inflexible_loads:
        fixed -= np.asarray(il.p_mw, dtype=np.float64)
        old = bounds.get(il.bus, (np.zeros(t), np.zeros(t)))
        bounds[il.bus] = (old[0] - il.p_mw, old[1] - il.p_mw)
    res = []
    for r in pf.renewables:
        avail = np.asarray(r.available_mw, dtype=np.float64)
        g = lp.variables(t, 0.0 if r.curtailable else avail, avail)
        at_bus(r.bus, g, 1.0, np.zeros(t) if r.curtailable else avail, avail)
        res.append(g)
    f: dict[str, Ints] = {}
    if dlfm:
        for bus, price in pr.dlfm_p_eur_per_mwh.items():
            if bus not in bounds:
                continue  # no asset there: nothing to deliver
            cap = pr.dlfm_limit_mw if pr.dlfm_limit_mw is not None else INF
            fb = lp.variables(t, -cap, cap, -dt * np.asarray(price, dtype=np.float64))
            f[bus] = fb
            lo, hi = bounds[bus]
            fixed_here = np.zeros(t)
            for il in pf.inflexible_loads:
                if il.bus == bus:
                    fixed_here -= np.asarray(il.p_mw, dtype=np.float64)
            # The day-ahead schedule of the bus (physical minus DLFM deviation) stays feasible.
            lp.rows([*by_bus.get(bus, []), (fb, -1.0)], lo=lo - fixed_here, hi=hi - fixed_here)
    terms = [*phys, (e_da, -1.0), *((fb, -1.0) for fb in f.values())]
    lp.rows(terms, lo=-fixed, hi=-fixed)
    return _Model(
        lp,
        e_da,
        storages,
        loads,
        res,
        f,
        np.concatenate(binaries) if binaries else np.zeros(0, dtype=np.int64),
    )


def _conflicts(model: _Model, x: Floats) -> Ints:
    """Binary columns of the periods where a storage charges and discharges at once."""
    out = [
        model.binaries[k * len(v.ch) : (k + 1) * len(v.ch)][np.minimum(x[v.ch], x[v.dis]) > 1e-7]
        for k, v in enumerate(model.storages)
    ]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _solve(model: _Model, time_limit_s: float) -> tuple[Solved, Solved | None]:
    """The MILP, solved exactly but lazily: a relaxation whose optimum is feasible for the MILP
    is optimal for it, so the LP is solved first and integrality is imposed only on the periods
    where a storage charges and discharges at once, until none does (usually no period: with
    efficiencies below one that only pays at negative prices). Then, for the water values, the
    LP with the binaries fixed at the charging pattern found."""
    lp_model = model.lp
    if model.binaries.size == 0:
        solved = lp_model.solve(time_limit_s=time_limit_s)
        return solved, solved if solved.status == "optimal" else None
    integer = np.zeros(0, dtype=np.int64)
    solved = lp_model.solve(time_limit_s=time_limit_s, relax=True)
    for _ in range(8):
        if solved.status != "optimal":
            return solved, None
        conflict = _conflicts(model, solved.x)
        if conflict.size == 0:
            break
        integer = np.union1d(integer, conflict)
        solved = lp_model.solve(time_limit_s=time_limit_s, integer_only=integer)
    else:
        solved = lp_model.solve(time_limit_s=time_limit_s)  # the full MILP as the last resort
        if solved.status != "optimal":
            return solved, None
    pattern = np.concatenate([(solved.x[v.ch] > 1e-9).astype(np.float64) for v in model.storages])
    lp_model.fix(model.binaries, pattern)
    priced = lp_model.solve(time_limit_s=time_limit_s, relax=True)
    return solved, priced if priced.status == "optimal" else None


def _vals(x: Floats, cols: Ints | None) -> list[float]:
    return [] if cols is None else [float(v) for v in np.round(x[cols], 9)]


def schedule(data: ScheduleInput) -> ScheduleResult:
    try:
        t = _check(data)
    except ScheduleError as exc:
        return ScheduleResult(status="error", condition="invalid_input", message=str(exc))
    result = _schedule(data, t)
    if not data.options.compare_markets or result.status != "optimal":
        return result
    alone: dict[str, float | None] = {}
    for market in data.options.markets:
        single = _schedule(
            ScheduleInput(
                portfolio=data.portfolio,
                prices=data.prices,
                options=_with_markets(data, [market]),
            ),
            t,
        )
        alone[market] = single.profit_eur if single.status == "optimal" else None
    feasible = {m: v for m, v in alone.items() if v is not None}
    best = max(feasible, key=lambda m: feasible[m]) if feasible else None
    co = result.profit_eur or 0.0
    stacking = StackingReport(
        profit_by_market_alone_eur=alone,
        best_single_market=best,
        co_optimised_profit_eur=co,
        stacking_gain_eur=co - feasible[best] if best is not None else co,
    )
    return msgspec.structs.replace(result, stacking=stacking)


def _with_markets(data: ScheduleInput, markets: list[Market]) -> ScheduleOptions:
    return msgspec.structs.replace(data.options, markets=markets, compare_markets=False)


def _schedule(data: ScheduleInput, t: int) -> ScheduleResult:
    model = _build(data, t)
    milp, lp = _solve(model, data.options.time_limit_s)
    if milp.status != "optimal":
        return ScheduleResult(
            status=milp.status,  # type: ignore[arg-type]
            condition=milp.condition,
            message="no feasible schedule" if milp.status == "infeasible" else milp.condition,
            solve_time_s=milp.solve_time_s,
        )
    x = milp.x
    pf, pr, opt = data.portfolio, data.prices, data.options
    dt = opt.period_hours
    da = np.asarray(pr.day_ahead_eur_per_mwh, dtype=np.float64)
    up = np.asarray(pr.reserve_up_eur_per_mw_h or [0.0] * t, dtype=np.float64)
    dn = np.asarray(pr.reserve_down_eur_per_mw_h or [0.0] * t, dtype=np.float64)
    r_up, r_dn = np.zeros(t), np.zeros(t)
    assets: list[AssetSchedule] = []
    water: dict[str, list[float]] = {}
    cost = 0.0
    q_rev = 0.0
    for s, v in zip(pf.storages, model.storages, strict=True):
        p = x[v.dis] - x[v.ch]
        cost += float(dt * s.cycle_cost_eur_per_mwh * x[v.dis].sum())
        if v.rup is not None and v.rdn is not None:
            r_up += x[v.rup]
            r_dn += x[v.rdn]
        if v.q is not None:
            q_rev += float(dt * np.dot(pr.dlfm_q_eur_per_mvarh[s.bus], x[v.q]))
        if lp is not None:
            # d objective / d rhs of the SoC balance is minus the value of one more stored MWh.
            water[s.id] = [float(w) for w in np.round(-lp.row_dual[v.soc_rows], 9)]
        assets.append(
            AssetSchedule(
                asset_id=s.id,
                bus=s.bus,
                p_mw=[float(v) for v in np.round(p, 9)],
                soc_mwh=_vals(x, v.soc),
                q_mvar=_vals(x, v.q),
                reserve_up_mw=_vals(x, v.rup),
                reserve_down_mw=_vals(x, v.rdn),
            )
        )
    for fl, (p_cols, lrup, lrdn, _row) in zip(pf.flexible_loads, model.loads, strict=True):
        if lrup is not None and lrdn is not None:
            r_up += x[lrup]
            r_dn += x[lrdn]
        assets.append(
            AssetSchedule(
                asset_id=fl.id,
                bus=fl.bus,
                p_mw=[-v for v in _vals(x, p_cols)],
                reserve_up_mw=_vals(x, lrup),
                reserve_down_mw=_vals(x, lrdn),
            )
        )
    for il in pf.inflexible_loads:
        assets.append(AssetSchedule(asset_id=il.id, bus=il.bus, p_mw=[-v for v in il.p_mw]))
    for r, g in zip(pf.renewables, model.res, strict=True):
        assets.append(AssetSchedule(asset_id=r.id, bus=r.bus, p_mw=_vals(x, g)))
    e_da = x[model.e_da]
    f = {b: x[cols] for b, cols in model.f.items()}
    revenue = MarketRevenue(
        day_ahead_eur=float(dt * np.dot(da, e_da)),
        reserve_eur=float(dt * (np.dot(up, r_up) + np.dot(dn, r_dn))),
        dlfm_p_eur=float(sum(dt * np.dot(pr.dlfm_p_eur_per_mwh[b], v) for b, v in f.items())),
        dlfm_q_eur=q_rev,
        asset_cost_eur=cost,
    )
    q_by_bus: dict[str, list[float]] = {}
    for s, v in zip(pf.storages, model.storages, strict=True):
        if v.q is not None:
            prev = np.asarray(q_by_bus.get(s.bus, [0.0] * t))
            q_by_bus[s.bus] = [float(a) for a in np.round(prev + x[v.q], 9)]
    result = ScheduleResult(
        status="optimal",
        condition=milp.condition,
        start=opt.start,
        period_hours=dt,
        profit_eur=revenue.profit_eur,
        opex_eur=-revenue.profit_eur,
        revenue=revenue,
        day_ahead_mw=[float(v) for v in np.round(e_da, 9)],
        dlfm_p_mw={b: [float(a) for a in np.round(v, 9)] for b, v in f.items()},
        dlfm_q_mvar=q_by_bus,
        reserve_up_mw=[float(v) for v in np.round(r_up, 9)],
        reserve_down_mw=[float(v) for v in np.round(r_dn, 9)],
        assets=assets,
        water_value_eur_per_mwh=water,
        solve_time_s=milp.solve_time_s
        + (lp.solve_time_s if lp is not None and lp is not milp else 0.0),
    )
    return msgspec.structs.replace(result, bids=build_bids(data, result, t))


def build_bids(data: ScheduleInput, result: ScheduleResult, t: int) -> list[Bid]:
    """Price-quantity curves per market and period (see the module docstring)."""
    pf = data.portfolio
    bids: list[Bid] = []
    markets = set(data.options.markets)
    for k in range(t):
        steps: list[BidStep] = []
        for s in pf.storages:
            w = result.water_value_eur_per_mwh.get(s.id)
            if w is None:
                continue
            steps.append(BidStep(price=w[k] / s.eta_discharge, quantity=s.power_mw))
            steps.append(BidStep(price=w[k] * s.eta_charge, quantity=-s.power_mw))
        for fl in pf.flexible_loads:
            steps.append(BidStep(price=PRICE_CAP_EUR_PER_MWH, quantity=-fl.p_min_mw))
        for il in pf.inflexible_loads:
            steps.append(BidStep(price=PRICE_CAP_EUR_PER_MWH, quantity=-il.p_mw[k]))
        for r in pf.renewables:
            floor = 0.0 if r.curtailable else PRICE_FLOOR_EUR_PER_MWH
            steps.append(BidStep(price=floor, quantity=r.available_mw[k]))
        if "day_ahead" in markets:
            bids.append(
                Bid(
                    market="day_ahead",
                    bus="portfolio",
                    period_index=k,
                    steps=sorted(steps, key=lambda s: s.price),
                )
            )
        if "reserve" in markets:
            bids.append(
                Bid(
                    market="reserve_up",
                    bus="portfolio",
                    period_index=k,
                    steps=[BidStep(price=0.0, quantity=result.reserve_up_mw[k])],
                )
            )
            bids.append(
                Bid(
                    market="reserve_down",
                    bus="portfolio",
                    period_index=k,
                    steps=[BidStep(price=0.0, quantity=result.reserve_down_mw[k])],
                )
            )
        for bus, dev in result.dlfm_p_mw.items():
            if abs(dev[k]) < 1e-9:
                continue
            here = [
                s for s in pf.storages if s.bus == bus and s.id in result.water_value_eur_per_mwh
            ]
            if dev[k] > 0:
                price = min(
                    (result.water_value_eur_per_mwh[s.id][k] / s.eta_discharge for s in here),
                    default=0.0,
                )
            else:
                price = max(
                    (result.water_value_eur_per_mwh[s.id][k] * s.eta_charge for s in here),
                    default=0.0,
                )
            bids.append(
                Bid(
                    market="dlfm_p",
                    bus=bus,
                    period_index=k,
                    steps=[BidStep(price=price, quantity=dev[k])],
                )
            )
        for bus, q in result.dlfm_q_mvar.items():
            if abs(q[k]) > 1e-9:
                bids.append(
                    Bid(
                        market="dlfm_q",
                        bus=bus,
                        period_index=k,
                        steps=[BidStep(price=0.0, quantity=q[k])],
                    )
                )
    return bids
