"""The near-real-time stage of the reactive DLFM (`reactive-nrt`), one period at a time.

The day-ahead stage is the reactive market's (wholesale clearing at the area's scheduled exchange,
then the local energy-neutral clearing). The period then happens with the scenario's forecast errors
(``Scenario.realised_schedule``), and

1. the DSO re-dispatches the local flexibility left (the same offers at their prices, minus what
   the day-ahead stage activated; PV curtailment at most what the plant then produces) so that the
   realised grid is within its limits: the FMCT AC-OPF clearing, then an AC power flow check as
   the DSO's forwarding check does (``dso_check``). The TSO's balancing merit order enters that
   clearing as priced import segments at the coupling bus, around the realised deviation, so the
   re-dispatch also moves the coupling point toward its day-ahead schedule wherever local
   flexibility is cheaper than the balancing energy it replaces.
2. The deviation left is the area's imbalance. The TSO covers it in merit order with the balancing
   emulator's pure code (``adapters.balancing.merit_order``): bids from the transmission generators'
   day-ahead steps, up from what a step's award left unused, down from what it used, each at the
   step's price (cost-based bids). Every activated bid is paid the marginal price, and the area
   settles its imbalance at that price (single-price imbalance settlement).

Money of the re-dispatch follows the day-ahead stage (``settle``): flexibility is paid by the
distribution clearing's pricing rule and the DSO covers its budget; the balancing segments are the
TSO's, not a party of that clearing.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
import pandapower as pp

from adapters.balancing.merit_order import clear_balancing, validate_balancing
from engines.fmct.clearing import clear
from engines.fmct.needs import identify_needs
from engines.fmct.schema import ClearingOffer, ClearingOptions, OfferDispatch, PeriodSchedule
from engines.markets.dso_check import GridState, Limits, power_flow, scheduled_net, violation
from engines.markets.outcome import GridCheck, ImbalancePeriod, NrtDispatch, PeriodOutcome
from engines.markets.realisation import day_errors
from engines.markets.scenario import Scenario
from engines.markets.settle import AREA
from engines.markets.sides import DsoOutcome, SideFailed, TsoOutcome
from gateway.messages.balancing import Activation, BalancingAuction, BalancingBid, ImbalanceNeed
from gateway.messages.wholesale import WholesaleOrder

BALANCING_SELLER = "tso-balancing"  # the merit-order segments' seller in the local clearing
COUPLING_BUS = "0"  # case33bw's substation: an injection there is import from the TSO
# The day-ahead clearing holds its exchange to the AC-OPF's tolerance; a gap below this between it
# and the power flow of the same dispatch is solver noise, not an imbalance.
DUST_MW = 1e-4
# The AC check's slack on the clearing's limits: the AC-OPF meets them to its tolerance.
CHECK_TOL_PERCENT = 0.1
CHECK_TOL_PU = 1e-3
OPTIONS = ClearingOptions()  # the day-ahead stage's (DsoSide): nodal pricing, 0.9-1.1 pu, 100 %


@dataclass(frozen=True)
class Redispatch:
    realised_mw: float  # import with the realised injections and the day-ahead dispatch
    final_mw: float  # import after the re-dispatch
    dispatch: list[OfferDispatch]  # local offers only
    flex_cost_eur: float
    curtailed_mwh: float
    payments: dict[str, float]
    before: GridCheck
    after: GridCheck


def balancing_bids(
    orders: list[WholesaleOrder], day_ahead: TsoOutcome, t: int, network: str
) -> list[BalancingBid]:
    """Up and down bids of the transmission generators' steps after their day-ahead awards."""
    accepted = {a.order_id: a.accepted_mw for a in day_ahead.result.periods[0].awards}
    bids: list[BalancingBid] = []
    for o in orders:
        if o.side != "sell":
            continue
        used = min(max(accepted.get(o.id, 0.0), 0.0), o.quantity_mw)
        for direction, mw in (("up", o.quantity_mw - used), ("down", used)):
            if mw > 1e-9:
                bids.append(BalancingBid(
                    id=f"{o.id}-{direction}", bsp_id=o.participant_id, direction=direction,  # type: ignore[arg-type]
                    period_index=t, quantity_mw=mw, price_eur_per_mwh=o.price_eur_per_mwh,
                    location=f"{network}-bus-{o.bus}",
                ))  # fmt: skip
    return bids


def merit_ladder(bids: list[BalancingBid]) -> list[tuple[float, float, float]]:
    """(from, to, price) of the area's deviation each bid would cover, the TSO's merit order as
    the balancing emulator takes it: up bids from 0 upward cheapest first, down bids from 0
    downward highest price first. Its cost is convex when no down price is above an up price."""
    ladder: list[tuple[float, float, float]] = []
    up = sorted((b for b in bids if b.direction == "up"), key=lambda b: (b.price_eur_per_mwh, b.id))
    at = 0.0
    for b in up:
        ladder.append((at, at + b.quantity_mw, b.price_eur_per_mwh))
        at += b.quantity_mw
    down = sorted(
        (b for b in bids if b.direction == "down"), key=lambda b: (-b.price_eur_per_mwh, b.id)
    )
    at = 0.0
    for b in down:
        ladder.append((at - b.quantity_mw, at, b.price_eur_per_mwh))
        at -= b.quantity_mw
    return sorted(ladder)


def balancing_segments(
    ladder: list[tuple[float, float, float]], deviation: float, window: tuple[float, float], t: int
) -> list[ClearingOffer]:
    """The merit order on ``window`` (deviations, MW) as offers at the coupling bus, from the
    realised ``deviation``: "up" is more import, priced at the bids it activates; "down" less
    import, priced at minus the bids it spares (down-regulation it avoids is a saving lost)."""
    segments: list[ClearingOffer] = []
    for k, (a, b, price) in enumerate(ladder):
        lo, hi = max(a, window[0]), min(b, window[1])
        if hi <= lo:
            continue
        if hi > deviation:
            segments.append(ClearingOffer(
                id=f"balancing-{k}-up", seller_id=BALANCING_SELLER, bus=COUPLING_BUS,
                p_up_mw=hi - max(lo, deviation), price_p_up_eur_per_mwh=price, periods=[t],
            ))  # fmt: skip
        if lo < deviation:
            segments.append(ClearingOffer(
                id=f"balancing-{k}-down", seller_id=BALANCING_SELLER, bus=COUPLING_BUS,
                p_down_mw=min(hi, deviation) - lo, price_p_down_eur_per_mwh=-price, periods=[t],
            ))  # fmt: skip
    return segments


def residual_offers(
    sc: Scenario, t: int, used: dict[str, OfferDispatch], realised: PeriodSchedule
) -> list[ClearingOffer]:
    """The period's offers minus their day-ahead activation; PV curtailment at most what is left
    of the plant's realised output."""
    out: list[ClearingOffer] = []
    for o in sc.offers(t):
        d = used.get(o.id)
        up = max(o.p_up_mw - (d.p_up_mw if d else 0.0), 0.0)
        down = max(o.p_down_mw - (d.p_down_mw if d else 0.0), 0.0)
        if sc.is_res(o.id):
            capacity = float(sc.feeder.sgen.p_mw[sc.feeder.sgen.bus == int(o.bus)].sum())
            output = realised.sgen_scaling * capacity - (d.p_down_mw if d else 0.0)
            down = min(down, max(output, 0.0))
        if up > 1e-9 or down > 1e-9:
            out.append(msgspec.structs.replace(o, p_up_mw=up, p_down_mw=down))
    return out


def _with_day_ahead(sc: Scenario, t: int, local: DsoOutcome) -> tuple[Any, PeriodSchedule]:
    """The feeder with the day-ahead activations as fixed injections, and the realised period.
    Set by name after the schedule's scalings, so the PV scaling does not touch them."""
    net = copy.deepcopy(sc.feeder)
    fixed: dict[str, float] = {}
    buses = {o.id: int(o.bus) for o in sc.offers(t)}
    for d in local.result.periods[0].offers:
        if d.offer_id in buses and abs(d.p_up_mw - d.p_down_mw) > 1e-9:
            name = f"day-ahead-{d.offer_id}"
            pp.create_sgen(net, buses[d.offer_id], p_mw=0.0, name=name)
            fixed[name] = d.p_up_mw - d.p_down_mw
    realised = sc.realised_schedule(t)
    return net, msgspec.structs.replace(realised, sgen_p_mw={**realised.sgen_p_mw, **fixed})


def grid_check(scheduled: Any, injections: dict[int, float]) -> GridCheck:
    """``scheduled``: the net with the period's schedule applied (``dso_check.scheduled_net``)."""
    state: GridState = power_flow(scheduled, injections)
    if not state.converged:
        return GridCheck(within_limits=False, violation="the power flow does not converge",
                         max_loading_percent=0.0, min_vm_pu=0.0, max_vm_pu=0.0)  # fmt: skip
    limits = Limits(
        loading={k: OPTIONS.loading_max_percent + CHECK_TOL_PERCENT for k in state.loading},
        v_min={b: OPTIONS.v_min_pu - CHECK_TOL_PU for b in state.vm},
        v_max={b: OPTIONS.v_max_pu + CHECK_TOL_PU for b in state.vm},
    )
    why = violation(state, limits, {})
    return GridCheck(
        within_limits=not why,
        violation=why,
        max_loading_percent=max(state.loading.values(), default=0.0),
        min_vm_pu=min(state.vm.values()),
        max_vm_pu=max(state.vm.values()),
    )


def redispatch(
    sc: Scenario, t: int, local: DsoOutcome, scheduled_mw: float, bids: list[BalancingBid]
) -> Redispatch:
    """Step 1 of the module: the DSO's clearing of what is left on the realised grid."""
    net, realised = _with_day_ahead(sc, t, local)
    scheduled = scheduled_net(net, realised)
    before = grid_check(scheduled, {})
    used = {d.offer_id: d for d in local.result.periods[0].offers}
    offers = residual_offers(sc, t, used, realised)
    # The clearing fixes the coupling point at the realised exchange (the period's power flow);
    # the segments move it, priced at the merit order around the realised deviation.
    needs = identify_needs(net, [realised])
    if needs.status != "optimal":
        raise SideFailed(f"near-real-time period {t}: realised power flow {needs.message}")
    realised_mw = needs.periods[0].upstream_p_mw
    deviation = realised_mw - scheduled_mw
    ladder = merit_ladder(bids)
    # Toward the schedule only: the re-dispatch may spare balancing energy, not trade against it
    # (an offer priced past the merit order would otherwise buy imbalance from the TSO). When the
    # grid cannot be kept within limits so, it may move the exchange either way: security first.
    toward = (min(deviation, 0.0), max(deviation, 0.0))
    result = clear(net, [realised], [], offers + balancing_segments(ladder, deviation, toward, t),
                   OPTIONS)  # fmt: skip
    if result.status != "optimal":
        span = sum(o.p_up_mw + o.p_down_mw for o in offers) + 1e-3
        either = (deviation - span, deviation + span)
        result = clear(net, [realised], [], offers + balancing_segments(ladder, deviation, either, t),
                       OPTIONS)  # fmt: skip
    if result.status != "optimal":
        raise SideFailed(f"near-real-time period {t}: {result.status} {result.message}")
    (period,) = result.periods
    priced = {o.id: o for o in offers}
    dispatch = [d for d in period.offers if d.offer_id in priced]
    moved = sum(d.p_up_mw - d.p_down_mw for d in period.offers if d.offer_id not in priced)
    injections: dict[int, float] = defaultdict(float)
    flex = curtailed = 0.0
    for d in dispatch:
        o = priced[d.offer_id]
        injections[int(o.bus)] += d.p_up_mw - d.p_down_mw
        flex += o.price_p_up_eur_per_mwh * d.p_up_mw + o.price_p_down_eur_per_mwh * d.p_down_mw
        curtailed += d.p_down_mw if sc.is_res(o.id) else 0.0
    payments: dict[str, float] = defaultdict(float)
    for pay in result.payments:
        if pay.participant_id != BALANCING_SELLER:
            payments[pay.participant_id] += pay.amount_eur
    return Redispatch(
        realised_mw=period.upstream_p_mw,
        final_mw=period.upstream_p_mw + moved,
        dispatch=dispatch,
        flex_cost_eur=flex,
        curtailed_mwh=curtailed,
        payments=dict(payments),
        before=before,
        after=grid_check(scheduled, dict(injections)),
    )


@dataclass(frozen=True)
class Settled:
    energy_mwh: float
    cost_eur: float  # at the bids' own prices
    price: float | None
    area_paid_eur: float
    payments: dict[str, float]
    activations: list[Activation]


def settle_imbalance(sc: Scenario, t: int, need_mw: float, bids: list[BalancingBid]) -> Settled:
    """Step 2 of the module: the TSO's merit order on the area's imbalance (> 0: short)."""
    auction = BalancingAuction(
        auction_id=f"nrt-t{t}",
        product="mFRR",
        delivery_start=sc.start + timedelta(hours=t),
        resolution_minutes=60,
        needs=[ImbalanceNeed(period_index=t, need_mw=need_mw)],
        bids=bids,
    )
    errors = validate_balancing(auction)
    if errors:  # the bids are built here from the day-ahead awards: a broken contract
        raise ValueError(f"balancing bids of period {t}: {errors}")
    result = clear_balancing(auction)
    (period,) = result.periods
    if result.status != "optimal":
        raise SideFailed(
            f"balancing period {t}: {period.unsatisfied_mw:.3f} MW of imbalance left uncovered"
        )
    own = {b.id: b.price_eur_per_mwh for b in bids}
    sign = {"up": 1.0, "down": -1.0}
    payments: dict[str, float] = defaultdict(float)
    for a in result.activations:
        payments[a.bsp_id] += a.amount_eur
    price = period.marginal_price_eur_per_mwh
    area_paid = (price or 0.0) * need_mw  # hourly periods: MW = MWh
    payments[AREA] -= area_paid
    return Settled(
        energy_mwh=sum(a.energy_mwh for a in result.activations),
        cost_eur=sum(sign[a.direction] * own[a.bid_id] * a.energy_mwh for a in result.activations),
        price=price,
        area_paid_eur=area_paid,
        payments=dict(payments),
        activations=result.activations,
    )


def near_real_time(
    sc: Scenario,
    t: int,
    day_ahead: PeriodOutcome,
    tso: TsoOutcome,
    local: DsoOutcome,
    bids: list[BalancingBid] | None = None,
) -> PeriodOutcome:
    """The reactive market's period ``day_ahead`` (cleared as ``tso`` and ``local``) played on to
    its realisation. ``bids``: the TSO's balancing bids; by default the generators' steps."""
    if bids is None:
        bids = balancing_bids(sc.generators, tso, t, sc.network)
    scheduled = local.import_mw
    nrt = redispatch(sc, t, local, scheduled, bids)
    imbalance = _clean(nrt.realised_mw - scheduled)
    residual = _clean(nrt.final_mw - scheduled)
    settled = settle_imbalance(sc, t, residual, bids)
    payments: dict[str, float] = defaultdict(float, day_ahead.payments_eur)
    for part in (nrt.payments, settled.payments):
        for party, amount in part.items():
            payments[party] += amount
    load_error = day_errors(sc.forecast_errors)[0]
    stage = ImbalancePeriod(
        load_error=load_error[t],
        pv_error=sc.realised_schedule(t).sgen_scaling - sc.schedule(t).sgen_scaling,
        scheduled_mw=scheduled,
        realised_mw=nrt.realised_mw,
        imbalance_mw=imbalance,
        resolved_locally_mw=abs(imbalance) - abs(residual),
        residual_mw=residual,
        nrt_flex_cost_eur=nrt.flex_cost_eur,
        nrt_curtailed_res_mwh=nrt.curtailed_mwh,
        dispatch=[
            NrtDispatch(offer_id=d.offer_id, p_up_mw=d.p_up_mw, p_down_mw=d.p_down_mw)
            for d in nrt.dispatch
            if d.p_up_mw > 1e-6 or d.p_down_mw > 1e-6
        ],
        balancing_energy_mwh=settled.energy_mwh,
        balancing_cost_eur=settled.cost_eur,
        imbalance_price_eur_per_mwh=settled.price,
        area_imbalance_paid_eur=settled.area_paid_eur,
        activations=settled.activations,
        before=nrt.before,
        after=nrt.after,
    )
    return msgspec.structs.replace(
        day_ahead,
        generation_cost_eur=day_ahead.generation_cost_eur + settled.cost_eur,
        flex_cost_eur=day_ahead.flex_cost_eur + nrt.flex_cost_eur,
        curtailed_res_mwh=day_ahead.curtailed_res_mwh + nrt.curtailed_mwh,
        payments_eur=dict(payments),
        imbalance=stage,
    )


def _clean(mw: float) -> float:
    return 0.0 if abs(mw) < DUST_MW else mw
