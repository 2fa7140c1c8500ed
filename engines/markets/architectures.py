"""The three TSO-DSO market architectures of FLEXGRID D2.2 section 2.2, and the central optimum they
are measured against, as pure algorithms over one :class:`Scenario` (periods are independent).

* reactive DLFM: the wholesale market clears with the area's scheduled exchange; the distribution
  market then relieves its grid energy-neutrally around that exchange.
* reactive DLFM, near-real-time (`reactive-nrt`): the reactive market, then the period happens with
  forecast errors; the DSO re-dispatches the flexibility left and the TSO's balancing merit order
  settles the area's remaining imbalance (``engines.markets.nrt``).
* proactive DLFM: the distribution market clears first against a TLMP forecast (the wholesale price
  at the scheduled exchange) and bids the resulting, grid-feasible exchange into the wholesale market.
* iterative TSO-DSO: the TSO announces a TLMP, the DSO answers its import, the TSO re-prices; the
  price is adjusted (the TSO's marginal price, safeguarded by bisection on the bracket it implies)
  until the TLMP the DSO priced equals the TLMP of the dispatch it asked for. When the bracket closes
  on a DSO indifference price (an offer priced exactly at the TLMP), the exchange is recovered from the
  TSO side (where its TLMP crosses that price) and the DSO re-dispatches around it.
* central: the joint optimum. The wholesale LP's cost as a function of the coupling withdrawal is
  convex piecewise linear; it is recovered exactly (sandwich algorithm on LP values and duals) and
  given to the distribution AC-OPF as priced import segments at the coupling bus, so one model
  optimises both networks.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

from engines.fmct.needs import identify_needs
from engines.fmct.schema import ClearingOffer
from engines.markets.nrt import near_real_time
from engines.markets.outcome import ArchitectureResult, IterationStep, PeriodOutcome
from engines.markets.scenario import Scenario
from engines.markets.settle import period_payments, summarise
from engines.markets.sides import DsoOutcome, DsoSide, SideFailed, TsoOutcome, TsoSide
from engines.markets.wholesale_port import DayAheadClearing, InProcessDayAhead

PRICE_TOL = 1e-3  # EUR/MWh
MAX_ITERATIONS = 30


def _period(t: int, tso: TsoOutcome, dso: DsoOutcome, **kw: object) -> PeriodOutcome:
    return PeriodOutcome(
        period_index=t, coupling_mw=dso.import_mw, tlmp_eur_per_mwh=tso.tlmp,
        generation_cost_eur=tso.cost_eur, flex_cost_eur=dso.flex_cost_eur,
        curtailed_res_mwh=dso.curtailed_mwh, payments_eur=period_payments(tso, dso),
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _base_import(dso: DsoSide, t: int) -> float:
    """The area's exchange at its base schedule: the AC power flow, no flexibility activated."""
    sc = dso.scenario
    needs = identify_needs(sc.feeder, [sc.schedule(t)])
    if needs.status != "optimal":
        raise SideFailed(f"distribution period {t}: base power flow {needs.message}")
    return needs.periods[0].upstream_p_mw


def reactive_stage(tso: TsoSide, dso: DsoSide, t: int) -> tuple[TsoOutcome, DsoOutcome]:
    base = _base_import(dso, t)
    da = tso.clear(t, base)
    local = dso.clear(t, None)
    return da, local


def reactive_period(tso: TsoSide, dso: DsoSide, t: int) -> PeriodOutcome:
    return _period(t, *reactive_stage(tso, dso, t))


def reactive_nrt_period(tso: TsoSide, dso: DsoSide, t: int) -> PeriodOutcome:
    """The reactive market's day-ahead stage, then its near-real-time stage on the imbalances."""
    da, local = reactive_stage(tso, dso, t)
    return near_real_time(dso.scenario, t, _period(t, da, local), da, local)


def proactive_period(tso: TsoSide, dso: DsoSide, t: int) -> PeriodOutcome:
    forecast = tso.clear(t, _base_import(dso, t)).tlmp
    local = dso.clear(t, forecast)
    da = tso.clear(t, local.import_mw)
    step = IterationStep(tlmp_sent_eur_per_mwh=forecast, dso_import_mw=local.import_mw,
                         tlmp_back_eur_per_mwh=da.tlmp)  # fmt: skip
    return _period(t, da, local, trace=[step])


def _recover(tso: TsoSide, dso: DsoSide, t: int, p_lo: float, p_hi: float,
             base: float) -> tuple[TsoOutcome, DsoOutcome]:  # fmt: skip
    """The DSO is indifferent at the bracket's price between imports p_hi < p_lo, so no price
    selects the exchange: the TSO sends its marginal cost curve over the bracket (exact, from its LP)
    and the DSO clears against it; its answer is the exchange, and the TSO clears with it."""
    local = _against_curve(tso, dso, t, base, min(base, p_hi) - 1e-3, max(base, p_lo) + 1e-3)
    return tso.clear(t, local.import_mw), local


def iterative_period(tso: TsoSide, dso: DsoSide, t: int) -> PeriodOutcome:
    base = _base_import(dso, t)
    price = tso.clear(t, base).tlmp
    lo, hi = -math.inf, math.inf
    p_at: dict[str, float] = {}
    trace: list[IterationStep] = []
    for _ in range(MAX_ITERATIONS):
        local = dso.clear(t, price)
        da = tso.clear(t, local.import_mw)
        trace.append(IterationStep(tlmp_sent_eur_per_mwh=price, dso_import_mw=local.import_mw,
                                   tlmp_back_eur_per_mwh=da.tlmp))  # fmt: skip
        gap = da.tlmp - price
        if abs(gap) <= PRICE_TOL:
            return _period(t, da, local, trace=trace)
        if gap > 0:  # the DSO asked for more than the TSO can give at this price
            lo, p_at["lo"] = price, local.import_mw
        else:
            hi, p_at["hi"] = price, local.import_mw
        if hi - lo <= PRICE_TOL:
            da, local = _recover(tso, dso, t, p_at["lo"], p_at["hi"], base)
            return _period(t, da, local, trace=trace, recovered=True)
        nxt = da.tlmp
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi) if math.isfinite(lo) and math.isfinite(hi) else nxt
        price = nxt
    return _period(t, da, local, trace=trace, converged=False)


def transmission_curve(
    cost: Callable[[float], tuple[float, float]], a: float, b: float, tol_eur: float = 1e-6
) -> list[tuple[float, float]]:
    """Breakpoints (P, C(P)) of a convex piecewise linear C on [a, b], exactly, from values and
    subgradients: two supporting lines meet at m; C(m) on them means no kink between."""
    pts = {a: cost(a), b: cost(b)}
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        (cx, sx), (cy, sy) = pts[x], pts[y]
        if sy - sx <= 1e-9:
            continue
        m = (cy - cx + sx * x - sy * y) / (sx - sy)
        if not x + 1e-7 < m < y - 1e-7:
            continue
        pts[m] = cost(m)
        if pts[m][0] - (cx + sx * (m - x)) > tol_eur:
            stack += [(x, m), (m, y)]
    return [(p, pts[p][0]) for p in sorted(pts)]


def _against_curve(
    tso: TsoSide, dso: DsoSide, t: int, base: float, a: float, b: float
) -> DsoOutcome:
    """The distribution clearing with the wholesale cost curve on [a, b] as priced import segments
    at the coupling bus, around the scheduled import ``base`` (a <= base <= b)."""

    def cost(p: float) -> tuple[float, float]:
        out = tso.clear(t, p)
        return out.cost_eur, out.tlmp

    curve = transmission_curve(cost, a, b)
    segments: list[ClearingOffer] = []
    for k, ((p0, c0), (p1, c1)) in enumerate(itertools.pairwise(curve)):
        slope = (c1 - c0) / (p1 - p0)
        if p1 > base:  # more import: an "up" injection at the coupling bus, priced at the slope
            segments.append(ClearingOffer(id=f"tso-seg-{k}-up", seller_id="tso", bus="0",
                            p_up_mw=p1 - max(p0, base), price_p_up_eur_per_mwh=slope,
                            periods=[t]))  # fmt: skip
        if p0 < base:  # less import saves the slope
            segments.append(ClearingOffer(id=f"tso-seg-{k}-down", seller_id="tso", bus="0",
                            p_down_mw=min(p1, base) - p0, price_p_down_eur_per_mwh=-slope,
                            periods=[t]))  # fmt: skip
    return dso.clear(t, None, extra=list(segments))


def central_period(tso: TsoSide, dso: DsoSide, t: int, span_mw: float = 4.0) -> PeriodOutcome:
    base = _base_import(dso, t)
    local = _against_curve(tso, dso, t, base, base - span_mw, base + span_mw)
    return _period(t, tso.clear(t, local.import_mw), local)


PeriodAlgorithm = Callable[[TsoSide, DsoSide, int], PeriodOutcome]
ALGORITHMS: dict[str, PeriodAlgorithm] = {
    "reactive": reactive_period,
    "reactive-nrt": reactive_nrt_period,
    "proactive": proactive_period,
    "iterative": iterative_period,
    "central": central_period,
}


def run_architecture(
    name: str,
    scenario: Scenario,
    periods: list[int] | None = None,
    wholesale: DayAheadClearing | None = None,
) -> ArchitectureResult:
    """``wholesale``: the wholesale market's port (default: the emulator in this process)."""
    started = time.perf_counter()
    tso, dso = TsoSide(scenario, wholesale or InProcessDayAhead()), DsoSide(scenario)
    outcomes: list[PeriodOutcome] = []
    try:
        for t in periods if periods is not None else range(scenario.periods):
            outcomes.append(ALGORITHMS[name](tso, dso, t))
    except SideFailed as exc:
        return ArchitectureResult(architecture=name, status="infeasible", message=str(exc),  # type: ignore[arg-type]
                                  time_s=time.perf_counter() - started)  # fmt: skip
    return summarise(name, outcomes, tso, dso, time.perf_counter() - started)
