"""What a battery's slots outside a request's window are worth, as an exact function of its
state of charge at the window's edges.

A request prices only a few slots (an evening peak). Outside them every battery faces the fixed
forecast energy price, so its best schedule there depends on one number only: the state of
charge where the window begins (for the slots before it) or ends (for the slots after it). The
cheapest cost of the slots before the window as a function of the SoC reached at its start is
convex and piecewise linear, and so is the cost of the slots after it as a function of the SoC
it starts from: the state moves by `u_t` per slot at a per-slot cost `phi_t(u_t)` that is
convex piecewise linear (discharge up to `G`, charge up to `E`, in kWh stored), SoC bounds clip
the domain, and

    V_t = clip(V_{t-1} [] phi_t)        ([] is the infimal convolution)

is a merge of the two functions' segments by slope (the dynamic programme of a storage device
with linear prices, evaluated exactly). All batteries step together as padded numpy arrays, so
2,000 batteries over 80 slots take well under a second.

`backtrack_*` recovers the slot-by-slot schedule behind any point of the final function: at each
step the amount of the step's own charge and discharge segments "consumed" up to that point is
the slot's charge and discharge (the split of a sum in an infimal convolution of convex PWL
functions). Ties between equal slopes are broken by the stable sort, i.e. one optimum among
several, as any LP solver picks one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.afat.lp import FloatArray

_TINY = 1e-12


@dataclass(frozen=True)
class BatteryArrays:
    """Per battery (length n): the parameters the dynamic programme needs, in kWh and kW."""

    soc_initial: FloatArray
    soc_min: FloatArray
    soc_max: FloatArray
    soc_final: FloatArray  # lower bound on the SoC at the end of the horizon
    p_charge: FloatArray
    p_discharge: FloatArray
    eta_charge: FloatArray
    eta_discharge: FloatArray
    wear_eur_per_kwh: FloatArray  # per kWh discharged (grid side)

    def __len__(self) -> int:
        return len(self.soc_initial)

    def charge_kwh(self, dt: float) -> FloatArray:
        """`E`: SoC gained in a slot at full charging power."""
        return np.asarray(self.eta_charge * self.p_charge * dt, dtype=np.float64)

    def discharge_kwh(self, dt: float) -> FloatArray:
        """`G`: SoC lost in a slot at full discharging power."""
        return np.asarray(self.p_discharge * dt / self.eta_discharge, dtype=np.float64)

    def charge_slope(self, price_eur_per_kwh: float) -> FloatArray:
        """EUR per kWh stored by charging (energy bought)."""
        return np.asarray(price_eur_per_kwh / self.eta_charge, dtype=np.float64)

    def discharge_slope(self, price_eur_per_kwh: float) -> FloatArray:
        """EUR per kWh of SoC kept instead of discharged (the revenue net of wear forgone)."""
        return np.asarray(
            (price_eur_per_kwh - self.wear_eur_per_kwh) * self.eta_discharge, dtype=np.float64
        )


@dataclass
class PwlFunctions:
    """n convex piecewise-linear functions on [x0, x0 + sum(lengths)], value f0 at x0; segments
    in ascending slope, zero-length padding at the end of a row."""

    x0: FloatArray
    f0: FloatArray
    lengths: FloatArray  # n x k
    slopes: FloatArray  # n x k

    def segments(self, i: int) -> tuple[FloatArray, FloatArray]:
        keep = self.lengths[i] > _TINY
        return self.lengths[i][keep], self.slopes[i][keep]

    def value(self, s: FloatArray) -> FloatArray:
        """Function values at points within each domain."""
        start = np.cumsum(self.lengths, axis=1) - self.lengths
        used = np.clip(s[:, None] - self.x0[:, None] - start, 0.0, self.lengths)
        return np.asarray(self.f0 + (used * self.slopes).sum(axis=1), dtype=np.float64)

    @property
    def x1(self) -> FloatArray:
        return np.asarray(self.x0 + self.lengths.sum(axis=1), dtype=np.float64)


@dataclass(frozen=True)
class _Step:
    """Where a step's own two segments ended up, for the backtrack."""

    x0: FloatArray
    first_pos: FloatArray
    first_len: FloatArray
    first_base: FloatArray
    second_pos: FloatArray
    second_len: FloatArray
    second_base: FloatArray

    def consumed(self, s: FloatArray) -> tuple[FloatArray, FloatArray]:
        q = s - self.x0
        first = self.first_base + np.clip(q - self.first_pos, 0.0, self.first_len)
        second = self.second_base + np.clip(q - self.second_pos, 0.0, self.second_len)
        return first, second


@dataclass(frozen=True)
class ValueFunction:
    """The final function of a pass and every step's record (in slot order)."""

    function: PwlFunctions
    slots: list[int]
    steps: list[_Step]


def _step(
    f: PwlFunctions,
    shift: FloatArray,
    shift_value: FloatArray,
    first: tuple[FloatArray, FloatArray],
    second: tuple[FloatArray, FloatArray],
    lo: FloatArray,
    hi: FloatArray,
) -> tuple[PwlFunctions, _Step]:
    """`clip_[lo, hi](f [] phi)` where phi starts at `shift` with value `shift_value` and has the
    segments `first` and `second` (length, slope)."""
    n = len(f.x0)
    lengths = np.concatenate([f.lengths, first[0][:, None], second[0][:, None]], axis=1)
    slopes = np.concatenate([f.slopes, first[1][:, None], second[1][:, None]], axis=1)
    label = np.zeros(lengths.shape, dtype=np.int8)
    label[:, -2] = 1
    label[:, -1] = 2
    x0 = f.x0 + shift
    f0 = f.f0 + shift_value
    # Zero-length segments sort last so padding never sits between real segments.
    key = np.where(lengths > _TINY, slopes, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    lengths = np.take_along_axis(lengths, order, axis=1)
    slopes = np.take_along_axis(slopes, order, axis=1)
    label = np.take_along_axis(label, order, axis=1)
    rows = np.arange(n)
    at_first = np.argmax(label == 1, axis=1)
    at_second = np.argmax(label == 2, axis=1)
    # Left clip: consume from the front up to `lo`.
    start = np.cumsum(lengths, axis=1) - lengths
    delta = np.maximum(lo - x0, 0.0)
    eaten = np.clip(delta[:, None] - start, 0.0, lengths)
    first_base = eaten[rows, at_first]
    second_base = eaten[rows, at_second]
    f0 = f0 + (eaten * slopes).sum(axis=1)
    x0 = x0 + eaten.sum(axis=1)
    lengths = lengths - eaten
    # Right clip: drop from the back beyond `hi`.
    total = lengths.sum(axis=1)
    excess = np.maximum(x0 + total - hi, 0.0)
    after = total[:, None] - np.cumsum(lengths, axis=1)
    lengths = lengths - np.clip(excess[:, None] - after, 0.0, lengths)
    start = np.cumsum(lengths, axis=1) - lengths
    record = _Step(
        x0=x0,
        first_pos=start[rows, at_first],
        first_len=lengths[rows, at_first],
        first_base=first_base,
        second_pos=start[rows, at_second],
        second_len=lengths[rows, at_second],
        second_base=second_base,
    )
    # Compact: real segments first (still in slope order), trailing padding trimmed.
    alive = lengths > _TINY
    order = np.argsort(~alive, axis=1, kind="stable")
    lengths = np.take_along_axis(lengths, order, axis=1)
    slopes = np.take_along_axis(slopes, order, axis=1)
    width = max(int(alive.sum(axis=1).max(initial=0)), 1)
    out = PwlFunctions(x0, f0, lengths[:, :width].copy(), slopes[:, :width].copy())
    return out, record


def before_window(
    b: BatteryArrays, price_eur_per_kwh: FloatArray, dt: float, first: int
) -> ValueFunction:
    """Cost of slots 0..first-1 as a function of the SoC at the end of slot first-1 (at the
    window's start). With `first == 0` the function is the point `soc_initial`."""
    n = len(b)
    f = PwlFunctions(b.soc_initial.copy(), np.zeros(n), np.zeros((n, 1)), np.zeros((n, 1)))
    g, e = b.discharge_kwh(dt), b.charge_kwh(dt)
    steps: list[_Step] = []
    for t in range(first):
        sd = b.discharge_slope(float(price_eur_per_kwh[t]))
        sc = b.charge_slope(float(price_eur_per_kwh[t]))
        # phi_t(u): u = -G (full discharge) upwards; first the discharge given back, then charge.
        f, record = _step(f, -g, -sd * g, (g, sd), (e, sc), b.soc_min, b.soc_max)
        steps.append(record)
    return ValueFunction(f, list(range(first)), steps)


def after_window(
    b: BatteryArrays, price_eur_per_kwh: FloatArray, dt: float, last: int, slots: int
) -> ValueFunction:
    """Cost of slots last+1..slots-1 as a function of the SoC at the end of slot `last` (the
    window's end), including the final SoC bound. With `last == slots - 1` it is the indicator
    of [max(soc_min, soc_final), soc_max] (zero cost)."""
    n = len(b)
    lo_final = np.maximum(b.soc_min, b.soc_final)
    f = PwlFunctions(
        lo_final.copy(), np.zeros(n), (b.soc_max - lo_final)[:, None], np.zeros((n, 1))
    )
    g, e = b.discharge_kwh(dt), b.charge_kwh(dt)
    steps: list[_Step] = []
    for t in range(slots - 1, last, -1):
        sd = b.discharge_slope(float(price_eur_per_kwh[t]))
        sc = b.charge_slope(float(price_eur_per_kwh[t]))
        # psi_t(v) = phi_t(-v), v = SoC lost in slot t: from v = -E (full charge) upwards, first
        # the charge given back (slope -sc), then discharge (slope -sd).
        f, record = _step(f, -e, sc * e, (e, -sc), (g, -sd), b.soc_min, b.soc_max)
        steps.append(record)
    steps.reverse()
    return ValueFunction(f, list(range(last + 1, slots)), steps)


@dataclass(frozen=True)
class Schedule:
    """Per battery x slot of a pass: charge and discharge power (kW) and SoC at slot end."""

    charge_kw: FloatArray
    discharge_kw: FloatArray
    soc_kwh: FloatArray


def backtrack_before(v: ValueFunction, b: BatteryArrays, dt: float, s_end: FloatArray) -> Schedule:
    """The schedule of the slots before the window that reaches `s_end` at their cheapest."""
    n, k = len(b), len(v.slots)
    ch, dis, soc = np.zeros((n, k)), np.zeros((n, k)), np.zeros((n, k))
    g = b.discharge_kwh(dt)
    s = np.asarray(s_end, dtype=np.float64).copy()
    for j in range(k - 1, -1, -1):
        given_back, charged = v.steps[j].consumed(s)
        stored = charged
        removed = g - given_back
        soc[:, j] = s
        ch[:, j] = stored / (b.eta_charge * dt)
        dis[:, j] = removed * b.eta_discharge / dt
        s = s - stored + removed
    return Schedule(ch, dis, soc)


def backtrack_after(v: ValueFunction, b: BatteryArrays, dt: float, s_start: FloatArray) -> Schedule:
    """The schedule of the slots after the window that starts from `s_start` at its cheapest."""
    n, k = len(b), len(v.slots)
    ch, dis, soc = np.zeros((n, k)), np.zeros((n, k)), np.zeros((n, k))
    e = b.charge_kwh(dt)
    s = np.asarray(s_start, dtype=np.float64).copy()
    for j in range(k):
        given_back, removed = v.steps[j].consumed(s)
        stored = e - given_back
        s = s + stored - removed
        soc[:, j] = s
        ch[:, j] = stored / (b.eta_charge * dt)
        dis[:, j] = removed * b.eta_discharge / dt
    return Schedule(ch, dis, soc)


def best_response(
    b: BatteryArrays, price_eur_per_kwh: FloatArray, dt: float
) -> tuple[Schedule, FloatArray]:
    """Every battery's cheapest schedule over the whole horizon at the given prices (per slot),
    and its cost (energy plus wear, EUR): the forward pass over all slots, its minimum within
    the final SoC bound, then the backtrack."""
    slots = len(price_eur_per_kwh)
    v = before_window(b, price_eur_per_kwh, dt, slots)
    f = v.function
    lo = np.maximum(b.soc_min, b.soc_final)
    # The minimum of a convex PWL function: the end of its descending segments, lifted into
    # the final bound (the domain always reaches it: `horizon_findings` checks reachability).
    descending = np.where(f.slopes < 0, f.lengths, 0.0).sum(axis=1)
    s_end = np.clip(np.maximum(f.x0 + descending, lo), f.x0, f.x1)
    schedule = backtrack_before(v, b, dt, s_end)
    return schedule, f.value(s_end)


def _values_at(f: PwlFunctions, points: FloatArray) -> FloatArray:
    """f at several points per function (n x m points within each domain)."""
    start = np.cumsum(f.lengths, axis=1) - f.lengths
    offset = points[:, :, None] - f.x0[:, None, None] - start[:, None, :]
    used = np.clip(offset, 0.0, f.lengths[:, None, :])
    return np.asarray(f.f0[:, None] + (used * f.slopes[:, None, :]).sum(axis=2), dtype=np.float64)


def _minimise_sum(a: PwlFunctions, b: PwlFunctions) -> FloatArray:
    """Per row, a point minimising a(s) + b(s) over both domains: the sum of two convex
    piecewise-linear functions is smallest at one of their breakpoints."""
    lo = np.maximum(a.x0, b.x0)
    hi = np.maximum(np.minimum(a.x1, b.x1), lo)
    points = np.hstack(
        [
            a.x0[:, None] + np.cumsum(np.hstack([np.zeros((len(lo), 1)), a.lengths]), axis=1),
            b.x0[:, None] + np.cumsum(np.hstack([np.zeros((len(lo), 1)), b.lengths]), axis=1),
        ]
    )
    points = np.clip(points, lo[:, None], hi[:, None])
    total = _values_at(a, points) + _values_at(b, points)
    best = np.argmin(total, axis=1)
    return np.asarray(points[np.arange(len(lo)), best], dtype=np.float64)


@dataclass(frozen=True)
class WindowedResponse:
    """Best responses when only the slots first..last change price between calls: the value
    functions before and after them are computed once, each call runs the dynamic programme
    over the window alone (a sixth of the horizon for an evening request)."""

    batteries: BatteryArrays
    dt: float
    first: int
    last: int
    before: ValueFunction
    after: ValueFunction

    @classmethod
    def of(
        cls, b: BatteryArrays, price_eur_per_kwh: FloatArray, dt: float, first: int, last: int
    ) -> WindowedResponse:
        slots = len(price_eur_per_kwh)
        return cls(
            b,
            dt,
            first,
            last,
            before_window(b, price_eur_per_kwh, dt, first),
            after_window(b, price_eur_per_kwh, dt, last, slots),
        )

    def respond(self, window_price_eur_per_kwh: FloatArray) -> Schedule:
        """Every battery's cheapest full-horizon schedule when the window's slots cost
        `window_price_eur_per_kwh` (one price per slot first..last)."""
        b, dt = self.batteries, self.dt
        g, e = b.discharge_kwh(dt), b.charge_kwh(dt)
        f = self.before.function
        steps: list[_Step] = []
        for price in window_price_eur_per_kwh:
            sd, sc = b.discharge_slope(float(price)), b.charge_slope(float(price))
            f, record = _step(f, -g, -sd * g, (g, sd), (e, sc), b.soc_min, b.soc_max)
            steps.append(record)
        window = ValueFunction(f, list(range(self.first, self.last + 1)), steps)
        s_end = _minimise_sum(f, self.after.function)
        middle = backtrack_before(window, b, dt, s_end)
        s_start = (
            middle.soc_kwh[:, 0]
            - b.eta_charge * dt * middle.charge_kw[:, 0]
            + dt / b.eta_discharge * middle.discharge_kw[:, 0]
        )
        head = backtrack_before(self.before, b, dt, s_start)
        tail = backtrack_after(self.after, b, dt, s_end)
        return Schedule(
            charge_kw=np.hstack([head.charge_kw, middle.charge_kw, tail.charge_kw]),
            discharge_kw=np.hstack([head.discharge_kw, middle.discharge_kw, tail.discharge_kw]),
            soc_kwh=np.hstack([head.soc_kwh, middle.soc_kwh, tail.soc_kwh]),
        )
