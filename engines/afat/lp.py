"""The portfolio as one linear programme, assembled as numpy arrays (no modelling layer: at
10,000 prosumers x 96 slots a modelling layer's per-variable objects cost more than the solve).

Columns are device variables (kW per slot, kWh of state of charge). Energy is bought at the
forecast price, so each device column's cost is its owner's discomfort or wear plus the energy
its prosumption costs. Only the slots a request couples get a balance row and an aggregate
column `P_t` (the portfolio's net prosumption there): `P_t - sum(device contributions at t) =
sum(fixed prosumption at t)`. `P_t` is free and costless until a request prices and bounds it;
the rows' duals are then the portfolio's marginal value of a kW in those slots. Everything
else is block-diagonal by prosumer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from engines.afat.portfolio import Prosumer

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

SETPOINTS = ("battery_kw", "ev_kw", "shiftable_kw", "curtailed_kw", "pv_curtailed_kw")
"""Per-prosumer setpoint series read back from a solution (sum over devices of a kind)."""


@dataclass
class _Triplets:
    rows: list[IntArray] = field(default_factory=list)
    cols: list[IntArray] = field(default_factory=list)
    vals: list[FloatArray] = field(default_factory=list)

    def add(self, rows: IntArray, cols: IntArray, vals: FloatArray | float) -> None:
        self.rows.append(rows)
        self.cols.append(cols)
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=np.float64), rows.shape))

    def matrix(self, shape: tuple[int, int]) -> sp.csc_matrix:
        if not self.rows:
            return sp.csc_matrix(shape)
        return sp.csc_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=shape,
        )


@dataclass(frozen=True)
class DeviceLayout:
    """Which columns and rows belong to which non-storage device: the structure that
    `engines.afat.plain_response` solves in closed form once the balance rows are priced.
    A device's columns are consecutive, one per slot of its window in slot order."""

    pv_spill_cols: IntArray  # PV spill per producing slot: a box with no row
    curtail_cols: IntArray  # curtailable load segments: boxes with no row
    ev_first_col: IntArray  # per EV: its charging columns start here ...
    ev_col_count: IntArray  # ... and number this many (its window cut by the horizon)
    ev_row: IntArray  # per EV: kwh_per_kw * sum(charging) = energy need
    ev_kwh_per_kw: FloatArray  # per EV: efficiency * slot hours
    shiftable_first_col: IntArray  # per shiftable load: its power columns start here ...
    shiftable_col_count: IntArray  # ... and number this many
    shiftable_row: IntArray  # per shiftable load: sum(power) = preferred energy
    moved_cols: IntArray  # kW moved away from a preferred slot (only with discomfort > 0)
    moved_x_col: IntArray  # the power column of that preferred slot
    moved_row: IntArray  # moved + power >= preferred kW

    @classmethod
    def of(cls, b: _Builder) -> DeviceLayout:
        def ints(parts: list[IntArray]) -> IntArray:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

        return cls(
            pv_spill_cols=ints(b.pv_spill),
            curtail_cols=ints(b.curtail),
            ev_first_col=np.array([e[0] for e in b.ev], dtype=np.int64),
            ev_col_count=np.array([e[1] for e in b.ev], dtype=np.int64),
            ev_row=np.array([e[2] for e in b.ev], dtype=np.int64),
            ev_kwh_per_kw=np.array([e[3] for e in b.ev], dtype=np.float64),
            shiftable_first_col=np.array([s[0] for s in b.shiftable], dtype=np.int64),
            shiftable_col_count=np.array([s[1] for s in b.shiftable], dtype=np.int64),
            shiftable_row=np.array([s[2] for s in b.shiftable], dtype=np.int64),
            moved_cols=ints(b.moved[0]),
            moved_x_col=ints(b.moved[1]),
            moved_row=ints(b.moved[2]),
        )


@dataclass
class PortfolioLp:
    """The assembled LP plus the maps that turn a solution back into per-prosumer series."""

    slots: int
    users: int
    cost: FloatArray  # EUR per unit of column value: energy plus discomfort and wear
    discomfort_cost: FloatArray  # the discomfort and wear part of `cost`
    energy_price_eur_per_kwh: FloatArray  # per slot
    lower: FloatArray
    upper: FloatArray
    matrix: sp.csc_matrix
    row_lower: FloatArray
    row_upper: FloatArray
    p_cols: IntArray  # aggregate prosumption column per coupled slot
    balance_rows: IntArray  # balance row per coupled slot
    owner: IntArray  # prosumer index of each column, -1 for aggregate columns
    fixed_kw: FloatArray  # users x slots: prosumption that no decision changes
    contribution: sp.csr_matrix  # (users*slots) x cols: a user's prosumption from columns
    setpoints: dict[str, sp.csr_matrix]  # (users*slots) x cols per setpoint series
    soc: sp.csr_matrix  # (users*slots) x cols: battery state of charge at each slot's end
    # Device structure as `build` laid it out; None for LPs derived from one (`reduction`).
    devices: DeviceLayout | None = None

    def prosumption_kw(self, x: FloatArray) -> FloatArray:
        return self.fixed_kw + np.asarray(self.contribution @ x, dtype=np.float64).reshape(
            self.users, self.slots
        )

    def series(self, name: str, x: FloatArray) -> FloatArray:
        return np.asarray(self.setpoints[name] @ x).reshape(self.users, self.slots)

    def soc_kwh(self, x: FloatArray) -> FloatArray:
        return np.asarray(self.soc @ x).reshape(self.users, self.slots)

    def discomfort_eur(self, x: FloatArray) -> FloatArray:
        """Each prosumer's discomfort and wear cost (device columns' costs)."""
        mine = self.owner >= 0
        return np.bincount(
            self.owner[mine], weights=self.discomfort_cost[mine] * x[mine], minlength=self.users
        ).astype(np.float64)


@dataclass(frozen=True)
class Readout:
    """What the result reports of a solution, per prosumer (users x slots arrays)."""

    prosumption_kw: FloatArray
    discomfort_eur: FloatArray
    series: dict[str, FloatArray]
    soc_kwh: FloatArray

    @classmethod
    def of(cls, lp: PortfolioLp, x: FloatArray) -> Readout:
        return cls(
            prosumption_kw=lp.prosumption_kw(x),
            discomfort_eur=lp.discomfort_eur(x),
            series={name: lp.series(name, x) for name in SETPOINTS},
            soc_kwh=lp.soc_kwh(x),
        )

    @classmethod
    def stack(cls, parts: list[Readout]) -> Readout:
        return cls(
            prosumption_kw=np.vstack([p.prosumption_kw for p in parts]),
            discomfort_eur=np.concatenate([p.discomfort_eur for p in parts]),
            series={n: np.vstack([p.series[n] for p in parts]) for n in SETPOINTS},
            soc_kwh=np.vstack([p.soc_kwh for p in parts]),
        )


class _Builder:
    def __init__(self, users: int, slots: int, slot_hours: float) -> None:
        self.users, self.slots, self.dt = users, slots, slot_hours
        self.cost: list[FloatArray] = []
        self.lower: list[FloatArray] = []
        self.upper: list[FloatArray] = []
        self.owner: list[IntArray] = []
        self.ncols = 0
        self.nrows = 0
        self.row_lower: list[FloatArray] = []
        self.row_upper: list[FloatArray] = []
        self.a = _Triplets()
        self.contrib = _Triplets()
        self.setpoint = {name: _Triplets() for name in SETPOINTS}
        self.soc = _Triplets()
        self.fixed = np.zeros((users, slots))
        # Device layout (`DeviceLayout`): EVs as (first col, count, row, kWh per kW),
        # shiftables as (first col, count, row), moved-energy columns as (cols, x cols, rows).
        self.pv_spill: list[IntArray] = []
        self.curtail: list[IntArray] = []
        self.ev: list[tuple[int, int, int, float]] = []
        self.shiftable: list[tuple[int, int, int]] = []
        self.moved: tuple[list[IntArray], list[IntArray], list[IntArray]] = ([], [], [])

    def cols(
        self,
        user: int,
        cost: FloatArray | float,
        lower: FloatArray | float,
        upper: FloatArray | float,
        n: int,
    ) -> IntArray:
        start = self.ncols
        self.ncols += n
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (n,)))
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,)))
        self.owner.append(np.full(n, user, dtype=np.int64))
        return np.arange(start, start + n, dtype=np.int64)

    def rows(self, lower: FloatArray | float, upper: FloatArray | float, n: int) -> IntArray:
        start = self.nrows
        self.nrows += n
        self.row_lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,)))
        self.row_upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,)))
        return np.arange(start, start + n, dtype=np.int64)

    def contributes(
        self, user: int, slots: IntArray, cols: IntArray, sign: float, setpoint: str
    ) -> None:
        """`sign` is the column's effect on prosumption; setpoints report magnitudes of
        curtailment (positive when load is cut) and signed battery power."""
        keys = user * self.slots + slots
        self.contrib.add(keys, cols, sign)
        self.setpoint[setpoint].add(keys, cols, 1.0 if setpoint == "curtailed_kw" else sign)


def build(
    prosumers: list[Prosumer],
    slots: int,
    slot_hours: float,
    energy_price_eur_per_mwh: FloatArray,
    coupled_slots: IntArray,
) -> PortfolioLp:
    """Assemble the portfolio LP: energy bought at `energy_price_eur_per_mwh`, balance rows
    (and aggregate columns, free and costless until a request prices them) only for
    `coupled_slots`."""
    b = _Builder(len(prosumers), slots, slot_hours)
    dt = slot_hours
    for i, p in enumerate(prosumers):
        b.fixed[i] += np.asarray(p.inflexible_kw, dtype=np.float64)
        if p.pv is not None:
            _pv(b, i, np.asarray(p.pv.forecast_kw, dtype=np.float64), p.pv.curtailable)
        if p.battery is not None:
            bat = p.battery
            t = np.arange(slots, dtype=np.int64)
            ch = b.cols(i, 0.0, 0.0, bat.p_charge_max_kw, slots)
            dis = b.cols(
                i, bat.degradation_eur_per_mwh / 1000 * dt, 0.0, bat.p_discharge_max_kw, slots
            )
            upper = np.full(slots, bat.soc_upper_kwh)
            lower = np.full(slots, bat.soc_min_kwh)
            lower[-1] = max(bat.soc_min_kwh, bat.soc_final_kwh)
            soc = b.cols(i, 0.0, lower, upper, slots)
            # soc_t - soc_{t-1} - eta_c dt ch_t + dt / eta_d dis_t = soc_initial if t == 0 else 0
            rhs = np.zeros(slots)
            rhs[0] = bat.soc_initial_kwh
            r = b.rows(rhs, rhs, slots)
            b.a.add(r, soc, 1.0)
            b.a.add(r[1:], soc[:-1], -1.0)
            b.a.add(r, ch, -bat.efficiency_charge * dt)
            b.a.add(r, dis, dt / bat.efficiency_discharge)
            b.contributes(i, t, ch, 1.0, "battery_kw")
            b.contributes(i, t, dis, -1.0, "battery_kw")
            b.soc.add(i * slots + t, soc, 1.0)
        if p.ev is not None:
            ev = p.ev
            t = np.arange(ev.arrival_slot, min(ev.departure_slot, slots), dtype=np.int64)
            delay_h = ((t - ev.arrival_slot) * dt).astype(np.float64)
            e = b.cols(
                i, ev.delay_cost_eur_per_mwh_h / 1000 * dt * delay_h, 0.0, ev.p_max_kw, len(t)
            )
            r = b.rows(ev.energy_need_kwh, ev.energy_need_kwh, 1)
            b.a.add(np.repeat(r, len(t)), e, ev.efficiency * dt)
            b.ev.append((b.ncols - len(t), len(t), int(r[0]), ev.efficiency * dt))
            b.contributes(i, t, e, 1.0, "ev_kw")
        for s in p.shiftable:
            _shiftable(
                b,
                i,
                s.profile_kw,
                s.preferred_start_slot,
                s.earliest_slot,
                s.latest_end_slot,
                s.p_max_kw,
                s.discomfort_eur_per_mwh,
            )
        if p.curtailable is not None:
            c = p.curtailable
            demand = np.asarray(c.demand_kw, dtype=np.float64)
            b.fixed[i] += demand
            t = np.flatnonzero(demand > 0)
            share = c.max_curtail_fraction / len(c.discomfort_eur_per_mwh)
            if share > 0 and len(t):
                for price in c.discomfort_eur_per_mwh:
                    col = b.cols(i, price / 1000 * dt, 0.0, share * demand[t], len(t))
                    b.contributes(i, t, col, -1.0, "curtailed_kw")
                    b.curtail.append(col)
    return _finish(b, np.asarray(energy_price_eur_per_mwh, dtype=np.float64), coupled_slots)


def build_without_batteries(
    prosumers: list[Prosumer],
    slots: int,
    slot_hours: float,
    energy_price_eur_per_mwh: FloatArray,
    coupled_slots: IntArray,
) -> PortfolioLp:
    """The portfolio LP of every device but the batteries (the solvers that treat batteries
    apart: `storage_split`, `storage_window`, `prosumer_columns`)."""
    plain = [
        p if p.battery is None else msgspec.structs.replace(p, battery=None) for p in prosumers
    ]
    return build(plain, slots, slot_hours, energy_price_eur_per_mwh, coupled_slots)


def _pv(b: _Builder, i: int, forecast: FloatArray, curtailable: bool) -> None:
    b.fixed[i] -= forecast
    t = np.flatnonzero(forecast > 0)
    if curtailable and len(t):
        col = b.cols(i, 0.0, 0.0, forecast[t], len(t))
        b.contributes(i, t, col, 1.0, "pv_curtailed_kw")
        b.pv_spill.append(col)


def _shiftable(
    b: _Builder,
    i: int,
    profile: list[float],
    start: int,
    earliest: int,
    latest_end: int,
    p_max: float,
    discomfort: float,
) -> None:
    slots = b.slots
    pref = np.zeros(slots)
    pref[start : start + len(profile)] = profile
    t = np.arange(earliest, min(latest_end, slots), dtype=np.int64)
    x = b.cols(i, 0.0, 0.0, p_max, len(t))
    total = float(pref.sum())
    r = b.rows(total, total, 1)
    b.a.add(np.repeat(r, len(t)), x, 1.0)
    b.shiftable.append((b.ncols - len(t), len(t), int(r[0])))
    b.contributes(i, t, x, 1.0, "shiftable_kw")
    # y_t >= pref_t - x_t: the energy moved away from its preferred slot, paid as discomfort.
    tp = np.flatnonzero(pref > 0)
    if len(tp) and discomfort > 0:
        y = b.cols(i, discomfort / 1000 * b.dt, 0.0, np.inf, len(tp))
        ry = b.rows(pref[tp], np.inf, len(tp))
        paired = x[np.searchsorted(t, tp)]
        b.a.add(ry, y, 1.0)
        b.a.add(ry, paired, 1.0)
        b.moved[0].append(y)
        b.moved[1].append(paired)
        b.moved[2].append(ry)


def _finish(b: _Builder, price: FloatArray, coupled: IntArray) -> PortfolioLp:
    slots, dt = b.slots, b.dt
    n = len(coupled)
    p_cols = b.cols(-1, 0.0, -np.inf, np.inf, n)
    fixed_total = b.fixed.sum(axis=0)[coupled]
    balance = b.rows(fixed_total, fixed_total, n)
    b.a.add(balance, p_cols, 1.0)
    contrib = b.contrib.matrix((b.users * slots, b.ncols)).tocsr()
    # Balance rows: P_t - sum over users of their contributions at t (coupled slots only).
    coo = contrib.tocoo()
    where = np.full(slots, -1, dtype=np.int64)
    where[coupled] = np.arange(n)
    row = where[coo.row % slots]
    keep = row >= 0
    b.a.add(balance[row[keep]], coo.col[keep].astype(np.int64), -coo.data[keep])
    # Energy is bought per kWh of prosumption: its price lands on the device columns.
    per_key = np.tile(price / 1000 * dt, b.users)
    discomfort = np.concatenate(b.cost)
    energy = np.asarray(contrib.T @ per_key)
    shape = (b.users * slots, b.ncols)
    return PortfolioLp(
        slots=slots,
        users=b.users,
        cost=discomfort + energy,
        discomfort_cost=discomfort,
        energy_price_eur_per_kwh=price / 1000,
        lower=np.concatenate(b.lower),
        upper=np.concatenate(b.upper),
        matrix=b.a.matrix((b.nrows, b.ncols)),
        row_lower=np.concatenate(b.row_lower),
        row_upper=np.concatenate(b.row_upper),
        p_cols=p_cols,
        balance_rows=balance,
        owner=np.concatenate(b.owner),
        fixed_kw=b.fixed,
        contribution=contrib,
        setpoints={k: v.matrix(shape).tocsr() for k, v in b.setpoint.items()},
        soc=b.soc.matrix(shape).tocsr(),
        devices=DeviceLayout.of(b),
    )
