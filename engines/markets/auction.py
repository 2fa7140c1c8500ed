"""The wholesale day-ahead auction: :class:`DayAheadAuction` in, :class:`DayAheadResult` out.

Uniform-price double auction per period, cleared jointly with the DC network of the transmission case
(``dcopf``): welfare = buy orders' value - sell orders' cost is maximised subject to nodal balances
(the case's loads, scaled per period, are inelastic) and branch limits. Every accepted order is settled
at the price of its bus; the congestion rent is what buyers pay minus what sellers receive.
"""

from __future__ import annotations

import numpy as np

from engines.markets.dcgrid import DcGrid, FloatArray, case_grid
from engines.markets.dcopf import DcopfSolution, Quantities, solve_dcopf
from gateway.messages.problems import FieldError
from gateway.messages.wholesale import DayAheadAuction, DayAheadPeriod, DayAheadResult, OrderAward


def validate_auction(auction: DayAheadAuction, grid: DcGrid) -> list[FieldError]:
    """Named checks of what the schema cannot say; empty when the auction can be cleared."""
    errors: list[FieldError] = []
    if auction.system_load_scaling and len(auction.system_load_scaling) != auction.periods:
        errors.append(FieldError(
            location="$.system_load_scaling",
            message=f"{len(auction.system_load_scaling)} factors for {auction.periods} periods",
        ))  # fmt: skip
    for i, bus in enumerate(auction.coupling_buses):
        if bus not in grid.row_of:
            errors.append(FieldError(
                location=f"$.coupling_buses[{i}]",
                message=f"bus {bus!r} is not in {auction.network} (0..{grid.n_bus - 1})",
            ))  # fmt: skip
    seen: set[str] = set()
    for i, order in enumerate(auction.orders):
        where = f"$.orders[{i}]"
        if order.id in seen:
            errors.append(
                FieldError(location=f"{where}.id", message=f"duplicate order id {order.id!r}")
            )
        seen.add(order.id)
        if order.bus not in grid.row_of:
            errors.append(FieldError(
                location=f"{where}.bus",
                message=f"bus {order.bus!r} is not in {auction.network} (0..{grid.n_bus - 1})",
            ))  # fmt: skip
        late = [p for p in order.periods if p >= auction.periods]
        if late:
            errors.append(FieldError(
                location=f"{where}.periods",
                message=f"periods {late} outside the auction's {auction.periods} periods",
            ))  # fmt: skip
        if len(set(order.periods)) != len(order.periods):
            errors.append(FieldError(location=f"{where}.periods", message="repeated period"))
    return errors + _withdrawal_errors(auction, grid)


def _withdrawal_errors(auction: DayAheadAuction, grid: DcGrid) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[tuple[str, int]] = set()
    for i, w in enumerate(auction.area_withdrawals):
        where = f"$.area_withdrawals[{i}]"
        if w.bus not in grid.row_of:
            errors.append(FieldError(
                location=f"{where}.bus",
                message=f"bus {w.bus!r} is not in {auction.network} (0..{grid.n_bus - 1})",
            ))  # fmt: skip
        if w.period_index >= auction.periods:
            errors.append(FieldError(
                location=f"{where}.period_index",
                message=f"period {w.period_index} outside the auction's {auction.periods} periods",
            ))  # fmt: skip
        if (w.bus, w.period_index) in seen:
            errors.append(FieldError(
                location=where, message=f"a second withdrawal at bus {w.bus!r} in that period"
            ))  # fmt: skip
        seen.add((w.bus, w.period_index))
    return errors


def system_load(auction: DayAheadAuction, grid: DcGrid) -> FloatArray:
    """The case's loads per period (periods, buses) in MW."""
    scaling = np.asarray(auction.system_load_scaling or [1.0] * auction.periods)
    return scaling[:, None] * grid.load_mw[None, :]


def area_load(auction: DayAheadAuction, grid: DcGrid) -> FloatArray:
    """The distribution areas' withdrawals per period (periods, buses) in MW."""
    out = np.zeros((auction.periods, grid.n_bus))
    for w in auction.area_withdrawals:
        out[w.period_index, grid.row_of[w.bus]] += w.p_mw
    return out


def _quantities(auction: DayAheadAuction, grid: DcGrid) -> tuple[Quantities, list[tuple[int, int]]]:
    """One column per (order, period); returns the columns' (order index, period)."""
    cols = [(k, p) for k, o in enumerate(auction.orders) for p in o.periods]
    orders = auction.orders
    sign = np.array([1.0 if orders[k].side == "sell" else -1.0 for k, _ in cols])
    price = np.array([orders[k].price_eur_per_mwh for k, _ in cols])
    q = Quantities(
        bus=np.array([grid.row_of[orders[k].bus] for k, _ in cols], np.int64),
        period=np.array([p for _, p in cols], np.int64),
        sign=sign,
        upper_mw=np.array([orders[k].quantity_mw for k, _ in cols]),
        cost=sign * price,
        block=np.array([k if orders[k].block else -1 for k, _ in cols], np.int64),
    )
    return q, cols


def _periods(
    auction: DayAheadAuction,
    grid: DcGrid,
    sol: DcopfSolution,
    cols: list[tuple[int, int]],
    load: FloatArray,
) -> list[DayAheadPeriod]:
    hours = auction.resolution_minutes / 60.0
    awards: list[list[OrderAward]] = [[] for _ in range(auction.periods)]
    for (k, p), q in zip(cols, sol.q_mw, strict=True):
        order = auction.orders[k]
        price = float(sol.lmp[p, grid.row_of[order.bus]])
        sign = 1.0 if order.side == "sell" else -1.0
        accepted = max(float(q), 0.0) if q > 1e-9 else 0.0
        awards[p].append(OrderAward(
            order_id=order.id, participant_id=order.participant_id, side=order.side,
            period_index=p, accepted_mw=accepted, price_eur_per_mwh=price,
            amount_eur=sign * price * accepted * hours,
        ))  # fmt: skip
    return [
        DayAheadPeriod(
            period_index=p,
            coupling_prices_eur_per_mwh={
                b: float(sol.lmp[p, grid.row_of[b]]) for b in auction.coupling_buses
            },
            min_price_eur_per_mwh=float(sol.lmp[p].min()),
            max_price_eur_per_mwh=float(sol.lmp[p].max()),
            system_load_mw=float(load[p].sum()),
            congested_branches=[grid.branch_ids[i] for i in np.flatnonzero(sol.binding[p])],
            awards=awards[p],
        )
        for p in range(auction.periods)
    ]


def clear_day_ahead(
    auction: DayAheadAuction, extra_load_mw: FloatArray | None = None, grid: DcGrid | None = None
) -> DayAheadResult:
    """Clear a validated auction. The areas' withdrawals and ``extra_load_mw`` (periods, buses)
    are fixed withdrawals on top of the case's loads."""
    grid = grid or case_grid(auction.network)
    load = system_load(auction, grid)
    fixed = load + area_load(auction, grid)
    if extra_load_mw is not None:
        fixed = fixed + extra_load_mw
    q, cols = _quantities(auction, grid)
    sol = solve_dcopf(grid, q, auction.periods, fixed)
    if sol.status != "optimal":
        return DayAheadResult(
            auction_id=auction.auction_id,
            status=sol.status,  # type: ignore[arg-type]
            condition=sol.condition,
            message="no dispatch meets the inelastic load within the network limits"
            if sol.status == "infeasible"
            else sol.condition,
            solve_time_s=sol.solve_time_s,
        )
    hours = auction.resolution_minutes / 60.0
    sell = q.sign > 0
    cost = float((q.cost[sell] * sol.q_mw[sell]).sum()) * hours
    periods = _periods(auction, grid, sol, cols, load)
    paid = sum(a.amount_eur for per in periods for a in per.awards)
    # fixed loads pay their bus price too: rent = what every withdrawal pays - what sellers get
    load_paid = float((sol.lmp * fixed).sum()) * hours
    return DayAheadResult(
        auction_id=auction.auction_id,
        status="optimal",
        condition=sol.condition,
        welfare_eur=-sol.objective_eur * hours,
        generation_cost_eur=cost,
        congestion_rent_eur=load_paid - paid,
        solve_time_s=sol.solve_time_s,
        periods=periods,
    )
