"""Turn a portfolio solution into the `AggregationResult` (shared by both methods)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from engines.afat.lp import SETPOINTS, FloatArray, Readout
from engines.afat.request import RequestTerms
from engines.afat.schema import (
    AggregationInput,
    AggregationResult,
    OfferStep,
    ProsumerSchedule,
    Status,
    UserWelfare,
)
from engines.afat.welfare import Accounts, account


def failed(
    data: AggregationInput, status: Status, condition: str, message: str
) -> AggregationResult:
    return AggregationResult(
        status=status,
        condition=condition,
        message=message,
        method=data.options.method,
        request_id=data.request.request_id,
        node_mrid=data.request.node_mrid,
        direction=data.request.direction,
        horizon_start=data.horizon_start,
        slot_minutes=data.slot_minutes,
    )


def _r(values: FloatArray, digits: int = 6) -> list[float]:
    return [float(v) for v in np.round(values, digits)]


def assemble(
    data: AggregationInput,
    *,
    readout: Readout,
    baseline_kw: FloatArray,
    discomfort_base_eur: FloatArray,
    flex_price_eur_per_mwh: FloatArray,
    offer_steps: list[OfferStep],
    condition: str,
    seconds: float,
    method: Literal["centralised", "decentralised"] = "centralised",
    iterations: int = 0,
    coupling_violation_kw: float = 0.0,
) -> AggregationResult:
    """`readout`: the solution's per-prosumer series (from one LP, or stacked from the
    chunks or prosumers that solved their parts)."""
    terms = RequestTerms.of(data)
    prosumption = readout.prosumption_kw
    accounts = account(
        baseline_kw=baseline_kw,
        prosumption_kw=prosumption,
        discomfort_base_eur=discomfort_base_eur,
        discomfort_eur=readout.discomfort_eur,
        energy_price_eur_per_mwh=terms.energy_price_eur_per_mwh,
        request_price_eur_per_mwh=terms.price_eur_per_mwh,
        volume_kw=terms.volume_kw,
        requested=terms.requested,
        sign=terms.sign,
        flex_price_eur_per_mwh=flex_price_eur_per_mwh,
        slot_hours=terms.slot_hours,
    )
    schedules = _schedules(data, readout, baseline_kw) if data.options.include_setpoints else []
    return AggregationResult(
        status="optimal",
        condition=condition,
        method=method,
        request_id=data.request.request_id,
        node_mrid=data.request.node_mrid,
        direction=data.request.direction,
        horizon_start=data.horizon_start,
        slot_minutes=data.slot_minutes,
        optimal_prosumption_schedules=schedules,
        aggregated_users_welfare_eur=float(accounts.user_welfare_eur.sum()),
        users_welfare=_users(data, accounts),
        social_welfare_eur=accounts.social_welfare_eur,
        aggregator_profit_eur=accounts.aggregator_profit_eur,
        flexibility_revenue_eur=accounts.revenue_eur,
        energy_cost_change_eur=float(accounts.energy_change_eur.sum()),
        discomfort_eur=float(accounts.discomfort_change_eur.sum()),
        flexibility_mw=_r(accounts.flexibility_kw / 1000, 9),
        baseline_mw=_r(baseline_kw.sum(axis=0) / 1000, 9),
        prosumption_mw=_r(prosumption.sum(axis=0) / 1000, 9),
        internal_price_eur_per_mwh=_r(flex_price_eur_per_mwh, 6),
        offer_steps=offer_steps,
        iterations=iterations,
        coupling_violation_kw=coupling_violation_kw,
        solve_time_s=seconds,
    )


def _users(data: AggregationInput, a: Accounts) -> list[UserWelfare]:
    return [
        UserWelfare(
            id=p.id,
            welfare_eur=float(a.user_welfare_eur[i]),
            payment_eur=float(a.payment_eur[i]),
            discomfort_eur=float(a.discomfort_change_eur[i]),
            flexibility_mwh=float(a.user_flexibility_kwh[i]) / 1000,
        )
        for i, p in enumerate(data.prosumers)
    ]


def _schedules(
    data: AggregationInput,
    readout: Readout,
    baseline: FloatArray,
) -> list[ProsumerSchedule]:
    series, soc, prosumption = readout.series, readout.soc_kwh, readout.prosumption_kw
    out: list[ProsumerSchedule] = []
    for i, p in enumerate(data.prosumers):
        has = {
            "battery_kw": p.battery is not None,
            "ev_kw": p.ev is not None,
            "shiftable_kw": bool(p.shiftable),
            "curtailed_kw": p.curtailable is not None,
            "pv_curtailed_kw": p.pv is not None and p.pv.curtailable,
        }
        values = {name: _r(series[name][i], 4) for name in SETPOINTS if has[name]}
        out.append(
            ProsumerSchedule(
                id=p.id,
                prosumption_kw=_r(prosumption[i], 4),
                baseline_kw=_r(baseline[i], 4),
                battery_soc_kwh=_r(soc[i], 4) if p.battery is not None else [],
                **values,
            )
        )
    return out
